#pragma once
// RgcnConv: relational graph convolution (Schlichtkrull et al., ESWC 2018, "Modeling Relational
// Data with Graph Convolutional Networks"), the first graph layer of DialogueGCN (Eq. 2):
//
//   h_i = sum_r sum_{j -> i of relation r} w_{j->i,r} W_r x_j  +  W_0 x_i  +  b
//
// with w = the given edge weights (DialogueGCN passes its attention alpha) or, without weights,
// the per-relation mean w = 1 / |{j -> i of relation r}|. Basis decomposition keeps many
// relations cheap: W_r = sum_{k < num_bases} a_{rk} V_k (num_bases = 0: one full W_r each).
// Messages are grouped by relation (one matmul per relation present) and summed onto their
// targets with index_add_. No nonlinearity: the caller applies one if it wants.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

struct RgcnConvOptions {
  RgcnConvOptions(int64_t in_dim, int64_t out_dim, int64_t num_relations)
      : in_dim_(in_dim), out_dim_(out_dim), num_relations_(num_relations) {}
  TORCH_ARG(int64_t, in_dim);
  TORCH_ARG(int64_t, out_dim);
  TORCH_ARG(int64_t, num_relations);
  // 0 = no decomposition; otherwise the number of shared bases V_k (may exceed num_relations, as
  // in DialogueGCN's 30 bases for 8 relations).
  TORCH_ARG(int64_t, num_bases) = 0;
  TORCH_ARG(bool, root_weight) = true;  // the self-connection W_0 x_i
  TORCH_ARG(bool, bias) = true;
};

class RgcnConvImpl : public torch::nn::Cloneable<RgcnConvImpl> {
 public:
  explicit RgcnConvImpl(RgcnConvOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  // x: (N, in_dim); edge_index: (2, E) int64 [source; target]; relation: (E) int64 in
  // [0, num_relations); edge_weight: (E) float or undefined (= per-relation mean).
  // Returns (N, out_dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& edge_index, const torch::Tensor& relation,
                        const torch::Tensor& edge_weight = {});
  // (num_relations, in_dim, out_dim): the W_r in use (composed from the bases when decomposed).
  torch::Tensor relation_weights() const;

  RgcnConvOptions options;
  torch::Tensor basis;  // (num_bases, in_dim, out_dim) when decomposed
  torch::Tensor comp;   // (num_relations, num_bases) when decomposed
  torch::Tensor weight; // (num_relations, in_dim, out_dim) when not decomposed
  torch::Tensor root;   // (in_dim, out_dim) when root_weight
  torch::Tensor bias;   // (out_dim) when bias
};
TORCH_MODULE(RgcnConv);

}  // namespace merc::nn
