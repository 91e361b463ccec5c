#pragma once
// T5's layer norm (Hugging Face modeling_t5.py T5LayerNorm; Zhang & Sennrich 2019 "Root Mean
// Square Layer Normalization"): scale only, no mean subtraction and no bias:
//   y = weight * x / sqrt(mean(x^2 over the last dim) + eps)
// The variance is accumulated in float32 even for half inputs, and the result is cast back to the
// weight's dtype when that is half precision, as the reference does. Weight initialised to ones.

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn::t5 {

class RmsNormImpl : public torch::nn::Cloneable<RmsNormImpl> {
 public:
  explicit RmsNormImpl(int64_t dim, double eps = 1e-6);  // config.json layer_norm_epsilon
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // x (..., dim) -> (..., dim)
  torch::Tensor forward(const torch::Tensor& x);

  int64_t dim;
  double eps;
  torch::Tensor weight;  // (dim); Hugging Face name `<layer>.layer_norm.weight`
};
TORCH_MODULE(RmsNorm);

}  // namespace merc::nn::t5
