#include "merc/metrics/sentiment.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "merc/core/error.h"
#include "merc/metrics/classification.h"

namespace merc::metrics {
namespace {

constexpr double kSentimentNaN = std::numeric_limits<double>::quiet_NaN();

double mean_absolute_error(const std::vector<double>& p, const std::vector<double>& t) {
  if (p.empty()) return kSentimentNaN;
  double sum = 0.0;
  for (size_t i = 0; i < p.size(); ++i) sum += std::fabs(p[i] - t[i]);
  return sum / static_cast<double>(p.size());
}

// Fraction of samples whose rounded, clipped prediction equals the rounded, clipped truth.
double clipped_rounded_agreement(const std::vector<double>& p, const std::vector<double>& t,
                                 double bound) {
  int64_t hits = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double rp = round_half_even(std::clamp(p[i], -bound, bound));
    const double rt = round_half_even(std::clamp(t[i], -bound, bound));
    if (rp == rt) ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(p.size());
}

struct BinaryScores {
  double accuracy = kSentimentNaN;
  double weighted_f1 = kSentimentNaN;
};

// accuracy_score and f1_score(average='weighted') of two boolean labelings (class 1 = true).
BinaryScores binary_scores(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  if (truth.empty()) return {};
  const ClassificationReport r = classification_report(truth, pred, 2);
  return {r.accuracy, r.weighted_f1};
}

}  // namespace

double round_half_even(double x) {
  if (!std::isfinite(x)) return x;
  const double lower = std::floor(x);
  const double fraction = x - lower;  // exact: x and floor(x) are within 1 of each other
  if (fraction < 0.5) return lower;
  if (fraction > 0.5) return lower + 1.0;
  return std::fmod(lower, 2.0) == 0.0 ? lower : lower + 1.0;
}

double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  MERC_CHECK(x.size() == y.size(), "pearson_correlation: {} vs {} values", x.size(), y.size());
  const size_t n = x.size();
  if (n < 2) return kSentimentNaN;  // numpy: degrees of freedom <= 0 -> nan
  double mx = 0.0, my = 0.0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxx = 0.0, syy = 0.0, sxy = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx;
    const double dy = y[i] - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  // Same order of operations as np.corrcoef: covariances (/(n-1)), divide by each stddev in turn.
  const double dof = static_cast<double>(n - 1);
  const double sx = std::sqrt(sxx / dof);
  const double sy = std::sqrt(syy / dof);
  if (sx == 0.0 || sy == 0.0) return kSentimentNaN;  // 0/0 in numpy
  const double r = sxy / dof / sx / sy;
  return std::clamp(r, -1.0, 1.0);
}

SentimentScores sentiment_scores(const std::vector<double>& predictions,
                                 const std::vector<double>& truths,
                                 const std::vector<bool>* mask) {
  MERC_CHECK(predictions.size() == truths.size(),
             "sentiment metrics: {} predictions but {} truths", predictions.size(), truths.size());
  MERC_CHECK(mask == nullptr || mask->size() == truths.size(),
             "sentiment metrics: mask has {} entries for {} samples",
             mask ? mask->size() : 0, truths.size());
  std::vector<double> p, t;            // all kept samples
  std::vector<double> p_non0, t_non0;  // kept samples with truth != 0
  for (size_t i = 0; i < truths.size(); ++i) {
    if (mask != nullptr && !(*mask)[i]) continue;
    MERC_CHECK(std::isfinite(predictions[i]),
               "sentiment metrics: prediction {} is {} (did training diverge?)", i,
               predictions[i]);
    MERC_CHECK(std::isfinite(truths[i]), "sentiment metrics: truth {} is {}", i, truths[i]);
    p.push_back(predictions[i]);
    t.push_back(truths[i]);
    if (truths[i] != 0.0) {
      p_non0.push_back(predictions[i]);
      t_non0.push_back(truths[i]);
    }
  }
  MERC_CHECK(!p.empty(), "sentiment metrics: no samples ({} given, all masked out)",
             truths.size());

  SentimentScores s;
  s.num_samples = static_cast<int64_t>(p.size());
  s.num_non_zero = static_cast<int64_t>(p_non0.size());

  // Non-zero subset: positive = strictly > 0 for truth and prediction.
  std::vector<int64_t> bin_t, bin_p;
  for (size_t i = 0; i < p_non0.size(); ++i) {
    bin_t.push_back(t_non0[i] > 0.0 ? 1 : 0);
    bin_p.push_back(p_non0[i] > 0.0 ? 1 : 0);
  }
  const BinaryScores non0 = binary_scores(bin_t, bin_p);
  s.acc2 = non0.accuracy;
  s.f1 = non0.weighted_f1;

  // Has-0: all samples, positive = >= 0 (a score of exactly 0 counts as positive).
  bin_t.clear();
  bin_p.clear();
  for (size_t i = 0; i < p.size(); ++i) {
    bin_t.push_back(t[i] >= 0.0 ? 1 : 0);
    bin_p.push_back(p[i] >= 0.0 ? 1 : 0);
  }
  const BinaryScores has0 = binary_scores(bin_t, bin_p);
  s.acc2_has0 = has0.accuracy;
  s.f1_has0 = has0.weighted_f1;

  s.acc5 = clipped_rounded_agreement(p, t, 2.0);
  s.acc7 = clipped_rounded_agreement(p, t, 3.0);
  s.mae = mean_absolute_error(p, t);
  s.corr = pearson_correlation(p, t);
  s.mae_non0 = mean_absolute_error(p_non0, t_non0);
  s.corr_non0 = pearson_correlation(p_non0, t_non0);
  return s;
}

MetricValues sentiment_metrics(const SentimentScores& s) {
  MetricValues v;
  v.set("acc2", 100.0 * s.acc2);
  v.set("f1", 100.0 * s.f1);
  v.set("acc2_has0", 100.0 * s.acc2_has0);
  v.set("f1_has0", 100.0 * s.f1_has0);
  v.set("acc5", 100.0 * s.acc5);
  v.set("acc7", 100.0 * s.acc7);
  v.set("mae", s.mae);
  v.set("corr", s.corr);
  v.set("mae_non0", s.mae_non0);
  v.set("corr_non0", s.corr_non0);
  return v;
}

}  // namespace merc::metrics
