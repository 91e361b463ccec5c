#include "merc/metrics/classification.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "merc/core/error.h"
#include "metrics_test_util.h"

namespace merc::metrics {
namespace {

using testing::kTol;

// The 3-class example used throughout (N = 10). Counting (true -> predicted):
//   true 0 (4 samples): predicted 0, 0, 1, 2   -> row 0 = [2, 1, 1]
//   true 1 (3 samples): predicted 1, 1, 0      -> row 1 = [1, 2, 0]
//   true 2 (3 samples): predicted 2, 2, 1      -> row 2 = [0, 1, 2]
//   column sums (predicted counts) = [3, 4, 3]
//   precision = tp / column = [2/3, 2/4, 2/3];  recall = tp / row = [2/4, 2/3, 2/3]
//   f1_0 = 2 (2/3)(1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7;  f1_1 = 4/7 (same p, r swapped);
//   f1_2 = 2/3.  accuracy = (2 + 2 + 2) / 10 = 0.6
//   macro f1 = (4/7 + 4/7 + 2/3) / 3 = 38/63;  UA = (1/2 + 2/3 + 2/3) / 3 = 11/18
//   macro precision = (2/3 + 1/2 + 2/3) / 3 = 11/18
//   weighted f1 = (4 * 4/7 + 3 * 4/7 + 3 * 2/3) / 10 = (4 + 2) / 10 = 0.6
const std::vector<int64_t> kTrue3 = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
const std::vector<int64_t> kPred3 = {0, 0, 1, 2, 1, 1, 0, 2, 2, 1};

TEST(ConfusionMatrix, ThreeClassHandCounted) {
  const ConfusionMatrix m = confusion_matrix(kTrue3, kPred3, 3);
  ASSERT_EQ(m.num_classes, 3);
  const std::vector<double> expected = {2, 1, 1, 1, 2, 0, 0, 1, 2};
  EXPECT_EQ(m.counts, expected);
  EXPECT_EQ(m.at(0, 2), 1.0);  // row = true, column = predicted
  EXPECT_EQ(m.at(2, 0), 0.0);
  EXPECT_EQ(m.true_count(0), 4.0);
  EXPECT_EQ(m.predicted_count(1), 4.0);
  EXPECT_EQ(m.total(), 10.0);
}

TEST(ClassificationReport, ThreeClassHandCounted) {
  const ClassificationReport r = classification_report(kTrue3, kPred3, 3);
  EXPECT_NEAR(r.classes[0].precision, 2.0 / 3, kTol);
  EXPECT_NEAR(r.classes[1].precision, 0.5, kTol);
  EXPECT_NEAR(r.classes[2].precision, 2.0 / 3, kTol);
  EXPECT_NEAR(r.classes[0].recall, 0.5, kTol);
  EXPECT_NEAR(r.classes[1].recall, 2.0 / 3, kTol);
  EXPECT_NEAR(r.classes[0].f1, 4.0 / 7, kTol);
  EXPECT_NEAR(r.classes[1].f1, 4.0 / 7, kTol);
  EXPECT_NEAR(r.classes[2].f1, 2.0 / 3, kTol);
  EXPECT_EQ(r.classes[0].support, 4.0);
  EXPECT_NEAR(r.accuracy, 0.6, kTol);
  EXPECT_NEAR(r.macro_f1, 38.0 / 63, kTol);
  EXPECT_NEAR(r.ua(), 11.0 / 18, kTol);
  EXPECT_NEAR(r.macro_precision, 11.0 / 18, kTol);
  EXPECT_NEAR(r.weighted_f1, 0.6, kTol);
  // weighted precision = (4 * 2/3 + 3 * 1/2 + 3 * 2/3) / 10 = (37/6) / 10 (sklearn prints 0.6167)
  EXPECT_NEAR(r.weighted_precision, 37.0 / 60, kTol);
  EXPECT_NEAR(r.weighted_recall, 0.6, kTol);  // weighted recall = accuracy for single-label data
  EXPECT_EQ(r.averaged_labels, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(r.total_support, 10.0);
}

TEST(ClassificationMetrics, ContractNamesInPercent) {
  const MetricValues v = classification_metrics(classification_report(kTrue3, kPred3, 3));
  EXPECT_EQ(v.names(), (std::vector<std::string>{"accuracy", "weighted_f1", "macro_f1", "ua"}));
  EXPECT_NEAR(v.get("accuracy"), 60.0, 100 * kTol);
  EXPECT_NEAR(v.get("macro_f1"), 100.0 * 38 / 63, 100 * kTol);
  EXPECT_NEAR(v.get("ua"), 100.0 * 11 / 18, 100 * kTol);
  EXPECT_THROW(v.get("f1"), UnknownNameError);
}

// Zero division, 4 classes: truth = [0, 0, 0, 2, 2], predictions = [0, 1, 0, 0, 1].
//   class 0: tp 2, predicted 3, true 3 -> p = r = f = 2/3
//   class 1: only predicted (2 times, never true): p = 0/2 = 0, r = 0/0 -> 0, f = 0, support 0
//   class 2: never predicted: p = 0/0 -> 0, r = 0/2 = 0, f = 0, support 2
//   class 3: absent from truth and predictions -> not averaged by default
//   macro (labels 0, 1, 2) = (2/3 + 0 + 0) / 3 = 2/9 for p, r and f
//   macro over all 4 classes = (2/3) / 4 = 1/6
//   weighted f1 = (3 * 2/3 + 0 * 0 + 2 * 0) / 5 = 0.4; accuracy = 2/5
TEST(ClassificationReport, ZeroDivisionCasesAreZeroAsSklearnDefault) {
  const std::vector<int64_t> t = {0, 0, 0, 2, 2};
  const std::vector<int64_t> p = {0, 1, 0, 0, 1};
  const ClassificationReport r = classification_report(t, p, 4);
  EXPECT_EQ(r.averaged_labels, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_FALSE(r.classes[3].averaged);
  EXPECT_EQ(r.classes[1].precision, 0.0);
  EXPECT_EQ(r.classes[1].recall, 0.0);
  EXPECT_EQ(r.classes[1].f1, 0.0);
  EXPECT_EQ(r.classes[1].support, 0.0);
  EXPECT_EQ(r.classes[2].precision, 0.0);
  EXPECT_EQ(r.classes[2].f1, 0.0);
  EXPECT_EQ(r.classes[2].support, 2.0);
  EXPECT_EQ(r.classes[3].precision, 0.0);
  EXPECT_NEAR(r.macro_f1, 2.0 / 9, kTol);
  EXPECT_NEAR(r.ua(), 2.0 / 9, kTol);
  EXPECT_NEAR(r.macro_precision, 2.0 / 9, kTol);
  EXPECT_NEAR(r.weighted_f1, 0.4, kTol);
  EXPECT_NEAR(r.accuracy, 0.4, kTol);

  const ClassificationReport all = classification_report(t, p, 4, nullptr, AveragedLabels::kAll);
  EXPECT_EQ(all.averaged_labels, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_NEAR(all.macro_f1, 1.0 / 6, kTol);
  EXPECT_NEAR(all.ua(), 1.0 / 6, kTol);
  EXPECT_NEAR(all.weighted_f1, 0.4, kTol);  // absent classes have zero weight
  EXPECT_NEAR(all.accuracy, 0.4, kTol);
}

TEST(ClassificationReport, PerfectSingleClassPredictionAveragesOverThatClassOnly) {
  // Only class 1 occurs anywhere: sklearn averages over {1}, so macro F1 = 1 (not 1/3).
  const ClassificationReport r = classification_report({1, 1, 1}, {1, 1, 1}, 3);
  EXPECT_EQ(r.macro_f1, 1.0);
  EXPECT_EQ(r.weighted_f1, 1.0);
  const ClassificationReport all = classification_report({1, 1, 1}, {1, 1, 1}, 3, nullptr,
                                                         AveragedLabels::kAll);
  EXPECT_NEAR(all.macro_f1, 1.0 / 3, kTol);
}

// Weights w = [1, 2, 1, 1, 0.5, 1, 1, 2, 1, 0] on the 3-class example:
//   row 0: (p0, 1) (p0, 2) (p1, 1) (p2, 1)  -> [3, 1, 1]
//   row 1: (p1, 0.5) (p1, 1) (p0, 1)        -> [1, 1.5, 0]
//   row 2: (p2, 2) (p2, 1) (p1, 0)          -> [0, 0, 3]
//   precision = [3/4, 1.5/2.5, 3/4] = [0.75, 0.6, 0.75]; recall = [3/5, 1.5/2.5, 3/3]
//   f1 = [2/3, 0.6, 6/7]; accuracy = 7.5 / 10.5 = 5/7
//   weighted f1 = (5 * 2/3 + 2.5 * 0.6 + 3 * 6/7) / 10.5
TEST(ClassificationReport, SampleWeightsHandCountedAndMatchSklearn) {
  const std::vector<double> w = {1, 2, 1, 1, 0.5, 1, 1, 2, 1, 0};
  const ConfusionMatrix m = confusion_matrix(kTrue3, kPred3, 3, &w);
  EXPECT_EQ(m.counts, (std::vector<double>{3, 1, 1, 1, 1.5, 0, 0, 0, 3}));
  const ClassificationReport r = classification_report(kTrue3, kPred3, 3, &w);
  EXPECT_NEAR(r.accuracy, 5.0 / 7, kTol);
  EXPECT_NEAR(r.weighted_f1, (5 * 2.0 / 3 + 2.5 * 0.6 + 3 * 6.0 / 7) / 10.5, kTol);
  EXPECT_EQ(r.total_support, 10.5);
  // sklearn 1.2.1 (scripts/metrics_reference.py, "three-class weighted"):
  EXPECT_NEAR(r.macro_precision, 0.7000000000000001, kTol);
  EXPECT_NEAR(r.ua(), 0.7333333333333334, kTol);
  EXPECT_NEAR(r.macro_f1, 0.707936507936508, kTol);
  EXPECT_NEAR(r.weighted_f1, 0.7052154195011336, kTol);
}

TEST(ClassificationReport, ZeroWeightSampleStillMakesItsLabelsPresentLikeSklearn) {
  // Class 2 occurs only in a weight-0 sample: sklearn's unique_labels still sees it, so it is
  // averaged with p = r = f = 0 and macro F1 = (1 + 1 + 0) / 3 instead of 1.
  const std::vector<double> w = {1, 1, 0};
  const ClassificationReport r = classification_report({0, 1, 2}, {0, 1, 1}, 3, &w);
  EXPECT_EQ(r.averaged_labels, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_NEAR(r.macro_f1, 2.0 / 3, kTol);
  EXPECT_NEAR(r.accuracy, 1.0, kTol);
}

// 200 pseudo-random samples (metrics_test_util.h); reference values printed by
// scripts/metrics_reference.py with scikit-learn 1.2.1 (precision_recall_fscore_support,
// accuracy_score, precision/recall/f1_score with average='macro'/'weighted').
TEST(ClassificationReport, LcgCaseMatchesSklearnUnweighted) {
  const auto c = testing::lcg_classification_case();
  ASSERT_EQ(c.truth[0], 2);  // first values as printed by the script: the generators agree
  ASSERT_EQ(c.pred[1], 2);
  ASSERT_EQ(c.weight[0], 1.25);
  const ClassificationReport r = classification_report(c.truth, c.pred, 7);
  const std::vector<double> p = {0.6470588235294118, 0.6808510638297872, 0.75,
                                 0.6666666666666666, 0.696969696969697,  0.0};
  const std::vector<double> rc = {0.6111111111111112, 0.6530612244897959, 0.75,
                                  0.7142857142857143, 0.5609756097560976, 0.0};
  const std::vector<double> f = {0.6285714285714287, 0.6666666666666666, 0.75,
                                 0.689655172413793,  0.6216216216216217, 0.0};
  const std::vector<double> s = {36, 49, 32, 42, 41, 0};
  EXPECT_EQ(r.averaged_labels, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));  // not 6
  for (size_t k = 0; k < 6; ++k) {
    EXPECT_NEAR(r.classes[k].precision, p[k], kTol) << "class " << k;
    EXPECT_NEAR(r.classes[k].recall, rc[k], kTol) << "class " << k;
    EXPECT_NEAR(r.classes[k].f1, f[k], kTol) << "class " << k;
    EXPECT_EQ(r.classes[k].support, s[k]) << "class " << k;
  }
  EXPECT_NEAR(r.accuracy, 0.655, kTol);
  EXPECT_NEAR(r.macro_precision, 0.5735910418325938, kTol);
  EXPECT_NEAR(r.ua(), 0.5482389432737865, kTol);
  EXPECT_NEAR(r.macro_f1, 0.5594191482122516, kTol);
  EXPECT_NEAR(r.weighted_f1, 0.6687362091155193, kTol);

  // labels=range(7): class 6 (never seen) joins the macro means with zeros.
  const ClassificationReport all =
      classification_report(c.truth, c.pred, 7, nullptr, AveragedLabels::kAll);
  EXPECT_NEAR(all.macro_precision, 0.49164946442793755, kTol);
  EXPECT_NEAR(all.ua(), 0.46991909423467415, kTol);
  EXPECT_NEAR(all.macro_f1, 0.4795021270390728, kTol);
  EXPECT_NEAR(all.weighted_f1, 0.6687362091155193, kTol);
}

TEST(ClassificationReport, LcgCaseMatchesSklearnWeighted) {
  const auto c = testing::lcg_classification_case();
  const ClassificationReport r = classification_report(c.truth, c.pred, 7, &c.weight);
  const std::vector<double> p = {0.6265822784810127, 0.6559139784946236, 0.7872340425531915,
                                 0.73, 0.7215189873417721, 0.0};
  const std::vector<double> f = {0.6711864406779662, 0.6304909560723514, 0.7762237762237763,
                                 0.7121951219512195, 0.6551724137931034, 0.0};
  const std::vector<double> s = {34.25, 50.25, 36.25, 52.5, 47.5, 0.0};
  for (size_t k = 0; k < 6; ++k) {
    EXPECT_NEAR(r.classes[k].precision, p[k], kTol) << "class " << k;
    EXPECT_NEAR(r.classes[k].f1, f[k], kTol) << "class " << k;
    EXPECT_EQ(r.classes[k].support, s[k]) << "class " << k;  // sums of multiples of 1/4: exact
  }
  EXPECT_NEAR(r.accuracy, 0.6704416761041903, kTol);
  EXPECT_NEAR(r.macro_precision, 0.5868748811451, kTol);
  EXPECT_NEAR(r.ua(), 0.5650580413288394, kTol);
  EXPECT_NEAR(r.macro_f1, 0.5742114514530695, kTol);
  EXPECT_NEAR(r.weighted_f1, 0.6854783763604952, kTol);
}

TEST(ClassificationReport, BadInputsNameTheProblem) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_NE(message([] { confusion_matrix({0, 3}, {0, 1}, 3); }).find("y_true[1] = 3"),
            std::string::npos);
  EXPECT_NE(message([] { confusion_matrix({0, 1}, {0, -2}, 3); }).find("y_pred[1] = -2"),
            std::string::npos);  // -1 is kNoPrediction (an abstention), -2 is nothing
  EXPECT_NE(message([] { confusion_matrix({0, 1}, {0}, 3); }).find("2 samples"),
            std::string::npos);
  EXPECT_NE(message([] { confusion_matrix({}, {}, 3); }).find("no samples"), std::string::npos);
  EXPECT_NE(message([] { confusion_matrix({0}, {0}, 0); }).find("num_classes"),
            std::string::npos);
  const std::vector<double> neg = {1.0, -1.0};
  EXPECT_NE(message([&] { confusion_matrix({0, 1}, {0, 1}, 2, &neg); }).find("sample_weight[1]"),
            std::string::npos);
  const std::vector<double> zeros = {0.0, 0.0};
  EXPECT_NE(message([&] { confusion_matrix({0, 1}, {0, 1}, 2, &zeros); }).find("zero"),
            std::string::npos);
  const std::vector<double> short_w = {1.0};
  EXPECT_THROW(classification_report({0, 1}, {0, 1}, 2, &short_w), Error);
}

TEST(FormatReport, MatchesSklearnTextForThreeClassExample) {
  // Printed by sklearn.metrics.classification_report(t, p, target_names=..., digits=4)
  // (scripts/metrics_reference.py).
  const std::string expected =
      "              precision    recall  f1-score   support\n"
      "\n"
      "         neu     0.6667    0.5000    0.5714         4\n"
      "       happy     0.5000    0.6667    0.5714         3\n"
      "         sad     0.6667    0.6667    0.6667         3\n"
      "\n"
      "    accuracy                         0.6000        10\n"
      "   macro avg     0.6111    0.6111    0.6032        10\n"
      "weighted avg     0.6167    0.6000    0.6000        10\n";
  const ClassificationReport r = classification_report(kTrue3, kPred3, 3);
  EXPECT_EQ(format_report(r, {"neu", "happy", "sad"}), expected);
  EXPECT_THROW(format_report(r, {"neu", "happy"}), Error);
}

TEST(FormatConfusion, RowsAreTrueColumnsArePredicted) {
  const std::string expected =
      "true \\ pred  neu  happy  sad\n"
      "neu            2      1    1\n"
      "happy          1      2    0\n"
      "sad            0      1    2\n";
  EXPECT_EQ(format_confusion(confusion_matrix(kTrue3, kPred3, 3), {"neu", "happy", "sad"}),
            expected);
  const std::vector<double> w = {0.5, 1};
  const std::string weighted = format_confusion(confusion_matrix({0, 1}, {1, 1}, 2, &w), {"a", "b"});
  EXPECT_NE(weighted.find("0.50"), std::string::npos) << weighted;
}

// Abstentions (kNoPrediction, a generative model's unparseable output): misses of their true class,
// nobody's prediction. Expected values from sklearn (tests/fixtures/make_abstain_metrics.py: labels=
// range(3), abstentions mapped to label 3), and by hand: F1 per class 2/3, 1/2, 1/2. 1e-12: the
// same sums in another order.
TEST(ClassificationReport, AbstentionsAreMissesOfTheirTrueClassOnly) {
  const std::vector<int64_t> y_true = {0, 0, 1, 1, 2, 2, 2, 0};
  const std::vector<int64_t> y_pred = {0, kNoPrediction, 1, 0, 2, kNoPrediction, 1, 0};
  const ClassificationReport r = classification_report(y_true, y_pred, 3);
  EXPECT_NEAR(r.accuracy, 0.5, 1e-12);
  EXPECT_NEAR(r.weighted_f1, 0.5625, 1e-12);
  EXPECT_NEAR(r.macro_f1, 0.5555555555555555, 1e-12);
  EXPECT_NEAR(r.ua(), 0.49999999999999994, 1e-12);
  EXPECT_DOUBLE_EQ(r.classes[0].support, 3.0);  // the abstention at index 1 still counts as class 0
  EXPECT_DOUBLE_EQ(r.confusion.predicted_count(0), 3.0);
  EXPECT_DOUBLE_EQ(r.confusion.total(), 8.0);
  EXPECT_EQ(r.averaged_labels, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_THROW(classification_report(y_true, std::vector<int64_t>(8, -2), 3), Error);
}

}  // namespace
}  // namespace merc::metrics
