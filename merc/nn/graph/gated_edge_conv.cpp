#include "merc/nn/graph/gated_edge_conv.h"

#include <c10/util/Exception.h>

namespace merc::nn {

GatedEdgeConvImpl::GatedEdgeConvImpl(int64_t dim_) : dim(dim_) {
  TORCH_CHECK(dim > 0, "GatedEdgeConv: dim must be positive, got ", dim);
  reset();
}

void GatedEdgeConvImpl::reset() { gate = register_module("gate", torch::nn::Linear(2 * dim, 1)); }

void GatedEdgeConvImpl::pretty_print(std::ostream& stream) const { stream << "merc::nn::GatedEdgeConv(" << dim << ")"; }

torch::Tensor GatedEdgeConvImpl::edge_gate(const torch::Tensor& x, const EdgeIndex& g) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == dim, "GatedEdgeConv: expected x (N, ", dim, "), got ", x.sizes());
  const torch::Tensor w = gate->weight.view({2, dim}).t();  // (D, 2): column 0 = w_dst, 1 = w_src
  const torch::Tensor logits = torch::mm(x, w);             // (N, 2)
  const torch::Tensor s_dst = logits.select(1, 0), s_src = logits.select(1, 1) + gate->bias;
  return torch::tanh(s_dst.index_select(0, g.dst) + s_src.index_select(0, g.src));
}

torch::Tensor GatedEdgeConvImpl::forward(const torch::Tensor& x, const EdgeIndex& g, const torch::Tensor& norm) {
  return propagate(g, x, norm * edge_gate(x, g));
}

torch::Tensor norm_conv(const torch::Tensor& x, const EdgeIndex& g, const torch::Tensor& norm) {
  return propagate(g, x, norm);
}

}  // namespace merc::nn
