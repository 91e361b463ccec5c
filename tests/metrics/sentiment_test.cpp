#include "merc/metrics/sentiment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "merc/core/error.h"
#include "metrics_test_util.h"

namespace merc::metrics {
namespace {

using testing::kTol;

// Hand example (N = 9):
//   i      0     1    2    3     4     5    6     7    8
//   pred  2.5  -0.5  0.0  1.4  -3.7   0.2  3.5  -1.5  2.6
//   truth 2.0   0.0  0.0  1.6  -3.0  -0.2  2.8  -2.4  2.2
// Non-zero truth: i = 0,3,4,5,6,7,8 (7 samples). truth > 0: T T F F T F T; pred > 0: T T F T T F T
//   -> 6/7 agree (i = 5 wrong). Positives (truth): 0,3,6,8 (4), predicted positive 0,3,5,6,8 (5):
//   pos: tp 4, p = 4/5, r = 1, f = 8/9; neg (4,5,7): tp 2, p = 2/2, r = 2/3, f = 4/5
//   weighted f1 = (4 * 8/9 + 3 * 4/5) / 7 = 268/315
// Has-0 (all 9, >= 0): truth T T T T F F T F T; pred T F T T F T T F T -> 7/9 agree (i = 1, 5)
//   pos (6 true): tp 5, p = 5/6, r = 5/6; neg (3 true): tp 2, p = r = 2/3
//   weighted f1 = (6 * 5/6 + 3 * 2/3) / 9 = 7/9
// acc7, round(clip(x, -3, 3)) half to even:
//   pred  -> 2 (2.5 -> 2!), 0 (-0.5 -> 0!), 0, 1, -3, 0, 3 (3.5 clipped to 3), -2, 3
//   truth -> 2, 0, 0, 2, -3, 0, 3, -2, 2           -> agree except i = 3, 8: 7/9
//   (round-half-away would give pred 3 at i = 0 and -1 at i = 1: 5/9)
// acc5, clip to [-2, 2]: pred 2, 0, 0, 1, -2, 0, 2, -2, 2; truth 2, 0, 0, 2, -2, 0, 2, -2, 2
//   -> only i = 3 differs: 8/9 (i = 8 agrees only because of the clip)
// |pred - truth| = .5 .5 0 .2 .7 .4 .7 .9 .4, sum 4.3 -> mae = 4.3/9; non-zero: (4.3 - .5)/7
const std::vector<double> kPred = {2.5, -0.5, 0.0, 1.4, -3.7, 0.2, 3.5, -1.5, 2.6};
const std::vector<double> kTruth = {2.0, 0.0, 0.0, 1.6, -3.0, -0.2, 2.8, -2.4, 2.2};

TEST(SentimentScores, HandExample) {
  const SentimentScores s = sentiment_scores(kPred, kTruth);
  EXPECT_EQ(s.num_samples, 9);
  EXPECT_EQ(s.num_non_zero, 7);
  EXPECT_NEAR(s.acc2, 6.0 / 7, kTol);
  EXPECT_NEAR(s.f1, 268.0 / 315, kTol);
  EXPECT_NEAR(s.acc2_has0, 7.0 / 9, kTol);
  EXPECT_NEAR(s.f1_has0, 7.0 / 9, kTol);
  EXPECT_NEAR(s.acc7, 7.0 / 9, kTol);
  EXPECT_NEAR(s.acc5, 8.0 / 9, kTol);
  EXPECT_NEAR(s.mae, 4.3 / 9, kTol);
  EXPECT_NEAR(s.mae_non0, 3.8 / 7, kTol);
  // numpy 1.24 np.corrcoef (scripts/metrics_reference.py, "sentiment hand example"):
  EXPECT_NEAR(s.corr, 0.9735711606803261, kTol);
  EXPECT_NEAR(s.corr_non0, 0.9791633035846352, kTol);
}

TEST(SentimentMetrics, ContractNamesOrderAndPercent) {
  const MetricValues v = sentiment_metrics(sentiment_scores(kPred, kTruth));
  EXPECT_EQ(v.names(),
            (std::vector<std::string>{"acc2", "f1", "acc2_has0", "f1_has0", "acc5", "acc7", "mae",
                                      "corr", "mae_non0", "corr_non0"}));
  EXPECT_NEAR(v.get("acc2"), 600.0 / 7, 100 * kTol);  // percent
  EXPECT_NEAR(v.get("f1"), 26800.0 / 315, 100 * kTol);
  EXPECT_NEAR(v.get("mae"), 4.3 / 9, kTol);  // raw
  EXPECT_NEAR(v.get("corr"), 0.9735711606803261, kTol);
}

TEST(RoundHalfEven, MatchesNumpyRound) {
  // np.round([2.5, 3.5, -0.5, -1.5, -2.5, 0.5, 1.49999, 2.5000001, -2.6]) =
  //          [2,   4,   -0,   -2,   -2,   0,   1,       3,         -3]
  EXPECT_EQ(round_half_even(2.5), 2.0);
  EXPECT_EQ(round_half_even(3.5), 4.0);
  EXPECT_EQ(round_half_even(-0.5), 0.0);
  EXPECT_EQ(round_half_even(-1.5), -2.0);
  EXPECT_EQ(round_half_even(-2.5), -2.0);
  EXPECT_EQ(round_half_even(0.5), 0.0);
  EXPECT_EQ(round_half_even(1.49999), 1.0);
  EXPECT_EQ(round_half_even(2.5000001), 3.0);
  EXPECT_EQ(round_half_even(-2.6), -3.0);
  EXPECT_EQ(round_half_even(1e300), 1e300);
}

TEST(SentimentScores, ZeroTruthExcludedOnlyFromNonZeroMetrics) {
  // truth 0 with prediction -1: it is dropped from acc2 (which is then 2/2) but counts in
  // has-0 as a wrong "positive" truth (0 >= 0) vs negative prediction.
  const SentimentScores s = sentiment_scores({1.0, -1.0, -1.0}, {2.0, -2.0, 0.0});
  EXPECT_EQ(s.num_non_zero, 2);
  EXPECT_EQ(s.acc2, 1.0);
  EXPECT_NEAR(s.acc2_has0, 2.0 / 3, kTol);
  EXPECT_NEAR(s.mae, (1.0 + 1.0 + 1.0) / 3, kTol);
  EXPECT_NEAR(s.mae_non0, 1.0, kTol);
}

TEST(SentimentScores, Has0BoundaryScoreExactlyZeroIsPositive) {
  // prediction exactly 0 vs truth 0.5: has-0 counts it positive (agree); non-zero (> 0) counts
  // it negative (disagree).
  const SentimentScores s = sentiment_scores({0.0}, {0.5});
  EXPECT_EQ(s.acc2_has0, 1.0);
  EXPECT_EQ(s.acc2, 0.0);
  // A single sample: weighted f1 over the present labels only. Non-zero: truth {1}, pred {0}:
  // class 1 has f = 0, class 0 has weight 0 -> 0. Has-0: both class 1 -> 1.
  EXPECT_EQ(s.f1, 0.0);
  EXPECT_EQ(s.f1_has0, 1.0);
}

TEST(SentimentScores, ClippingBeforeRounding) {
  // 4.2 vs 2.9: acc7 clips 4.2 -> 3, round(2.9) = 3: agree. acc5 clips both to 2: agree.
  // -2.4 vs -1.6: acc7 -2 vs -2 agree; acc5 -2 vs -2 agree. 2.4 vs 1.4: acc7 2 vs 1 disagree,
  // acc5 2 vs 1 disagree. -2.9 vs -2.1: acc7 -3 vs -2 disagree; acc5 -2 vs -2 agree.
  const SentimentScores s = sentiment_scores({4.2, -2.4, 2.4, -2.9}, {2.9, -1.6, 1.4, -2.1});
  EXPECT_NEAR(s.acc7, 2.0 / 4, kTol);
  EXPECT_NEAR(s.acc5, 3.0 / 4, kTol);
}

TEST(SentimentScores, ZeroVarianceAndTinyInputsGiveNaNCorrelationLikeNumpy) {
  // Constant predictions: np.corrcoef -> nan (0/0, RuntimeWarning). Never a crash, never 0.
  const SentimentScores s = sentiment_scores({1.0, 1.0, 1.0}, {1.0, 2.0, -1.0});
  EXPECT_TRUE(std::isnan(s.corr));
  EXPECT_TRUE(std::isnan(s.corr_non0));
  EXPECT_FALSE(std::isnan(s.mae));
  EXPECT_TRUE(std::isnan(pearson_correlation({1.0}, {2.0})));  // n = 1: dof 0
  EXPECT_TRUE(std::isnan(pearson_correlation({1.0, 2.0}, {3.0, 3.0})));
  EXPECT_NEAR(pearson_correlation({1.0, 2.0, 3.0}, {2.0, 4.0, 6.0}), 1.0, kTol);
  EXPECT_NEAR(pearson_correlation({1.0, 2.0, 3.0}, {3.0, 2.0, 1.0}), -1.0, kTol);
  EXPECT_THROW(pearson_correlation({1.0}, {1.0, 2.0}), Error);
}

TEST(SentimentScores, AllTruthZeroGivesNaNNonZeroMetrics) {
  const SentimentScores s = sentiment_scores({0.5, -0.5}, {0.0, 0.0});
  EXPECT_EQ(s.num_non_zero, 0);
  EXPECT_TRUE(std::isnan(s.acc2));
  EXPECT_TRUE(std::isnan(s.f1));
  EXPECT_TRUE(std::isnan(s.mae_non0));
  EXPECT_TRUE(std::isnan(s.corr_non0));
  EXPECT_EQ(s.acc2_has0, 0.5);
  EXPECT_EQ(s.mae, 0.5);
}

TEST(SentimentScores, MaskDropsSamples) {
  // Masking out two samples equals computing on the rest.
  std::vector<double> p = kPred, t = kTruth;
  p.insert(p.begin() + 2, 9.0);  // garbage at masked positions
  t.insert(t.begin() + 2, -3.0);
  p.push_back(-9.0);
  t.push_back(3.0);
  std::vector<bool> mask(p.size(), true);
  mask[2] = false;
  mask.back() = false;
  const SentimentScores a = sentiment_scores(p, t, &mask);
  const SentimentScores b = sentiment_scores(kPred, kTruth);
  EXPECT_EQ(a.num_samples, 9);
  EXPECT_EQ(a.acc2, b.acc2);
  EXPECT_EQ(a.acc7, b.acc7);
  EXPECT_EQ(a.mae, b.mae);
  EXPECT_EQ(a.corr, b.corr);
}

TEST(SentimentScores, BadInputsThrow) {
  EXPECT_THROW(sentiment_scores({1.0}, {1.0, 2.0}), Error);
  EXPECT_THROW(sentiment_scores({}, {}), Error);
  const std::vector<bool> none = {false};
  EXPECT_THROW(sentiment_scores({1.0}, {1.0}, &none), Error);
  const std::vector<bool> short_mask = {true};
  EXPECT_THROW(sentiment_scores({1.0, 2.0}, {1.0, 2.0}, &short_mask), Error);
  try {
    sentiment_scores({1.0, std::nan("")}, {1.0, 2.0});
    FAIL() << "NaN prediction accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("prediction 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sentiment_scores({1.0}, {INFINITY}), Error);
}

// 60 pseudo-random samples (metrics_test_util.h); reference values printed by
// scripts/metrics_reference.py (sklearn 1.2.1 accuracy_score / f1_score(average='weighted'),
// numpy 1.24 np.round, np.clip, np.mean, np.corrcoef; MMSA conventions, float64).
TEST(SentimentScores, LcgCaseMatchesNumpyAndSklearn) {
  const auto c = testing::lcg_sentiment_case();
  ASSERT_EQ(c.truth[0], 8.0 / 3);  // first values as printed by the script: generators agree
  ASSERT_EQ(c.pred[1], -4.5);
  const SentimentScores s = sentiment_scores(c.pred, c.truth);
  EXPECT_EQ(s.num_samples - s.num_non_zero, 3);  // "zeros in truth 3"
  EXPECT_NEAR(s.acc2, 0.9298245614035088, kTol);
  EXPECT_NEAR(s.f1, 0.9298245614035088, kTol);
  EXPECT_NEAR(s.acc2_has0, 0.8833333333333333, kTol);
  EXPECT_NEAR(s.f1_has0, 0.8835633154979817, kTol);
  EXPECT_NEAR(s.acc5, 0.6333333333333333, kTol);
  EXPECT_NEAR(s.acc7, 0.5, kTol);
  EXPECT_NEAR(s.mae, 0.9020833333333333, kTol);
  EXPECT_NEAR(s.corr, 0.8763748971445673, kTol);
  EXPECT_NEAR(s.mae_non0, 0.9078947368421053, kTol);
  EXPECT_NEAR(s.corr_non0, 0.8812852932722703, kTol);
}

}  // namespace
}  // namespace merc::metrics
