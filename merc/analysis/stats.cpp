#include "merc/analysis/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <unordered_map>

#include "merc/core/error.h"

namespace merc::analysis {

namespace stats_detail {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// NR betacf: the continued fraction of I_x(a, b) by the modified Lentz method (NR 3rd ed. §5.2,
// §6.4). Converges quickly for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr int kMaxIterations = 300;
  constexpr double kEps = 1e-15;     // relative change of the last factor that counts as converged
  constexpr double kTiny = 1e-300;   // stands in for a zero denominator (Lentz)
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double m2 = 2.0 * m;
    // Even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)).
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    // Odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < kEps) return h;
  }
  throw Error(fmt::format("regularized_incomplete_beta({}, {}, {}): the continued fraction did not converge in {} "
                          "iterations", a, b, x, kMaxIterations));
}

// Linear interpolation between order statistics of sorted values (numpy.quantile, method
// "linear"): position q * (n - 1).
double sorted_quantile(const std::vector<double>& sorted, double q) {
  const double h = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// A uniform index in [0, n) without modulo bias (rejection of the top partial block), so the
// draws depend only on the mt19937_64 stream, which the standard fixes, not on a library's
// distribution implementation.
int64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t r = rng();
  while (r >= limit) r = rng();
  return static_cast<int64_t>(r % n);
}

BootstrapInterval summarize_resamples(double estimate, std::vector<double> values, double level) {
  BootstrapInterval out;
  out.estimate = estimate;
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
               values.end());
  out.finite_resamples = static_cast<int64_t>(values.size());
  if (values.empty()) {
    out.low = out.high = out.p = kNaN;
    return out;
  }
  std::sort(values.begin(), values.end());
  out.low = sorted_quantile(values, (1.0 - level) / 2.0);
  out.high = sorted_quantile(values, (1.0 + level) / 2.0);
  const auto n = static_cast<double>(values.size());
  const double at_most_0 = static_cast<double>(std::upper_bound(values.begin(), values.end(), 0.0) - values.begin());
  const double at_least_0 = static_cast<double>(values.end() - std::lower_bound(values.begin(), values.end(), 0.0));
  out.p = std::min(1.0, 2.0 * std::min(at_most_0, at_least_0) / n);
  out.p = std::max(out.p, 1.0 / n);
  return out;
}

}  // namespace stats_detail

double mean(const std::vector<double>& x) {
  if (x.empty()) return stats_detail::kNaN;
  double s = 0.0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

double sample_std(const std::vector<double>& x) {
  if (x.size() < 2) return stats_detail::kNaN;
  const double m = mean(x);
  double ss = 0.0;
  for (double v : x) ss += (v - m) * (v - m);
  return std::sqrt(ss / static_cast<double>(x.size() - 1));
}

double regularized_incomplete_beta(double a, double b, double x) {
  MERC_CHECK(a > 0 && b > 0 && x >= 0 && x <= 1,
             "regularized_incomplete_beta(a={}, b={}, x={}): expected a > 0, b > 0 and 0 <= x <= 1", a, b, x);
  if (x == 0.0 || x == 1.0) return x;
  // log of x^a (1 - x)^b / B(a, b), the prefactor of the continued fraction.
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(log_front) * stats_detail::beta_continued_fraction(a, b, x) / a;
  return 1.0 - std::exp(log_front) * stats_detail::beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double t, double df) {
  MERC_CHECK(df > 0, "student_t_cdf: degrees of freedom must be > 0, got {}", df);
  if (std::isnan(t)) return stats_detail::kNaN;
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
  return t > 0 ? 1.0 - tail : tail;
}

double mcnemar_exact_p(int64_t a_only, int64_t b_only) {
  MERC_CHECK(a_only >= 0 && b_only >= 0, "mcnemar_exact_p: negative counts {} and {}", a_only, b_only);
  const int64_t n = a_only + b_only;
  if (n == 0) return 1.0;
  const int64_t k = std::min(a_only, b_only);
  // P(X <= k) for X ~ Binomial(n, 1/2), each term C(n, i) 2^-n in log space (n may be thousands).
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  const double lg_n1 = std::lgamma(static_cast<double>(n) + 1.0);
  double cdf = 0.0;
  for (int64_t i = 0; i <= k; ++i)
    cdf += std::exp(lg_n1 - std::lgamma(static_cast<double>(i) + 1.0) - std::lgamma(static_cast<double>(n - i) + 1.0) +
                    log_half_n);
  return std::min(1.0, 2.0 * cdf);
}

McNemarResult mcnemar_exact(const std::vector<bool>& correct_a, const std::vector<bool>& correct_b) {
  MERC_CHECK(correct_a.size() == correct_b.size(), "mcnemar_exact: {} outcomes for A but {} for B (must be paired)",
             correct_a.size(), correct_b.size());
  McNemarResult r;
  for (size_t i = 0; i < correct_a.size(); ++i) {
    if (correct_a[i] && correct_b[i]) ++r.both;
    else if (correct_a[i]) ++r.a_only;
    else if (correct_b[i]) ++r.b_only;
    else ++r.neither;
  }
  r.p = mcnemar_exact_p(r.a_only, r.b_only);
  return r;
}

WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  WelchResult r;
  r.n_a = static_cast<int64_t>(a.size());
  r.n_b = static_cast<int64_t>(b.size());
  r.mean_a = mean(a);
  r.mean_b = mean(b);
  r.std_a = sample_std(a);
  r.std_b = sample_std(b);
  r.difference = r.mean_b - r.mean_a;
  r.t = r.df = r.p = stats_detail::kNaN;
  if (r.n_a < 2 || r.n_b < 2) return r;
  const double va = r.std_a * r.std_a / static_cast<double>(r.n_a);
  const double vb = r.std_b * r.std_b / static_cast<double>(r.n_b);
  if (va + vb == 0.0) return r;
  r.t = r.difference / std::sqrt(va + vb);
  r.df = (va + vb) * (va + vb) / (va * va / static_cast<double>(r.n_a - 1) + vb * vb / static_cast<double>(r.n_b - 1));
  r.p = regularized_incomplete_beta(r.df / 2.0, 0.5, r.df / (r.df + r.t * r.t));
  r.defined = true;
  return r;
}

