#include "merc/nn/loss/masked_reconstruction_loss.h"

#include <numeric>

#include <c10/util/Exception.h>

namespace merc::nn {

torch::Tensor masked_reconstruction_loss(const torch::Tensor& recon, const torch::Tensor& target,
                                         const torch::Tensor& missing, const std::vector<int64_t>& block_dims,
                                         const torch::Tensor& row_mask) {
  const int64_t D = std::accumulate(block_dims.begin(), block_dims.end(), int64_t{0});
  const auto K = static_cast<int64_t>(block_dims.size());
  TORCH_CHECK(K > 0, "masked_reconstruction_loss: no blocks");
  for (int64_t d : block_dims) TORCH_CHECK(d > 0, "masked_reconstruction_loss: block widths must be positive, got ", d);
  TORCH_CHECK(recon.dim() == 3 && recon.size(2) == D, "masked_reconstruction_loss: expected recon (B, T, ", D,
              "), got ", recon.sizes());
  TORCH_CHECK(target.sizes() == recon.sizes(), "masked_reconstruction_loss: target has shape ", target.sizes(),
              " but recon has ", recon.sizes());
  TORCH_CHECK(missing.dim() == 3 && missing.size(0) == recon.size(0) && missing.size(1) == recon.size(1) &&
                  missing.size(2) == K,
              "masked_reconstruction_loss: expected missing (", recon.size(0), ", ", recon.size(1), ", ", K,
              "), got ", missing.sizes());
  TORCH_CHECK(row_mask.dim() == 2 && row_mask.size(0) == recon.size(0) && row_mask.size(1) == recon.size(1),
              "masked_reconstruction_loss: expected row_mask (", recon.size(0), ", ", recon.size(1), "), got ",
              row_mask.sizes());
  const torch::Tensor rows = row_mask.to(recon.dtype()).unsqueeze(-1);  // (B, T, 1)
  const torch::Tensor miss = missing.to(recon.dtype());
  torch::Tensor total = torch::zeros({}, recon.options());
  int64_t start = 0;
  for (int64_t k = 0; k < K; ++k) {
    const int64_t d = block_dims[static_cast<size_t>(k)];
    const torch::Tensor weight = rows * miss.narrow(2, k, 1);  // (B, T, 1): 1 where counted and missing
    // The 0/1 weight multiplies the difference, so an excluded entry adds exactly 0 and gets an
    // exactly zero gradient.
    const torch::Tensor diff = (recon.narrow(2, start, d) - target.narrow(2, start, d)) * weight;
    total = total + diff.pow(2).sum() / static_cast<double>(d);
    start += d;
  }
  const torch::Tensor count = rows.sum();
  return torch::where(count > 0, total / count.clamp_min(1), torch::zeros_like(total));
}

}  // namespace merc::nn
