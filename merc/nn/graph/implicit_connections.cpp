#include "merc/nn/graph/implicit_connections.h"

#include <cmath>
#include <limits>
#include <ostream>

#include "merc/core/error.h"

namespace merc::nn {

ImplicitConnectionDetectorImpl::ImplicitConnectionDetectorImpl(const ImplicitConnectionOptions& o) : options(o) {
  reset();
}

void ImplicitConnectionDetectorImpl::reset() {
  const int64_t in = options.in_features, out = options.out_features;
  MERC_CHECK(in > 0 && out > 0, "implicit-connection detector: in/out features must be positive, got {}, {}", in, out);
  auto linear = [](int64_t a, int64_t b) { return torch::nn::Linear(torch::nn::LinearOptions(a, b).bias(false)); };
  seq_transformation_r = register_module("seq_transformation_r", linear(in, out));
  f_1 = register_module("f_1", linear(out, 1));
  f_2 = register_module("f_2", linear(out, 1));
  torch::NoGradGuard no_grad;
  // Edge_Relation.init_params with initializer_factor 1.
  seq_transformation_r->weight.normal_(0.0, std::pow(static_cast<double>(in * out), -0.5));
  f_1->weight.normal_(0.0, std::pow(static_cast<double>(out), -0.5));
  f_2->weight.normal_(0.0, std::pow(static_cast<double>(out), -0.5));
  for (auto& p : parameters()) p.set_requires_grad(false);  // edges are discrete: no gradient can reach them
}

void ImplicitConnectionDetectorImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::ImplicitConnectionDetector(in=" << options.in_features << ", out=" << options.out_features
         << ")";
}

ImplicitConnections ImplicitConnectionDetectorImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                                            const torch::Tensor& adjacency) {
  MERC_CHECK(x.dim() == 3 && x.size(2) == options.in_features,
             "implicit-connection detector: x must be (N, S, {}), got {}", options.in_features, x.sizes());
  const int64_t N = x.size(0), S = x.size(1);
  MERC_CHECK(mask.sizes() == torch::IntArrayRef({N, S}) && adjacency.sizes() == torch::IntArrayRef({N, S, S}),
             "implicit-connection detector: mask must be ({0}, {1}) and adjacency ({0}, {1}, {1}), got {2} and {3}", N,
             S, mask.sizes(), adjacency.sizes());
  torch::NoGradGuard no_grad;
  const double inf = std::numeric_limits<double>::infinity();
  const torch::Tensor r = seq_transformation_r(x.detach());
  const torch::Tensor a = f_1(r), b = f_2(r);                    // (N, S, 1)
  torch::Tensor e = torch::elu(a.transpose(1, 2) + b);          // e[n][i][j] = f_2(r_i) + f_1(r_j)
  const torch::Tensor column_real = mask.unsqueeze(1);           // (N, 1, S)
  const torch::Tensor row_max = e.masked_fill(~column_real, -inf).amax(2, true);
  e = e / row_max;
  const auto iopts = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
  const torch::Tensor i = torch::arange(S, iopts).view({1, S, 1});
  const torch::Tensor j = torch::arange(S, iopts).view({1, 1, S});
  const torch::Tensor p = torch::softmax(e.masked_fill(~column_real | (j < i), -inf), 2);
  const torch::Tensor size = mask.sum(1).view({N, 1, 1});       // n per window
  const torch::Tensor limit = 1.0 / (size - i).clamp_min(1).to(p.scalar_type());
  const torch::Tensor connected = adjacency.transpose(1, 2);     // [source][target]: edge i -> j exists
  ImplicitConnections out;
  out.added = (p > limit) & (j > i) & column_real & mask.unsqueeze(2) & ~connected & (size > 2);
  out.adjacency = adjacency | out.added.transpose(1, 2);
  out.probability = p;
  return out;
}

}  // namespace merc::nn
