#pragma once
// MatchingAttention, the 'general2' variant of GCNet's sequence attention (Lian et al., TPAMI
// 2023, Eq. 4-6 "nodal attention"; public code zeroQiaoba/GCNet gcnet/module.py,
// MatchingAttention(att_type='general2')), computed for all queries of a batch at once:
//
//   q_t        = W x_t + b                                   (cand_dim -> mem_dim, with bias)
//   e_{t,s}    = tanh( mask_s * q_t^T (mask_s * m_s) )       padded memory slots score tanh(0) = 0
//   a_{t,s}    = softmax_s(e_{t,s}) * mask_s / sum_s' (softmax_s'(e_{t,s'}) * mask_s')
//   pooled_t   = sum_s a_{t,s} m_s
//
// i.e. the softmax first runs over ALL S slots (padding included, with score 0), then the padding
// weights are zeroed and the rest renormalised: the result equals a softmax over the real slots
// only, and padded memory never reaches the output. (The other variants of the reference class,
// 'dot', 'general' and 'concat', are not used by GCNet.) When a row has no real slot at all the
// reference divides 0 by 0 (NaN); here its weights and pooled vector are 0.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

struct MatchingAttentionOptions {
  MatchingAttentionOptions(int64_t mem_dim, int64_t cand_dim) : mem_dim_(mem_dim), cand_dim_(cand_dim) {}
  TORCH_ARG(int64_t, mem_dim);
  TORCH_ARG(int64_t, cand_dim);
};

struct MatchingAttentionOutput {
  torch::Tensor pooled;  // (B, T, mem_dim)
  torch::Tensor alpha;   // (B, T, S): weights of each query over the memory slots
};

class MatchingAttentionImpl : public torch::nn::Cloneable<MatchingAttentionImpl> {
 public:
  explicit MatchingAttentionImpl(MatchingAttentionOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  // memory: (B, S, mem_dim); queries: (B, T, cand_dim); mask: (B, S) bool or float 0/1 (true = a
  // real slot). Bad shapes -> c10::Error naming them.
  MatchingAttentionOutput forward(const torch::Tensor& memory, const torch::Tensor& queries, const torch::Tensor& mask);

  MatchingAttentionOptions options;
  torch::nn::Linear transform{nullptr};  // W, b
};
TORCH_MODULE(MatchingAttention);

}  // namespace merc::nn
