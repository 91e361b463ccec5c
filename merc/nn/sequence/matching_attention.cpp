#include "merc/nn/sequence/matching_attention.h"

#include <limits>
#include <ostream>

namespace merc::nn {

MatchingAttentionImpl::MatchingAttentionImpl(MatchingAttentionOptions options_) : options(std::move(options_)) {
  reset();
}

void MatchingAttentionImpl::reset() {
  TORCH_CHECK(options.mem_dim() > 0 && options.cand_dim() > 0,
              "MatchingAttention: mem_dim and cand_dim must be positive, got ", options.mem_dim(), ", ",
              options.cand_dim());
  transform = register_module("transform", torch::nn::Linear(options.cand_dim(), options.mem_dim()));
}

void MatchingAttentionImpl::reset_parameters() { transform->reset_parameters(); }

void MatchingAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::MatchingAttention(general2, mem_dim=" << options.mem_dim()
         << ", cand_dim=" << options.cand_dim() << ")";
}

MatchingAttentionOutput MatchingAttentionImpl::forward(const torch::Tensor& memory, const torch::Tensor& queries,
                                                       const torch::Tensor& mask) {
  TORCH_CHECK(memory.dim() == 3 && memory.size(2) == options.mem_dim(), "MatchingAttention: expected memory (B, S, ",
              options.mem_dim(), "), got ", memory.sizes());
  TORCH_CHECK(queries.dim() == 3 && queries.size(0) == memory.size(0) && queries.size(2) == options.cand_dim(),
              "MatchingAttention: expected queries (", memory.size(0), ", T, ", options.cand_dim(), "), got ",
              queries.sizes());
  TORCH_CHECK(mask.dim() == 2 && mask.size(0) == memory.size(0) && mask.size(1) == memory.size(1),
              "MatchingAttention: expected mask (", memory.size(0), ", ", memory.size(1), "), got ", mask.sizes());
  const torch::Tensor m = mask.to(memory.dtype());                                  // (B, S)
  const torch::Tensor q = transform(queries);                                       // (B, T, mem)
  const torch::Tensor keys = memory * m.unsqueeze(-1);                              // padded slots -> 0
  torch::Tensor scores = torch::tanh(torch::bmm(q, keys.transpose(1, 2)) * m.unsqueeze(1));  // (B, T, S)
  const torch::Tensor soft = torch::softmax(scores, -1) * m.unsqueeze(1);
  // A row without any real slot has sum 0 and weights 0 (the reference's 0/0 = NaN); otherwise the
  // sum is at least exp(-2)/S, far from the clamp.
  const torch::Tensor sum = soft.sum(-1, true).clamp_min(std::numeric_limits<float>::min());
  MatchingAttentionOutput out;
  out.alpha = soft / sum;
  out.pooled = torch::bmm(out.alpha, memory);
  return out;
}

}  // namespace merc::nn
