#pragma once
// ComP's dynamic gradient modulator (He, Zhu, Zhang, AAAI 2026, §"Dynamic Gradient Modulator";
// public code WenjueHE/2026-AAAI-ComP ComP/utils.py gradient_weight / gradient_weight_single and
// ComP/train_mr.py; method_reference.md §5.3).
//
// For the N selected utterances of a batch and each used modality m, an error Delta_m (N):
//   regression:     Delta_m = |yhat_m - y|                  (unimodal head output)
//   classification: Delta_m = |logit_m[y] - y|             (raw logit of the true class minus the
//                                                            class index, as the reference writes it;
//                                                            modulator_delta: released)
//                   Delta_m = 1 - softmax(logit_m)[y]       (modulator_delta: probability, an error
//                                                            in [0, 1] like the paper's |yhat - y|)
// Pair weight (gradient_weight_single):  W = Delta_m - Delta_n,  S = sum over the N rows of W,
//   pair(m, n) = (S - W) / (S + 1e-10)                       (N)
// Modality weight: W_m = mean over n != m of pair(m, n)     (the reference's (a + b) / 2 for three
//   modalities; 1 when only one modality is used)
// Per time position t: w_m[t] = mean of W_m over the batch's selected utterances at position t
//   (1 where none is selected). The gradient of prop_former_m's prototype Linear (S -> K) weight,
//   shape (K, S), is multiplied column t by w_m[t].
//
// Selected utterances: regression = label != 0 (which also drops padding), classification = real
// utterances.

#include <torch/types.h>

namespace merc::models::comp {

enum class DeltaMode { kReleased, kProbability };
// prediction (N), score (N) -> |prediction - score| (N).
torch::Tensor regression_delta(const torch::Tensor& prediction, const torch::Tensor& score);
// logits (N, C), label (N; negative = none, read as class 0, such rows are not selected) -> (N).
torch::Tensor classification_delta(const torch::Tensor& logits, const torch::Tensor& label, DeltaMode mode);
// delta_m, delta_n (N) -> (N).
torch::Tensor pair_weight(const torch::Tensor& delta_m, const torch::Tensor& delta_n);
// deltas (N, U) -> (N, U) modality weights.
torch::Tensor modality_weights(const torch::Tensor& deltas);
// deltas (B, S, U), selected (B, S) bool -> (U, S) per-position weights.
torch::Tensor position_weights(const torch::Tensor& deltas, const torch::Tensor& selected);
// Multiplies column t of grad (K, S) by weights[t] (S), in place.
void scale_gradient_columns(torch::Tensor& grad, const torch::Tensor& weights);

}  // namespace merc::models::comp
