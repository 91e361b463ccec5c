#include "merc/models/comp_modulator.h"

#include <torch/torch.h>

namespace merc::models::comp {

namespace {
constexpr double kSumEps = 1e-10;  // the reference's (sum + 1e-10) denominator
}

torch::Tensor regression_delta(const torch::Tensor& prediction, const torch::Tensor& score) {
  return (prediction - score).abs();
}

torch::Tensor classification_delta(const torch::Tensor& logits, const torch::Tensor& label, DeltaMode mode) {
  const auto y = label.clamp_min(0).unsqueeze(1);
  if (mode == DeltaMode::kProbability) return 1.0 - torch::softmax(logits, 1).gather(1, y).squeeze(1);
  return (logits.gather(1, y).squeeze(1) - label.to(logits.scalar_type())).abs();
}

torch::Tensor pair_weight(const torch::Tensor& delta_m, const torch::Tensor& delta_n) {
  const auto w = delta_m - delta_n;
  const auto s = w.sum();
  return (s - w) / (s + kSumEps);
}

torch::Tensor modality_weights(const torch::Tensor& deltas) {
  TORCH_CHECK(deltas.dim() == 2, "modality_weights: expected deltas (N, U), got ", deltas.sizes());
  const int64_t U = deltas.size(1);
  if (U == 1) return torch::ones_like(deltas);
  std::vector<torch::Tensor> cols;
  for (int64_t m = 0; m < U; ++m) {
    torch::Tensor acc = torch::zeros_like(deltas.select(1, m));
    for (int64_t n = 0; n < U; ++n)
      if (n != m) acc = acc + pair_weight(deltas.select(1, m), deltas.select(1, n));
    cols.push_back(acc / static_cast<double>(U - 1));
  }
  return torch::stack(cols, 1);
}

torch::Tensor position_weights(const torch::Tensor& deltas, const torch::Tensor& selected) {
  TORCH_CHECK(deltas.dim() == 3 && selected.dim() == 2 && deltas.size(0) == selected.size(0) &&
                  deltas.size(1) == selected.size(1),
              "position_weights: expected deltas (B, S, U) and selected (B, S), got ", deltas.sizes(), " and ",
              selected.sizes());
  const int64_t U = deltas.size(2), S = deltas.size(1);
  const auto flat_sel = selected.reshape({-1});
  const auto rows = deltas.reshape({-1, U}).index({flat_sel});  // (N, U) in row order b*S + t
  auto expanded = torch::ones_like(deltas.reshape({-1, U}));
  if (rows.size(0) > 0) expanded.index_put_({flat_sel}, modality_weights(rows));
  const auto sel = selected.to(deltas.scalar_type()).unsqueeze(-1);          // (B, S, 1)
  const auto num = (expanded.reshape({-1, S, U}) * sel).sum(0);             // (S, U)
  const auto cnt = sel.sum(0);                                               // (S, 1)
  const auto w = torch::where(cnt > 0, num / cnt.clamp_min(1.0), torch::ones_like(num));
  return w.t().contiguous();  // (U, S)
}

void scale_gradient_columns(torch::Tensor& grad, const torch::Tensor& weights) {
  TORCH_CHECK(grad.dim() == 2 && weights.dim() == 1 && grad.size(1) == weights.size(0),
              "scale_gradient_columns: expected grad (K, S) and weights (S), got ", grad.sizes(), " and ",
              weights.sizes());
  grad.mul_(weights.unsqueeze(0));
}

}  // namespace merc::models::comp
