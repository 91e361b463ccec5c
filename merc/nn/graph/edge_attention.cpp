#include "merc/nn/graph/edge_attention.h"

#include <ostream>

#include <torch/nn/init.h>

#include "merc/nn/graph/scatter.h"

namespace merc::nn {

EdgeAttentionImpl::EdgeAttentionImpl(EdgeAttentionOptions options_) : options(options_) { reset(); }

void EdgeAttentionImpl::reset() {
  TORCH_CHECK(options.dim() > 0, "EdgeAttention: expected dim > 0, got ", options.dim());
  weight = register_parameter("weight", torch::empty({options.dim(), options.dim()}));
  reset_parameters();
}

void EdgeAttentionImpl::reset_parameters() {
  // Glorot normal, as the reference implementation (normal with variance scaled by fan in + out).
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_normal_(weight);
}

void EdgeAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::EdgeAttention(dim=" << options.dim() << ")";
}

torch::Tensor EdgeAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& edge_index) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == options.dim(), "EdgeAttention: expected x (N, ", options.dim(),
              "), got ", x.sizes());
  TORCH_CHECK(edge_index.dim() == 2 && edge_index.size(0) == 2 && edge_index.scalar_type() == torch::kInt64,
              "EdgeAttention: expected int64 edge_index (2, E), got ", edge_index.scalar_type(), " ",
              edge_index.sizes());
  const auto src = edge_index[0], tgt = edge_index[1];
  // score_e = g_i^T W g_j with i = target, j = source: the row (g_i^T W) dotted with g_j.
  auto score = (x.index_select(0, tgt).mm(weight) * x.index_select(0, src)).sum(1);
  return scatter_softmax(score, tgt, x.size(0));
}

}  // namespace merc::nn
