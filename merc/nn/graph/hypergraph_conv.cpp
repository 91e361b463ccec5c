#include "merc/nn/graph/hypergraph_conv.h"

#include <c10/util/Exception.h>

#include "merc/nn/graph/scatter.h"

namespace merc::nn {

HypergraphConvImpl::HypergraphConvImpl(int64_t dim_) : dim(dim_) {
  TORCH_CHECK(dim > 0, "HypergraphConv: dim must be positive, got ", dim);
  reset();
}

void HypergraphConvImpl::reset() { bias = register_parameter("bias", torch::zeros({dim})); }

void HypergraphConvImpl::pretty_print(std::ostream& stream) const { stream << "merc::nn::HypergraphConv(" << dim << ")"; }

namespace {
torch::Tensor hyper_safe_reciprocal(const torch::Tensor& t) {
  auto r = t.reciprocal();
  return r.masked_fill(torch::isinf(r), 0.0);
}
}  // namespace

torch::Tensor HypergraphConvImpl::forward(const torch::Tensor& x, const HyperIncidence& h,
                                          const torch::Tensor& hyperedge_weight, const torch::Tensor& incidence_weight) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == dim, "HypergraphConv: expected x (N, ", dim, "), got ", x.sizes());
  TORCH_CHECK(hyperedge_weight.dim() == 1 && hyperedge_weight.size(0) == h.num_hyperedges,
              "HypergraphConv: expected hyperedge_weight (", h.num_hyperedges, "), got ", hyperedge_weight.sizes());
  TORCH_CHECK(incidence_weight.dim() == 1 && incidence_weight.size(0) == h.node.size(0),
              "HypergraphConv: expected incidence_weight (", h.node.size(0), "), got ", incidence_weight.sizes());
  const int64_t N = x.size(0), M = h.num_hyperedges;
  const torch::Tensor Dinv = hyper_safe_reciprocal(scatter_sum(hyperedge_weight.index_select(0, h.hyperedge), h.node, N));
  const torch::Tensor Binv = hyper_safe_reciprocal(scatter_sum(incidence_weight, h.hyperedge, M));
  // Node -> hyperedge: B_e^-1 * sum_{v in e} x_v.
  const torch::Tensor e = scatter_sum(x.index_select(0, h.node), h.hyperedge, M) * Binv.unsqueeze(1);
  // Hyperedge -> node: D_v^-1 * sum_{e containing v} e.
  const torch::Tensor out = scatter_sum(e.index_select(0, h.hyperedge), h.node, N) * Dinv.unsqueeze(1);
  return torch::leaky_relu(out + bias, 0.01);
}

}  // namespace merc::nn
