#pragma once
// EdgeAttention: the edge weights of DialogueGCN (Ghosal et al., EMNLP 2019, Eq. 1). Each target
// node i spreads one unit of attention over the sources of its incoming edges:
//
//   alpha_{j->i} = softmax_{j in N(i)} ( g_i^T W_e g_j )
//
// W_e is (dim, dim). Unlike the public code, which normalises over each source's window and
// indexes its weights by position up to a fixed max_seq_len, this is the paper's formula:
// normalised over the target's neighbourhood, no length limit.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

struct EdgeAttentionOptions {
  explicit EdgeAttentionOptions(int64_t dim) : dim_(dim) {}
  TORCH_ARG(int64_t, dim);
};

class EdgeAttentionImpl : public torch::nn::Cloneable<EdgeAttentionImpl> {
 public:
  explicit EdgeAttentionImpl(EdgeAttentionOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  // x: (N, dim) node features; edge_index: (2, E) int64 [source; target] in [0, N).
  // Returns (E) weights; the weights of the edges into one node sum to 1.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& edge_index);

  EdgeAttentionOptions options;
  torch::Tensor weight;  // W_e (dim, dim)
};
TORCH_MODULE(EdgeAttention);

}  // namespace merc::nn
