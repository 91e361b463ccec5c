#include "merc/nn/loss/masked_mean.h"

#include <torch/torch.h>

namespace merc::nn {

torch::Tensor masked_mean(const torch::Tensor& per_row, const torch::Tensor& mask) {
  TORCH_CHECK(per_row.dim() == 1 && mask.dim() == 1 && per_row.size(0) == mask.size(0) &&
                  mask.scalar_type() == torch::kBool,
              "masked_mean: expected per_row (N) and bool mask (N), got ", per_row.sizes(), " and ",
              mask.scalar_type(), " ", mask.sizes());
  const torch::Tensor kept = torch::where(mask, per_row, torch::zeros_like(per_row));
  return kept.sum() / mask.to(per_row.scalar_type()).sum().clamp_min(1.0);
}

}  // namespace merc::nn
