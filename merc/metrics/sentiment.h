#pragma once
// Sentiment-regression metrics for CMU-MOSI / CMU-MOSEI (scores in [-3, 3]) as this field computes
// them (method_reference.md §2.2). Pure C++ (no torch).
//
// Sources of the conventions:
//  * MMSA `MetricsTop.__eval_mosei_regression` (thuiar/MMSA src/MMSA/utils/metricsTop.py; RoHyDR
//    uses the same file):
//      acc7 = mean(round(clip(yhat,-3,3)) == round(clip(y,-3,3)))   (np.round: half to EVEN)
//      acc5 = the same with clip(-2, 2)
//      mae  = mean|yhat - y|,  corr = np.corrcoef(yhat, y)[0][1]      over ALL samples
//      Non0_acc_2 / Non0_F1_score -> our acc2 / f1: samples with y != 0 only, classes (y > 0) vs
//        (yhat > 0); acc = accuracy_score, f1 = f1_score(truth, pred, average='weighted')
//      Has0_acc_2 / Has0_F1_score -> our acc2_has0 / f1_has0: all samples, classes (y >= 0) vs
//        (yhat >= 0)
//  * GCNet / MoMKE / ComP compute acc2, f1, MAE and Corr all on the y != 0 subset: our acc2, f1,
//    mae_non0, corr_non0.
// The weighted F1 goes through classification_report, so sklearn's label convention holds: when
// truth and predictions contain only one of the two classes, the average is over that class.
//
// Numerical decisions (documented because they can differ from a given Python run):
//  * Everything is computed in double. MMSA feeds float32 arrays, so its mae/corr carry float32
//    rounding (~1e-7 relative); accuracies and F1 are identical (comparisons and rounding of
//    float32 values are exact in double).
//  * Pearson r with fewer than 2 samples or with a zero-variance input is NaN, as numpy's corrcoef
//    returns (with a RuntimeWarning) — never a crash, never a made-up 0.
//  * When no sample has y != 0 the non-zero metrics (acc2, f1, mae_non0, corr_non0) are NaN.

#include <cstdint>
#include <vector>

#include "merc/metrics/metric_values.h"

namespace merc::metrics {

// Values as fractions (accuracies, F1 in [0, 1]) like the Python code returns them;
// sentiment_metrics() gives the contract names in percent.
struct SentimentScores {
  double acc2 = 0.0;       // y != 0 subset, (y > 0) vs (yhat > 0)
  double f1 = 0.0;         // weighted F1 of the same
  double acc2_has0 = 0.0;  // all samples, (y >= 0) vs (yhat >= 0)
  double f1_has0 = 0.0;    // weighted F1 of the same
  double acc5 = 0.0;       // round(clip(., -2, 2)) agreement
  double acc7 = 0.0;       // round(clip(., -3, 3)) agreement
  double mae = 0.0;        // all samples
  double corr = 0.0;       // Pearson r, all samples
  double mae_non0 = 0.0;   // y != 0 subset
  double corr_non0 = 0.0;  // y != 0 subset
  int64_t num_samples = 0;   // after the mask
  int64_t num_non_zero = 0;  // samples with y != 0
};

// predictions and truths: N scores each (N >= 1 after masking). mask (optional, N entries): false
// drops the sample from every metric (padding, unlabelled). Throws merc::Error for length
// mismatches, no sample left, or a non-finite prediction / truth (naming its index and value:
// a NaN prediction usually means training diverged, and numbers from it would be garbage).
SentimentScores sentiment_scores(const std::vector<double>& predictions,
                                 const std::vector<double>& truths,
                                 const std::vector<bool>* mask = nullptr);

// Contract names in this order: acc2, f1, acc2_has0, f1_has0, acc5, acc7 (percent), mae, corr,
// mae_non0, corr_non0 (raw).
MetricValues sentiment_metrics(const SentimentScores& scores);

// numpy's np.round / np.rint for one value: nearest integer, ties to even (2.5 -> 2, -0.5 -> 0,
// 3.5 -> 4). Independent of the floating-point rounding mode.
double round_half_even(double x);

// np.corrcoef(x, y)[0][1]: covariance / (std_x * std_y), clipped to [-1, 1]; NaN for n < 2 or a
// zero variance. Throws merc::Error when the lengths differ.
double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace merc::metrics
