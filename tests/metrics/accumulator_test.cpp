#include "merc/metrics/accumulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::metrics {
namespace {

using data::Task;

// Two dialogues padded to T = 3, C = 3 classes. Real utterances: (0,0), (0,1), (0,2), (1,0),
// (1,1); (1,2) is padding. (0,2) is real but unlabelled (-1). Logit argmax per position:
//   (0,0) -> 2, (0,1) -> 0, (0,2) -> 1, (1,0) -> 1, (1,1) -> 1 (tie 1 vs 2: first max), (1,2) -> 0
// Labels: 2, 1, -1, 1, 0, (pad 0 — a padded position with a valid-looking label must still be
// skipped because the mask says so).
// Collected in row-major order: pred = [2, 0, 1, 1], truth = [2, 1, 1, 0].
struct ClassificationBatch {
  torch::Tensor logits, label, mask;
};

ClassificationBatch classification_batch() {
  ClassificationBatch b;
  b.logits = torch::tensor({0.1f, 0.2f, 0.9f,   // (0,0)
                            1.0f, -1.f, 0.0f,   // (0,1)
                            0.0f, 5.0f, 0.0f,   // (0,2) unlabelled
                            0.0f, 3.0f, 1.0f,   // (1,0)
                            0.0f, 2.0f, 2.0f,   // (1,1) tie
                            9.0f, 0.0f, 0.0f})  // (1,2) padding
                 .reshape({2, 3, 3});
  b.label = torch::tensor({2, 1, -1, 1, 0, 0}, torch::kLong).reshape({2, 3});
  b.mask = torch::tensor({1, 1, 1, 1, 1, 0}, torch::kLong).reshape({2, 3}).to(torch::kBool);
  return b;
}

TEST(MetricAccumulator, ClassificationCollectsRealLabelledUtterancesInOrder) {
  MetricAccumulator acc(Task::kClassification, 3);
  const ClassificationBatch b = classification_batch();
  acc.add(b.logits, b.label, torch::Tensor(), b.mask);
  EXPECT_EQ(acc.size(), 4);
  EXPECT_EQ(acc.predicted_labels(), (std::vector<int64_t>{2, 0, 1, 1}));
  EXPECT_EQ(acc.true_labels(), (std::vector<int64_t>{2, 1, 1, 0}));
  EXPECT_EQ(acc.predictions(), (std::vector<double>{2, 0, 1, 1}));
  // Equals the direct computation on the collected vectors:
  const ClassificationReport direct = classification_report({2, 1, 1, 0}, {2, 0, 1, 1}, 3);
  const ClassificationReport r = acc.report();
  EXPECT_EQ(r.confusion.counts, direct.confusion.counts);
  EXPECT_EQ(r.macro_f1, direct.macro_f1);
  // By hand: 2 of 4 right (accuracy 50%); class 0 never right, class 1: p = 1/2, r = 1/2;
  // class 2: p = r = 1 -> macro f1 = (0 + 1/2 + 1) / 3 = 50%.
  const MetricValues v = acc.compute();
  EXPECT_DOUBLE_EQ(v.get("accuracy"), 50.0);
  EXPECT_DOUBLE_EQ(v.get("macro_f1"), 50.0);
  EXPECT_EQ(v.get("ua"), 100.0 * direct.ua());
}

TEST(MetricAccumulator, SeveralBatchesEqualOneConcatenatedComputation) {
  MetricAccumulator acc(Task::kClassification, 3);
  const ClassificationBatch b = classification_batch();
  acc.add(b.logits, b.label, torch::Tensor(), b.mask);
  acc.add(b.logits.slice(0, 0, 1), b.label.slice(0, 0, 1), torch::Tensor(), b.mask.slice(0, 0, 1));
  EXPECT_EQ(acc.predicted_labels(), (std::vector<int64_t>{2, 0, 1, 1, 2, 0}));
  const MetricValues v = acc.compute();
  const MetricValues direct =
      classification_metrics(classification_report({2, 1, 1, 0, 2, 1}, {2, 0, 1, 1, 2, 0}, 3));
  for (const MetricValue& m : direct) EXPECT_EQ(v.get(m.name), m.value) << m.name;
  acc.reset();
  EXPECT_EQ(acc.size(), 0);
  EXPECT_THROW(acc.compute(), Error);
}

TEST(MetricAccumulator, RegressionUsesScoresAndSkipsNaNAndPadding) {
  MetricAccumulator acc(Task::kRegression, 0);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // (1,1) has no score (NaN), (1,2) is padding (score 0 there, must not count as a zero truth).
  const torch::Tensor out = torch::tensor({2.5f, -0.5f, 0.0f, 1.5f, 7.0f, 3.0f}).reshape({2, 3, 1});
  const torch::Tensor score = torch::tensor({2.0f, 0.0f, -1.0f, 1.0f, nan, 0.0f}).reshape({2, 3});
  const torch::Tensor mask =
      torch::tensor({1, 1, 1, 1, 1, 0}, torch::kLong).reshape({2, 3}).to(torch::kBool);
  acc.add(out, torch::Tensor(), score, mask);
  EXPECT_EQ(acc.predictions(), (std::vector<double>{2.5, -0.5, 0.0, 1.5}));
  EXPECT_EQ(acc.truths(), (std::vector<double>{2.0, 0.0, -1.0, 1.0}));
  EXPECT_TRUE(acc.predicted_labels().empty());
  const MetricValues v = acc.compute();
  const MetricValues direct =
      sentiment_metrics(sentiment_scores({2.5, -0.5, 0.0, 1.5}, {2.0, 0.0, -1.0, 1.0}));
  ASSERT_EQ(v.names(), direct.names());
  for (const MetricValue& m : direct) EXPECT_EQ(v.get(m.name), m.value) << m.name;
  // By hand: non-zero truth 2, -1, 1 vs pred 2.5, 0.0, 1.5 -> (>0) agree T/T, F/F, T/T: 100%.
  EXPECT_EQ(v.get("acc2"), 100.0);
  // MAE over all 4: (0.5 + 0.5 + 1.0 + 0.5) / 4
  EXPECT_DOUBLE_EQ(v.get("mae"), 2.5 / 4);
  EXPECT_THROW(acc.report(), Error);
}

TEST(MetricAccumulator, RejectsBadShapesTypesAndLabels) {
  const ClassificationBatch b = classification_batch();
  MetricAccumulator acc(Task::kClassification, 3);
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  // Wrong number of classes in the logits.
  EXPECT_NE(message([&] { acc.add(b.logits.slice(2, 0, 2), b.label, {}, b.mask); })
                .find("(B, T, 3)"),
            std::string::npos);
  // Non-bool mask.
  EXPECT_NE(message([&] { acc.add(b.logits, b.label, {}, b.mask.to(torch::kLong)); })
                .find("utterance_mask"),
            std::string::npos);
  // Label shape / dtype / value.
  EXPECT_NE(message([&] { acc.add(b.logits, b.label.reshape({3, 2}), {}, b.mask); }).find("label"),
            std::string::npos);
  EXPECT_NE(message([&] { acc.add(b.logits, b.label.to(torch::kFloat), {}, b.mask); })
                .find("integer"),
            std::string::npos);
  torch::Tensor bad = b.label.clone();
  bad[1][0] = 3;
  EXPECT_NE(message([&] { acc.add(b.logits, bad, {}, b.mask); }).find("label[1, 0] = 3"),
            std::string::npos);
  bad[1][0] = -2;
  EXPECT_NE(message([&] { acc.add(b.logits, bad, {}, b.mask); }).find("label[1, 0] = -2"),
            std::string::npos);
  // Out-of-range label at a padded position is ignored (padding carries no meaning).
  bad = b.label.clone();
  bad[1][2] = 99;
  EXPECT_NO_THROW(acc.add(b.logits, bad, {}, b.mask));
  // Non-finite logits at a collected utterance.
  torch::Tensor logits = b.logits.clone();
  logits[0][1][0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(message([&] { acc.add(logits, b.label, {}, b.mask); }).find("[0, 1]"),
            std::string::npos);
  // Regression needs a score tensor and (B, T, 1) output.
  MetricAccumulator reg(Task::kRegression, 1);
  EXPECT_NE(message([&] { reg.add(torch::zeros({2, 3, 1}), {}, {}, b.mask); }).find("score"),
            std::string::npos);
  EXPECT_THROW(reg.add(torch::zeros({2, 3, 2}), {}, torch::zeros({2, 3}), b.mask), Error);
  EXPECT_THROW(reg.compute(), Error);  // nothing collected
  EXPECT_THROW(reg.sentiment(), Error);
  EXPECT_THROW(MetricAccumulator(Task::kClassification, 0), Error);
}

}  // namespace
}  // namespace merc::metrics

