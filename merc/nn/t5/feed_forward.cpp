#include "merc/nn/t5/feed_forward.h"

#include <ostream>

#include "merc/core/error.h"

namespace merc::nn::t5 {

namespace feed_forward_detail {
torch::nn::Linear no_bias(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}
}  // namespace feed_forward_detail

DenseActDenseImpl::DenseActDenseImpl(const FeedForwardOptions& o) : options(o) { reset(); }

void DenseActDenseImpl::reset() {
  using feed_forward_detail::no_bias;
  MERC_CHECK(options.activation == "relu" || options.activation == "gated-gelu",
             "t5 FeedForward: activation must be relu or gated-gelu, got '{}'", options.activation);
  MERC_CHECK(options.d_model >= 1 && options.d_ff >= 1, "t5 FeedForward: d_model and d_ff must be >= 1, got {} and {}",
             options.d_model, options.d_ff);
  if (options.activation == "relu") {
    wi = register_module("wi", no_bias(options.d_model, options.d_ff));
  } else {
    wi_0 = register_module("wi_0", no_bias(options.d_model, options.d_ff));
    wi_1 = register_module("wi_1", no_bias(options.d_model, options.d_ff));
  }
  wo = register_module("wo", no_bias(options.d_ff, options.d_model));
  dropout = register_module("dropout", torch::nn::Dropout(options.dropout));
}

torch::Tensor DenseActDenseImpl::forward(const torch::Tensor& x) {
  // gelu_new of the reference = the tanh approximation.
  const torch::Tensor hidden =
      wi ? torch::relu(wi(x)) : torch::gelu(wi_0(x), /*approximate=*/"tanh") * wi_1(x);
  return wo(dropout(hidden));
}

FeedForwardImpl::FeedForwardImpl(const FeedForwardOptions& o) : options(o) { reset(); }

void FeedForwardImpl::reset() {
  dense = register_module("DenseReluDense", DenseActDense(options));
  layer_norm = register_module("layer_norm", RmsNorm(options.d_model, options.layer_norm_epsilon));
  dropout = register_module("dropout", torch::nn::Dropout(options.dropout));
}

void FeedForwardImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::t5::FeedForward(" << options.d_model << " -> " << options.d_ff << " -> " << options.d_model
         << ", " << options.activation << ")";
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  MERC_CHECK(x.dim() >= 1 && x.size(-1) == options.d_model, "t5 FeedForward: expected (..., {}), got {}",
             options.d_model, x.sizes());
  return x + dropout(dense(layer_norm(x)));
}

}  // namespace merc::nn::t5
