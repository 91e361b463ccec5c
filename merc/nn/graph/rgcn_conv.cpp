#include "merc/nn/graph/rgcn_conv.h"

#include <cmath>
#include <ostream>
#include <vector>

namespace merc::nn {

RgcnConvImpl::RgcnConvImpl(RgcnConvOptions options_) : options(options_) { reset(); }

void RgcnConvImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_dim() > 0 && o.out_dim() > 0 && o.num_relations() > 0 && o.num_bases() >= 0,
              "RgcnConv: expected positive in_dim, out_dim, num_relations and num_bases >= 0, got ", o.in_dim(), ", ",
              o.out_dim(), ", ", o.num_relations(), ", ", o.num_bases());
  if (o.num_bases() > 0) {
    basis = register_parameter("basis", torch::empty({o.num_bases(), o.in_dim(), o.out_dim()}));
    comp = register_parameter("comp", torch::empty({o.num_relations(), o.num_bases()}));
  } else {
    weight = register_parameter("weight", torch::empty({o.num_relations(), o.in_dim(), o.out_dim()}));
  }
  if (o.root_weight()) root = register_parameter("root", torch::empty({o.in_dim(), o.out_dim()}));
  if (o.bias()) bias = register_parameter("bias", torch::empty({o.out_dim()}));
  reset_parameters();
}

void RgcnConvImpl::reset_parameters() {
  // As torch_geometric's RGCNConv: Glorot-uniform on the last two axes, U(-a, a) with
  // a = sqrt(6 / (rows + cols)) for each (in, out) matrix and for the (R, bases) coefficients;
  // zero bias.
  torch::NoGradGuard no_grad;
  for (auto* t : {&basis, &comp, &weight, &root}) {
    if (!t->defined()) continue;
    const double a = std::sqrt(6.0 / static_cast<double>(t->size(-2) + t->size(-1)));
    t->uniform_(-a, a);
  }
  if (bias.defined()) bias.zero_();
}

void RgcnConvImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::RgcnConv(in_dim=" << options.in_dim() << ", out_dim=" << options.out_dim()
         << ", num_relations=" << options.num_relations() << ", num_bases=" << options.num_bases()
         << ", root_weight=" << options.root_weight() << ", bias=" << options.bias() << ")";
}

torch::Tensor RgcnConvImpl::relation_weights() const {
  if (weight.defined()) return weight;
  const auto& o = options;
  return comp.mm(basis.view({o.num_bases(), o.in_dim() * o.out_dim()})).view({o.num_relations(), o.in_dim(), o.out_dim()});
}

torch::Tensor RgcnConvImpl::forward(const torch::Tensor& x, const torch::Tensor& edge_index,
                                    const torch::Tensor& relation, const torch::Tensor& edge_weight) {
  const auto& o = options;
  TORCH_CHECK(x.dim() == 2 && x.size(1) == o.in_dim(), "RgcnConv: expected x (N, ", o.in_dim(), "), got ", x.sizes());
  TORCH_CHECK(edge_index.dim() == 2 && edge_index.size(0) == 2 && edge_index.scalar_type() == torch::kInt64,
              "RgcnConv: expected int64 edge_index (2, E), got ", edge_index.scalar_type(), " ", edge_index.sizes());
  const int64_t N = x.size(0), E = edge_index.size(1), R = o.num_relations();
  TORCH_CHECK(relation.dim() == 1 && relation.size(0) == E && relation.scalar_type() == torch::kInt64,
              "RgcnConv: expected int64 relation (E) with E = ", E, ", got ", relation.scalar_type(), " ",
              relation.sizes());
  TORCH_CHECK(!edge_weight.defined() || (edge_weight.dim() == 1 && edge_weight.size(0) == E),
              "RgcnConv: expected edge_weight (E) with E = ", E, " or none, got ", edge_weight.sizes());
  if (E > 0) {
    TORCH_CHECK(relation.min().item<int64_t>() >= 0 && relation.max().item<int64_t>() < R,
                "RgcnConv: expected relation ids in [0, ", R, "), got [", relation.min().item<int64_t>(), ", ",
                relation.max().item<int64_t>(), "]");
    TORCH_CHECK(edge_index.min().item<int64_t>() >= 0 && edge_index.max().item<int64_t>() < N,
                "RgcnConv: expected node ids in [0, ", N, "), got [", edge_index.min().item<int64_t>(), ", ",
                edge_index.max().item<int64_t>(), "]");
  }

  torch::Tensor out = torch::zeros({N, o.out_dim()}, x.options());
  if (E > 0) {
    const auto src = edge_index[0], tgt = edge_index[1];
    torch::Tensor w = edge_weight;
    if (!w.defined()) {  // per-relation mean: 1 / (number of edges of this relation into the target)
      auto key = tgt * R + relation;
      auto count = torch::zeros({N * R}, x.options()).index_add(0, key, torch::ones({E}, x.options()));
      w = count.index_select(0, key).reciprocal();
    }
    // Group edges by relation so each W_r multiplies all its messages in one matmul.
    const auto order = relation.argsort();
    const auto counts = relation.bincount({}, R).to(torch::kCPU).contiguous();
    const auto count_of = counts.accessor<int64_t, 1>();
    const auto xs = x.index_select(0, src.index_select(0, order));  // (E, in) in relation order
    const torch::Tensor W = relation_weights();
    std::vector<torch::Tensor> parts;
    int64_t start = 0;
    for (int64_t r = 0; r < R; ++r) {
      const int64_t c = count_of[r];
      if (c == 0) continue;
      parts.push_back(xs.narrow(0, start, c).mm(W[r]));
      start += c;
    }
    auto messages = torch::cat(parts, 0) * w.index_select(0, order).unsqueeze(1);
    out = out.index_add(0, tgt.index_select(0, order), messages);
  }
  if (root.defined()) out = out + x.mm(root);
  if (bias.defined()) out = out + bias;
  return out;
}

}  // namespace merc::nn
