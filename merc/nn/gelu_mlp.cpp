#include "merc/nn/gelu_mlp.h"

#include <ostream>

#include <torch/nn/functional/activation.h>

namespace merc::nn {

GeluMlpImpl::GeluMlpImpl(GeluMlpOptions options_) : options(options_) { reset(); }

void GeluMlpImpl::reset() {
  TORCH_CHECK(options.in_dim() > 0 && options.hidden_dim() > 0 && options.out_dim() > 0,
              "GeluMlp: widths must be positive, got ", options.in_dim(), " -> ", options.hidden_dim(), " -> ",
              options.out_dim());
  TORCH_CHECK(options.dropout() >= 0 && options.dropout() < 1, "GeluMlp: dropout must be in [0, 1), got ",
              options.dropout());
  fc1 = register_module("fc1", torch::nn::Linear(options.in_dim(), options.hidden_dim()));
  fc2 = register_module("fc2", torch::nn::Linear(options.hidden_dim(), options.out_dim()));
  drop = register_module("drop", Dropout(options.dropout()));
}

void GeluMlpImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::GeluMlp(" << options.in_dim() << " -> " << options.hidden_dim() << " -> " << options.out_dim()
         << ", dropout=" << options.dropout() << ")";
}

torch::Tensor GeluMlpImpl::forward(const torch::Tensor& x) { return drop(fc2(drop(torch::gelu(fc1(x))))); }

}  // namespace merc::nn
