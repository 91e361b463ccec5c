// merc::analysis statistics: closed forms and hand counts where they exist, SciPy 1.10 values
// (tests/fixtures/make_compare_stats.py prints them) where they do not, and bootstrap intervals
// that behave as theory says.
#include <cmath>

#include <gtest/gtest.h>

#include "merc/analysis/stats.h"
#include "merc/core/error.h"
#include "../support/error_text.h"

namespace merc::analysis {
namespace {

constexpr double kPi = 3.14159265358979323846;
// The continued fraction converges to ~1e-15 relative; 1e-12 absolute leaves room for the
// lgamma/exp prefactor's rounding on probabilities <= 1 and still catches any wrong term.
constexpr double kSpecialTol = 1e-12;

TEST(Stats, MeanAndSampleStd) {
  // {2, 4, 4, 4, 5, 5, 7, 9}: mean 5, squared deviations sum 32, sample variance 32 / 7.
  const std::vector<double> x{2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_DOUBLE_EQ(mean(x), 5.0);
  EXPECT_DOUBLE_EQ(sample_std(x), std::sqrt(32.0 / 7.0));
  EXPECT_TRUE(std::isnan(sample_std({1.0})));
  EXPECT_TRUE(std::isnan(mean({})));
}

TEST(Stats, IncompleteBetaMatchesClosedFormsAndScipy) {
  // I_x(2, 3) = sum_{j=2}^{4} C(4, j) x^j (1 - x)^(4 - j) = 0.3456 + 0.1536 + 0.0256 at x = 0.4.
  EXPECT_NEAR(regularized_incomplete_beta(2, 3, 0.4), 0.5248, kSpecialTol);
  // I_x(1/2, 1/2) = (2 / pi) asin(sqrt(x)) (the arcsine distribution).
  EXPECT_NEAR(regularized_incomplete_beta(0.5, 0.5, 0.3), 2.0 / kPi * std::asin(std::sqrt(0.3)), kSpecialTol);
  // scipy.special.betainc, both sides of the (a + 1) / (a + b + 2) switch.
  EXPECT_NEAR(regularized_incomplete_beta(10, 20, 0.35), 0.59238666366390502, kSpecialTol);
  EXPECT_NEAR(regularized_incomplete_beta(2.75, 0.5, 0.9), 0.46667572282005393, kSpecialTol);
  EXPECT_NEAR(regularized_incomplete_beta(50, 40, 0.6), 0.80115341797448836, kSpecialTol);
  EXPECT_EQ(regularized_incomplete_beta(3, 4, 0.0), 0.0);
  EXPECT_EQ(regularized_incomplete_beta(3, 4, 1.0), 1.0);
  EXPECT_NE(testing_support::error_text([] { regularized_incomplete_beta(0, 1, 0.5); }).find("a > 0"),
            std::string::npos);
}

TEST(Stats, StudentTCdfAtKnownPoints) {
  for (double t : {-3.0, -0.5, 0.0, 0.8, 4.0}) {
    // df = 1 is the Cauchy distribution: 1/2 + atan(t) / pi.
    EXPECT_NEAR(student_t_cdf(t, 1), 0.5 + std::atan(t) / kPi, kSpecialTol) << t;
    // df = 2: 1/2 + t / (2 sqrt(2 + t^2)).
    EXPECT_NEAR(student_t_cdf(t, 2), 0.5 + t / (2.0 * std::sqrt(2.0 + t * t)), kSpecialTol) << t;
  }
  EXPECT_NEAR(student_t_cdf(1.5, 3.5), 0.89109090649232747, kSpecialTol);
  EXPECT_NEAR(student_t_cdf(-0.7, 7.25), 0.25288110154123034, kSpecialTol);
  EXPECT_NEAR(student_t_cdf(2.0, 30), 0.97268747751850848, kSpecialTol);
  // Large df tends to the normal: Phi(1.96) = 0.97500210485; at df = 1e6 the first correction
  // term phi(t)(t^3 + t) / (4 df) is 1.4e-7, so 1e-6 separates "normal" from "wrong".
  EXPECT_NEAR(student_t_cdf(1.96, 1e6), 0.5 * std::erfc(-1.96 / std::sqrt(2.0)), 1e-6);
  // At df = 1e6 the prefactor lgamma(a + b) - lgamma(a) - lgamma(b) cancels terms of ~6e6 whose
  // rounding (~1e-9 absolute) limits the tail to ~1e-9 relative: 1e-10 absolute on 0.025.
  EXPECT_NEAR(student_t_cdf(1.96, 1e6), 0.97500196620736512, 1e-10);
  EXPECT_EQ(student_t_cdf(INFINITY, 3), 1.0);
  EXPECT_EQ(student_t_cdf(-INFINITY, 3), 0.0);
}

TEST(Stats, ExactMcNemar) {
  // b = 0, c = 5: p = 2 * 0.5^5 (the only outcomes as extreme are 0 and 5 of 5).
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 5), 0.0625);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(5, 0), 0.0625);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(7, 7), 1.0);  // b = c: capped at 1
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 0), 1.0);
  // b = 3, c = 12: 2 (1 + 15 + 105 + 455) / 2^15 = 1152 / 32768.
  // (Summed in log space through lgamma: exact up to ~1e-15.)
  EXPECT_NEAR(mcnemar_exact_p(3, 12), 1152.0 / 32768.0, 1e-15);
  // scipy.stats.binomtest(40, 100).pvalue; 1e-12 relative to the sum of 41 log-space terms.
  EXPECT_NEAR(mcnemar_exact_p(40, 60), 0.056887933640980881, 1e-12);

  // Paired outcomes: concordant pairs are counted but do not enter p.
  const std::vector<bool> a{true, true, false, false, true, false, true};
  const std::vector<bool> b{true, false, true, true, true, false, true};
  const McNemarResult r = mcnemar_exact(a, b);
  EXPECT_EQ(r.both, 3);
  EXPECT_EQ(r.a_only, 1);
  EXPECT_EQ(r.b_only, 2);
  EXPECT_EQ(r.neither, 1);
  EXPECT_DOUBLE_EQ(r.p, 1.0);  // 2 * P(X <= 1 | n = 3) = 2 * 4/8
  EXPECT_NE(testing_support::error_text([] { mcnemar_exact({true}, {true, false}); }).find("paired"),
            std::string::npos);
}

