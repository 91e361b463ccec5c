#include "merc/nn/t5/rms_norm.h"

#include <ostream>

#include "merc/core/error.h"

namespace merc::nn::t5 {

RmsNormImpl::RmsNormImpl(int64_t dim_, double eps_) : dim(dim_), eps(eps_) { reset(); }

void RmsNormImpl::reset() {
  MERC_CHECK(dim >= 1 && eps >= 0.0, "RmsNorm: dim must be >= 1 and eps >= 0, got {} and {}", dim, eps);
  weight = register_parameter("weight", torch::ones({dim}));
}

void RmsNormImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::t5::RmsNorm(" << dim << ", eps=" << eps << ")";
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  MERC_CHECK(x.dim() >= 1 && x.size(-1) == dim, "RmsNorm: expected (..., {}), got {}", dim, x.sizes());
  // Accumulate in at least float32: half-precision squares overflow and lose the small terms.
  const auto acc = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const torch::Tensor variance = x.to(acc).pow(2).mean(-1, /*keepdim=*/true);
  torch::Tensor y = x.to(acc) * torch::rsqrt(variance + eps);
  const auto wt = weight.scalar_type();
  if (wt == torch::kHalf || wt == torch::kBFloat16) y = y.to(wt);
  return weight * y;
}

}  // namespace merc::nn::t5
