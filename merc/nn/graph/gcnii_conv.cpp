#include "merc/nn/graph/gcnii_conv.h"

#include <cmath>
#include <ostream>

#include <c10/util/Exception.h>
#include <torch/nn/init.h>

namespace merc::nn {

double gcnii_theta(double lambda, int64_t layer) {
  TORCH_CHECK(layer >= 1, "gcnii_theta: layer index must be >= 1, got ", layer);
  return std::log(lambda / static_cast<double>(layer) + 1.0);
}

GcniiConvImpl::GcniiConvImpl(GcniiConvOptions options_) : options(std::move(options_)) { reset(); }

void GcniiConvImpl::reset() {
  TORCH_CHECK(options.hidden_dim() > 0, "GcniiConv: hidden_dim must be positive, got ", options.hidden_dim());
  const int64_t in = options.variant() ? 2 * options.hidden_dim() : options.hidden_dim();
  weight = register_parameter("weight", torch::empty({in, options.hidden_dim()}));
  reset_parameters();
}

void GcniiConvImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.hidden_dim()));
  torch::nn::init::uniform_(weight, -bound, bound);
}

void GcniiConvImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::GcniiConv(hidden_dim=" << options.hidden_dim() << ", lambda=" << options.lambda()
         << ", alpha=" << options.alpha() << ", variant=" << options.variant() << ")";
}

torch::Tensor GcniiConvImpl::forward(const torch::Tensor& h, const NormalizedAdjacency& adjacency,
                                     const torch::Tensor& h0, int64_t layer) {
  const int64_t H = options.hidden_dim();
  TORCH_CHECK(h.dim() == 2 && h.size(1) == H && h0.sizes() == h.sizes(), "GcniiConv: expected h and h0 (N, ", H,
              "), got ", h.sizes(), " and ", h0.sizes());
  const double theta = gcnii_theta(options.lambda(), layer);
  const double alpha = options.alpha();
  const torch::Tensor hi = propagate(adjacency, h);
  const torch::Tensor mixed = (1.0 - alpha) * hi + alpha * h0;
  const torch::Tensor support = options.variant() ? torch::cat({hi, h0}, 1) : mixed;
  return theta * support.mm(weight) + (1.0 - theta) * mixed;
}

}  // namespace merc::nn