namespace merc::metrics {
namespace {
TEST(MetricNames, MatchTheNamingContractPerTask) {
  EXPECT_EQ(metric_names(data::Task::kClassification),
            (std::vector<std::string>{"accuracy", "weighted_f1", "macro_f1", "ua"}));
  EXPECT_EQ(metric_names(data::Task::kRegression),
            (std::vector<std::string>{"acc2", "f1", "acc2_has0", "f1_has0", "acc5", "acc7", "mae", "corr", "mae_non0",
                                      "corr_non0"}));
}
// An abstain mask records kNoPrediction: its logits row is not read (NaN allowed there) and the
// utterance is a miss of its true class.
TEST(MetricAccumulator, AbstainedUtterancesAreWrongAndCounted) {
  MetricAccumulator acc(data::Task::kClassification, 2);
  torch::Tensor logits = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, NAN, NAN}).reshape({1, 3, 2});
  const torch::Tensor label = torch::tensor({0, 1, 1}, torch::kLong).reshape({1, 3});
  const torch::Tensor mask = torch::ones({1, 3}, torch::kBool);
  const torch::Tensor abstain = torch::tensor({false, false, true}).reshape({1, 3});
  acc.add(logits, label, {}, mask, abstain);
  EXPECT_EQ(acc.abstentions(), 1);
  EXPECT_EQ(acc.predictions(), (std::vector<double>{0, 1, -1}));
  EXPECT_NEAR(acc.compute().get("accuracy"), 100.0 * 2.0 / 3.0, 1e-9);
  EXPECT_THROW(acc.add(logits, label, {}, mask, torch::ones({1, 2}, torch::kBool)), Error);  // wrong shape
}

}  // namespace
}  // namespace merc::metrics