TEST(Stats, WelchByHandAndAgainstScipy) {
  // a = {1, 2, 3, 4}: mean 2.5, s^2 = 5/3; b = {2, 4, 6, 8, 10}: mean 6, s^2 = 10.
  // s_a^2/n_a = 5/12, s_b^2/n_b = 2 -> t = 3.5 / sqrt(29/12) = 2.25144;
  // df = (29/12)^2 / ((5/12)^2 / 3 + 2^2 / 4) = 5.84028 / 1.05787 = 5.52079.
  const WelchResult r = welch_t_test({1, 2, 3, 4}, {2, 4, 6, 8, 10});
  ASSERT_TRUE(r.defined);
  EXPECT_DOUBLE_EQ(r.difference, 3.5);
  EXPECT_NEAR(r.t, 3.5 / std::sqrt(29.0 / 12.0), 1e-12);
  EXPECT_NEAR(r.df, (29.0 / 12.0) * (29.0 / 12.0) / (25.0 / 144.0 / 3.0 + 1.0), 1e-12);
  EXPECT_NEAR(r.t, 2.2514363231593695, 1e-12);  // scipy.stats.ttest_ind(b, a, equal_var=False)
  EXPECT_NEAR(r.p, 0.069133593192392359, kSpecialTol);
  // Seed-like accuracies (three vs four seeds).
  const WelchResult s = welch_t_test({61.2, 63.5, 62.1}, {64.0, 63.1, 65.8, 64.4});
  EXPECT_NEAR(s.t, 2.355802288180207, 1e-12);
  EXPECT_NEAR(s.p, 0.072567225658924359, kSpecialTol);
  // Swapping the samples flips t and keeps p.
  const WelchResult sw = welch_t_test({64.0, 63.1, 65.8, 64.4}, {61.2, 63.5, 62.1});
  EXPECT_NEAR(sw.t, -s.t, 1e-12);
  EXPECT_NEAR(sw.p, s.p, 1e-15);
  // Undefined with one seed or no variance at all (scipy gives nan).
  EXPECT_FALSE(welch_t_test({1.0}, {2.0, 3.0}).defined);
  EXPECT_FALSE(welch_t_test({1.0, 1.0}, {2.0, 2.0}).defined);
  EXPECT_TRUE(std::isnan(welch_t_test({1.0, 1.0}, {2.0, 2.0}).p));
}

TEST(Stats, ClustersByKeyKeepFirstAppearanceOrder) {
  const auto c = clusters_by_key({"d1", "d1", "d2", "d1", "d3"});
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(c[1], (std::vector<int64_t>{2}));
  EXPECT_EQ(c[2], (std::vector<int64_t>{4}));
  EXPECT_EQ(singleton_clusters(2), (std::vector<std::vector<int64_t>>{{0}, {1}}));
}

// The mean of per-row values over a resample.
ResampleStatistic mean_of(const std::vector<double>& v) {
  return [&v](const ResampleRows& rows) {
    double s = 0;
    for (int64_t r : rows) s += v[static_cast<size_t>(r)];
    return std::vector<double>{s / static_cast<double>(rows.size())};
  };
}

TEST(Stats, BootstrapOfIdenticalPredictionsIsZero) {
  // metric(B) - metric(A) with A = B: every resample's difference is exactly 0.
  const std::vector<double> a{1, 0, 1, 1, 0, 1};
  const ResampleStatistic diff = [&](const ResampleRows& rows) {
    const double ma = mean_of(a)(rows)[0];
    return std::vector<double>{ma - ma};
  };
  const auto ci = cluster_bootstrap(clusters_by_key({"x", "x", "y", "z", "z", "z"}), diff, {500, 0.95, 3});
  ASSERT_EQ(ci.size(), 1u);
  EXPECT_EQ(ci[0].estimate, 0.0);
  EXPECT_EQ(ci[0].low, 0.0);
  EXPECT_EQ(ci[0].high, 0.0);
  EXPECT_EQ(ci[0].p, 1.0);
  EXPECT_EQ(ci[0].finite_resamples, 500);
}

