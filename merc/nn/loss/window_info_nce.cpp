#include "merc/nn/loss/window_info_nce.h"

#include <limits>

#include "merc/core/error.h"

namespace merc::nn {

torch::Tensor window_info_nce(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask,
                              const WindowInfoNceOptions& options) {
  MERC_CHECK(a.dim() == 3 && a.sizes() == b.sizes(), "window InfoNCE: a and b must be the same (N, S, D), got {} and {}",
             a.sizes(), b.sizes());
  const int64_t N = a.size(0), S = a.size(1);
  MERC_CHECK(mask.sizes() == torch::IntArrayRef({N, S}) && mask.scalar_type() == torch::kBool,
             "window InfoNCE: mask must be bool ({}, {}), got {}", N, S, mask.sizes());
  MERC_CHECK(options.temperature > 0, "window InfoNCE: temperature must be positive, got {}", options.temperature);
  if (N == 0) return a.sum() * 0;
  torch::Tensor counted = mask;
  if (options.exclude_current) {
    const torch::Tensor size = mask.sum(1, true);  // (N, 1)
    counted = mask & (torch::arange(S, size.options()).unsqueeze(0) != size - 1);
  }
  const torch::Tensor f = torch::cat({a, b}, 1);                                       // (N, 2S, D)
  const torch::Tensor unit = f / f.norm(2, -1, true).clamp_min(1e-8);
  const torch::Tensor sim = torch::matmul(unit, unit.transpose(1, 2)) / options.temperature;  // (N, 2S, 2S)
  const torch::Tensor valid = torch::cat({counted, counted}, 1);                         // (N, 2S)
  const auto eye = torch::eye(2 * S, valid.options());
  // log sum_{b != a} exp(sim) with the other anchors' entries at -inf. The rows of anchors that do
  // not count stay finite (they are dropped below), so no NaN can reach a gradient.
  const torch::Tensor in_denominator =
      (valid.unsqueeze(1) & ~eye.unsqueeze(0)) | ~valid.unsqueeze(2);                    // (N, 2S, 2S)
  const double inf = std::numeric_limits<double>::infinity();
  const torch::Tensor log_denominator = torch::logsumexp(sim.masked_fill(~in_denominator, -inf), 2);  // (N, 2S)
  const torch::Tensor partner = torch::cat({torch::arange(S, S * 2), torch::arange(0, S)}).to(sim.device());
  const torch::Tensor positive = sim.gather(2, partner.view({1, 2 * S, 1}).expand({N, 2 * S, 1})).squeeze(2);
  const torch::Tensor per_anchor = torch::where(valid, log_denominator - positive, torch::zeros_like(positive));
  return per_anchor.sum() / static_cast<double>(N);
}

}  // namespace merc::nn
