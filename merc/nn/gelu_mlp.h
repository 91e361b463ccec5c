#pragma once
// GeluMlp: the two-layer perceptron of the timm/ViT family that MoMKE and ComP use everywhere
// (their `Mlp`): Linear(in, hidden) -> GELU -> Dropout -> Linear(hidden, out) -> Dropout, one
// dropout rate for both places. Applied to the last axis of any (..., in) tensor.

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/dropout.h"

namespace merc::nn {

struct GeluMlpOptions {
  GeluMlpOptions(int64_t in_dim, int64_t hidden_dim, int64_t out_dim)
      : in_dim_(in_dim), hidden_dim_(hidden_dim), out_dim_(out_dim) {}
  TORCH_ARG(int64_t, in_dim);
  TORCH_ARG(int64_t, hidden_dim);
  TORCH_ARG(int64_t, out_dim);
  TORCH_ARG(double, dropout) = 0.0;
};

class GeluMlpImpl : public torch::nn::Cloneable<GeluMlpImpl> {
 public:
  explicit GeluMlpImpl(GeluMlpOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // x: (..., in_dim) -> (..., out_dim).
  torch::Tensor forward(const torch::Tensor& x);

  GeluMlpOptions options;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Dropout drop{nullptr};  // merc::nn::Dropout (nn/dropout.h)
};
TORCH_MODULE(GeluMlp);

}  // namespace merc::nn