std::vector<BootstrapInterval> cluster_bootstrap(const std::vector<std::vector<int64_t>>& clusters,
                                                 const ResampleStatistic& statistic, const BootstrapOptions& options) {
  MERC_CHECK(!clusters.empty(), "cluster_bootstrap: no clusters to resample");
  MERC_CHECK(options.resamples >= 1, "cluster_bootstrap: resamples must be >= 1, got {}", options.resamples);
  MERC_CHECK(options.level > 0 && options.level < 1, "cluster_bootstrap: level must be in (0, 1), got {}",
             options.level);
  ResampleRows all;
  for (size_t k = 0; k < clusters.size(); ++k) {
    MERC_CHECK(!clusters[k].empty(), "cluster_bootstrap: cluster {} has no rows", k);
    all.insert(all.end(), clusters[k].begin(), clusters[k].end());
  }
  const std::vector<double> estimate = statistic(all);
  std::vector<std::vector<double>> values(estimate.size());
  for (auto& v : values) v.reserve(static_cast<size_t>(options.resamples));
  std::mt19937_64 rng(options.seed);
  ResampleRows rows;
  rows.reserve(all.size() * 2);
  for (int64_t r = 0; r < options.resamples; ++r) {
    rows.clear();
    for (size_t k = 0; k < clusters.size(); ++k) {
      const auto& c = clusters[static_cast<size_t>(stats_detail::uniform_index(rng, clusters.size()))];
      rows.insert(rows.end(), c.begin(), c.end());
    }
    const std::vector<double> s = statistic(rows);
    MERC_CHECK(s.size() == estimate.size(), "cluster_bootstrap: the statistic returned {} values on resample {} but "
               "{} on the original set", s.size(), r, estimate.size());
    for (size_t j = 0; j < s.size(); ++j) values[j].push_back(s[j]);
  }
  std::vector<BootstrapInterval> out;
  for (size_t j = 0; j < estimate.size(); ++j)
    out.push_back(stats_detail::summarize_resamples(estimate[j], std::move(values[j]), options.level));
  return out;
}

std::vector<std::vector<int64_t>> clusters_by_key(const std::vector<std::string>& keys) {
  std::vector<std::vector<int64_t>> out;
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto [it, fresh] = index.emplace(keys[i], out.size());
    if (fresh) out.emplace_back();
    out[it->second].push_back(static_cast<int64_t>(i));
  }
  return out;
}

std::vector<std::vector<int64_t>> singleton_clusters(int64_t n) {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = {i};
  return out;
}

}  // namespace merc::analysis
