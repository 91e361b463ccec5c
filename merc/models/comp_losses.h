#pragma once
// ComP's loss terms (He, Zhu, Zhang, AAAI 2026; public code WenjueHE/2026-AAAI-ComP ComP/loss.py
// and ComP/train_mr.py; method_reference.md §5.3). All inputs are flattened over the padded
// (B, S) positions: N = B * S rows, `mask` (N) bool = real utterances.
//
//   masked_ce(logits, y)     = mean over real rows of -log_softmax(logits)[y]   (MaskedCELoss)
//   masked_mse(pred, y)      = mean over real rows of (pred - y)^2              (MaskedMSELoss)
//   abs_cosine_mean(x, y)    = sum_r mask_r |cos(x_r, y_r)| / max(sum mask, 1e-6)
//   jsd_sigmoid(s_i, s_j)    = 1/(2N) sum_{r, d} [p log(p / m) + q log(q / m)],  p = sigmoid(s_i),
//                              q = sigmoid(s_j), m = (p + q) / 2, over ALL N rows incl. padding
//   disentangle              = sum over modality pairs i < j of
//                              |cos(p_i, p_j)| + |cos(p_i, s_i)| + |cos(p_j, s_j)| + JSD(s_i, s_j)
//                              (DisentangledLoss.foward_2, p = private, s = shared features)
//
// With no real row, masked_ce / masked_mse return 0 (the reference divides by 0 and gets NaN in
// stage 1; its stage-2 CE replaces NaN by 0).

#include <vector>

#include <torch/types.h>

namespace merc::models::comp {

// logits (N, C), target (N) int64 (any value where !mask), mask (N) bool -> scalar.
torch::Tensor masked_ce(const torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor& mask);
// pred (N) or (N, 1), target (N) float (any finite value where !mask), mask (N) bool -> scalar.
torch::Tensor masked_mse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& mask);
// x, y (N, D), mask (N) bool -> scalar.
torch::Tensor abs_cosine_mean(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& mask);
// s_i, s_j (N, D) raw shared features -> scalar.
torch::Tensor jsd_sigmoid(const torch::Tensor& s_i, const torch::Tensor& s_j);

struct DisentangleTerms {
  torch::Tensor cosine;  // sum of the three |cos| terms over pairs
  torch::Tensor jsd;     // sum of the JSD terms over pairs
  torch::Tensor total() const { return cosine + jsd; }
};
// privates[m], shareds[m]: (N, D) of the used modalities in the reference's order (a, t, v).
DisentangleTerms disentangle_loss(const std::vector<torch::Tensor>& privates, const std::vector<torch::Tensor>& shareds,
                                  const torch::Tensor& mask);

}  // namespace merc::models::comp