TEST(Stats, BootstrapIntervalCoversAKnownDifferenceWithTheNormalWidth) {
  // 400 paired differences with mean exactly 1 (a symmetric pattern around 1) and sd ~0.58.
  std::vector<double> d;
  for (int i = 0; i < 400; ++i) d.push_back(1.0 + ((i * 37) % 101 - 50) / 50.0);
  const double m = mean(d), sd = sample_std(d);
  const BootstrapOptions o{4000, 0.95, 11};
  const auto ci = cluster_bootstrap(singleton_clusters(400), mean_of(d), o)[0];
  EXPECT_NEAR(ci.estimate, m, 1e-12);
  EXPECT_LT(ci.low, m);
  EXPECT_GT(ci.high, m);
  EXPECT_GT(ci.low, 0.0);  // 1 is ~35 standard errors away from 0
  EXPECT_DOUBLE_EQ(ci.p, 1.0 / 4000.0);  // no resample <= 0: the floor 1 / resamples
  // The percentile interval of a mean is ~ mean +- 1.96 sd / sqrt(n); Monte-Carlo error of the
  // 2.5 % / 97.5 % quantiles with 4000 resamples is a few percent of the width, so 10 % is
  // loose enough never to flake and tight enough to catch a wrong level or unit.
  const double normal_width = 2 * 1.959964 * sd / std::sqrt(400.0);
  EXPECT_NEAR((ci.high - ci.low) / normal_width, 1.0, 0.10);
  // Same seed, same interval; another seed, another one.
  const auto again = cluster_bootstrap(singleton_clusters(400), mean_of(d), o)[0];
  EXPECT_EQ(again.low, ci.low);
  EXPECT_EQ(again.high, ci.high);
  const auto other = cluster_bootstrap(singleton_clusters(400), mean_of(d), {4000, 0.95, 12})[0];
  EXPECT_NE(other.low, ci.low);
  // A lower level gives a narrower interval inside the wider one.
  const auto narrow = cluster_bootstrap(singleton_clusters(400), mean_of(d), {4000, 0.5, 11})[0];
  EXPECT_GT(narrow.low, ci.low);
  EXPECT_LT(narrow.high, ci.high);
}

TEST(Stats, ClusterBootstrapWidensForCorrelatedRows) {
  // 30 clusters of 10 identical rows: only 30 independent values. Resampling clusters gives the
  // width of a 30-value mean; resampling rows pretends there are 300 and is ~sqrt(10) = 3.2x too
  // narrow. A ratio above 2.5 says the cluster bootstrap resamples whole clusters.
  std::vector<double> v;
  std::vector<std::string> keys;
  for (int c = 0; c < 30; ++c)
    for (int r = 0; r < 10; ++r) {
      v.push_back((c * 13) % 30 / 10.0);
      keys.push_back("d" + std::to_string(c));
    }
  const BootstrapOptions o{3000, 0.95, 5};
  const auto by_cluster = cluster_bootstrap(clusters_by_key(keys), mean_of(v), o)[0];
  const auto by_row = cluster_bootstrap(singleton_clusters(300), mean_of(v), o)[0];
  EXPECT_NEAR(by_cluster.estimate, by_row.estimate, 1e-12);
  EXPECT_GT((by_cluster.high - by_cluster.low) / (by_row.high - by_row.low), 2.5);
}

TEST(Stats, BootstrapSkipsNonFiniteResamplesAndRefusesBadInput) {
  // A statistic that is NaN whenever the resample holds row 0: those resamples are left out.
  const ResampleStatistic s = [](const ResampleRows& rows) {
    for (int64_t r : rows)
      if (r == 0) return std::vector<double>{NAN};
    return std::vector<double>{1.0};
  };
  const auto ci = cluster_bootstrap(singleton_clusters(3), s, {300, 0.9, 1})[0];
  EXPECT_GT(ci.finite_resamples, 0);
  EXPECT_LT(ci.finite_resamples, 300);  // P(no row 0 in 3 draws) = 8/27
  EXPECT_EQ(ci.low, 1.0);
  using testing_support::error_text;
  EXPECT_NE(error_text([&] { cluster_bootstrap({}, s, {}); }).find("no clusters"), std::string::npos);
  EXPECT_NE(error_text([&] { cluster_bootstrap({{0}, {}}, s, {}); }).find("cluster 1 has no rows"), std::string::npos);
  EXPECT_NE(error_text([&] { cluster_bootstrap({{0}}, s, {10, 1.0, 0}); }).find("level"), std::string::npos);
  int calls = 0;
  const ResampleStatistic changing = [&](const ResampleRows&) { return std::vector<double>(++calls == 1 ? 1 : 2, 0.0); };
  EXPECT_NE(error_text([&] { cluster_bootstrap({{0}}, changing, {5, 0.9, 0}); }).find("returned 2 values"),
            std::string::npos);
}

}  // namespace
}  // namespace merc::analysis
