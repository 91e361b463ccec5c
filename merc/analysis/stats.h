#pragma once
// The statistics `merc compare` rests on: a seeded cluster bootstrap of any statistic of a
// resampled prediction set (percentile confidence intervals of a paired metric difference), the
// exact McNemar test, Welch's t-test with the Student t distribution through the regularized
// incomplete beta function, and the sample mean / std. Pure C++ (no torch).
//
// References: Efron & Tibshirani, "An Introduction to the Bootstrap" (1993) ch. 13 (percentile
// interval); Field & Welsh (2007) "Bootstrapping clustered data" (resample whole clusters when the
// items of a cluster are not independent: the utterances of one dialogue share speakers, topic and
// the model's context); McNemar (1947) with the exact binomial form (Edwards 1948; scipy.stats.
// binomtest(b, b + c, 0.5)); Welch (1947) / Satterthwaite (1946); Numerical Recipes 3rd ed.
// §6.4 (betai, betacf: Lentz's continued fraction).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace merc::analysis {

// ---- Sample summaries ------------------------------------------------------------------------

double mean(const std::vector<double>& x);        // NaN when empty
double sample_std(const std::vector<double>& x);  // sqrt(sum (x - mean)^2 / (n - 1)); NaN when n < 2

// ---- Distributions ---------------------------------------------------------------------------

// I_x(a, b) = B(x; a, b) / B(a, b) for a, b > 0 and x in [0, 1] (merc::Error otherwise): the
// continued fraction of NR §6.4 evaluated with the modified Lentz method, on the side of
// x < (a + 1) / (a + b + 2) where it converges fast, the symmetry I_x(a, b) = 1 - I_{1-x}(b, a)
// otherwise. Relative accuracy ~1e-14 (merc::Error if 300 iterations do not converge).
double regularized_incomplete_beta(double a, double b, double x);

// P(T <= t) for Student's t with df > 0 degrees of freedom (non-integer df allowed, as Welch's
// df is): with x = df / (df + t^2), the tail P(T > |t|) = I_x(df / 2, 1 / 2) / 2. t = +-inf give
// 1 / 0; NaN gives NaN.
double student_t_cdf(double t, double df);

// ---- Tests -----------------------------------------------------------------------------------

// Exact McNemar test on paired binary outcomes (e.g. each utterance right or wrong under models A
// and B). Only the discordant pairs carry information: b = A right and B wrong, c = A wrong and B
// right. Under H0 (both models equally often right) b ~ Binomial(b + c, 1/2); the two-sided p is
// min(1, 2 * P(X <= min(b, c))) (the binomial is symmetric, so this equals summing every outcome
// at most as likely as the observed one). b + c = 0 gives p = 1.
struct McNemarResult {
  int64_t a_only = 0;  // b: A right, B wrong
  int64_t b_only = 0;  // c: A wrong, B right
  int64_t both = 0;    // concordant right
  int64_t neither = 0;  // concordant wrong
  double p = 1.0;
};
McNemarResult mcnemar_exact(const std::vector<bool>& correct_a, const std::vector<bool>& correct_b);
// The p above from the discordant counts alone.
double mcnemar_exact_p(int64_t a_only, int64_t b_only);

// Welch's unequal-variance t-test of mean(B) - mean(A) (scipy.stats.ttest_ind(b, a,
// equal_var=False)): t = (mean_b - mean_a) / sqrt(s_a^2 / n_a + s_b^2 / n_b) with sample
// variances, Welch-Satterthwaite df = (s_a^2/n_a + s_b^2/n_b)^2 / ((s_a^2/n_a)^2/(n_a - 1) +
// (s_b^2/n_b)^2/(n_b - 1)), two-sided p = 2 P(T > |t|). Defined when both samples have n >= 2
// and not both variances are 0; otherwise t, df and p are NaN (`defined` false), as scipy gives.
struct WelchResult {
  int64_t n_a = 0, n_b = 0;
  double mean_a = 0.0, mean_b = 0.0;
  double std_a = 0.0, std_b = 0.0;  // sample std (n - 1)
  double difference = 0.0;          // mean_b - mean_a
  double t = 0.0, df = 0.0, p = 1.0;
  bool defined = false;
};
WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b);

// ---- Cluster bootstrap -----------------------------------------------------------------------

struct BootstrapOptions {
  int64_t resamples = 10000;
  double level = 0.95;  // confidence level of the percentile interval, in (0, 1)
  uint64_t seed = 0;    // std::mt19937_64 seed: the same seed gives the same intervals
};

// One statistic's bootstrap distribution summarised. The interval is the percentile interval:
// the (1 - level) / 2 and (1 + level) / 2 quantiles of the resampled values, linearly
// interpolated between order statistics (numpy.quantile's default). p is the two-sided percentile
// bootstrap p of "the statistic is 0": 2 * min(share of resamples <= 0, share >= 0), capped at 1
// (the smallest 1 - level whose interval would exclude 0; it never reads below 1 / resamples).
struct BootstrapInterval {
  double estimate = 0.0;  // the statistic on the original (not resampled) set
  double low = 0.0, high = 0.0;
  double p = 1.0;
  int64_t finite_resamples = 0;  // resamples whose value was finite (only these are summarised)
};

// The rows of a resampled set: indices into the caller's paired arrays, repeats allowed.
using ResampleRows = std::vector<int64_t>;
// K statistics of one resampled set at once (e.g. metric_B - metric_A for K metrics), so every
// statistic sees the same resamples. A non-finite value (e.g. a correlation of a constant
// resample) leaves that resample out of that statistic's summary.
using ResampleStatistic = std::function<std::vector<double>(const ResampleRows& rows)>;

// clusters: the resampling units, each a list of rows (every row of the data in exactly one
// cluster; rows of one dialogue for a cluster bootstrap, one row each for an item bootstrap).
// Each resample draws clusters.size() clusters uniformly with replacement and concatenates their
// rows. Returns one interval per statistic. merc::Error for no clusters, an empty cluster,
// resamples < 1, level outside (0, 1), or a statistic whose length changes between calls.
std::vector<BootstrapInterval> cluster_bootstrap(const std::vector<std::vector<int64_t>>& clusters,
                                                 const ResampleStatistic& statistic, const BootstrapOptions& options);

// Rows grouped by key in order of first appearance: clusters_by_key({"d1", "d1", "d2"}) =
// {{0, 1}, {2}}.
std::vector<std::vector<int64_t>> clusters_by_key(const std::vector<std::string>& keys);
// n clusters of one row each.
std::vector<std::vector<int64_t>> singleton_clusters(int64_t n);

}  // namespace merc::analysis
