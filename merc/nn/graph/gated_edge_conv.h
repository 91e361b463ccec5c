#pragma once
// The two message-passing layers of MoED (edm-anonymous/MoED gcn.py) and M3Net
// (feiyuchen7/M3NET high_fre_conv.py), both PyG add-aggregations over an edge list [src; dst]:
//
// GatedEdgeConv (MoED MultiConv = M3Net highConv), D -> D:
//   norm_e = deg_out(src_e)^-1/2 * deg_out(dst_e)^-1/2          (inf -> 0)
//   out_i  = sum_{e : dst_e = i} norm_e * tanh(W_g [x_dst_e ; x_src_e] + b_g) * x_src_e
// with W_g: Linear(2D, 1). Since W_g [x_i ; x_j] = w_dst . x_i + w_src . x_j, the gate logits are
// computed once per node (two (N) vectors) and gathered per edge: identical values to the
// reference's per-edge concatenation, without its (E, 2D) tensor (method_reference.md §4.4,
// performance note). Messages go through propagate() (edge_propagate.h): no (E, D) tensor either.
//
// norm_conv (MoED directConv), no parameters:
//   out_i = sum_{e : dst_e = i} deg_in(src_e)^-1/2 * deg_in(dst_e)^-1/2 * x_src_e   (inf -> 0)
// (the reference creates a `gate` Linear it never uses; it is not created here).

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/graph/edge_propagate.h"

namespace merc::nn {

class GatedEdgeConvImpl : public torch::nn::Cloneable<GatedEdgeConvImpl> {
 public:
  explicit GatedEdgeConvImpl(int64_t dim);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // x: (N, D); norm: (E) from symmetric_degree_norm(g, DegreeKind::kOut) (computed once per graph
  // by the caller). Returns (N, D).
  torch::Tensor forward(const torch::Tensor& x, const EdgeIndex& g, const torch::Tensor& norm);
  // (E) per-edge gate tanh(W_g [x_dst ; x_src] + b_g), from per-node logits.
  torch::Tensor edge_gate(const torch::Tensor& x, const EdgeIndex& g);

  int64_t dim;
  torch::nn::Linear gate{nullptr};  // Linear(2D, 1): weight[:, :D] acts on x_dst, weight[:, D:] on x_src
};
TORCH_MODULE(GatedEdgeConv);

// directConv; norm from symmetric_degree_norm(g, DegreeKind::kIn).
torch::Tensor norm_conv(const torch::Tensor& x, const EdgeIndex& g, const torch::Tensor& norm);

}  // namespace merc::nn
