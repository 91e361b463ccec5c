#pragma once
// T5's feed-forward sublayer (Hugging Face modeling_t5.py T5LayerFF with T5DenseActDense /
// T5DenseGatedActDense), pre-norm with a residual:
//   y = x + dropout( ff( rms_norm(x) ) )
//   ff (relu, t5-base):          wo( dropout( relu( wi x ) ) )
//   ff (gated-gelu, T5 v1.1):    wo( dropout( gelu_tanh( wi_0 x ) * wi_1 x ) )
// No biases anywhere (config.json feed_forward_proj "relu" | "gated-gelu"; d_ff the inner width).

#include <cstdint>
#include <iosfwd>
#include <string>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/t5/rms_norm.h"

namespace merc::nn::t5 {

struct FeedForwardOptions {
  int64_t d_model = 768;
  int64_t d_ff = 3072;
  std::string activation = "relu";  // relu | gated-gelu (config.json feed_forward_proj)
  double dropout = 0.1;
  double layer_norm_epsilon = 1e-6;
};

// The dense part: wi / wi_0, wi_1 and wo (Hugging Face `DenseReluDense`, for both activations).
class DenseActDenseImpl : public torch::nn::Cloneable<DenseActDenseImpl> {
 public:
  explicit DenseActDenseImpl(const FeedForwardOptions& options);
  void reset() override;
  // x (..., d_model) -> (..., d_model)
  torch::Tensor forward(const torch::Tensor& x);

  FeedForwardOptions options;
  torch::nn::Linear wi{nullptr}, wi_0{nullptr}, wi_1{nullptr}, wo{nullptr};  // wi: relu; wi_0, wi_1: gated
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(DenseActDense);

// Parameter names as Hugging Face's `<block>.layer.<i>.`: DenseReluDense.{wi | wi_0, wi_1, wo}.weight,
// layer_norm.weight.
class FeedForwardImpl : public torch::nn::Cloneable<FeedForwardImpl> {
 public:
  explicit FeedForwardImpl(const FeedForwardOptions& options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // x (..., d_model) -> (..., d_model)
  torch::Tensor forward(const torch::Tensor& x);

  FeedForwardOptions options;
  DenseActDense dense{nullptr};  // registered as "DenseReluDense"
  RmsNorm layer_norm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(FeedForward);

}  // namespace merc::nn::t5
