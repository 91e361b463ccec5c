#pragma once
// T5's relative position bias (Raffel et al. 2020, §2.1; Hugging Face transformers
// modeling_t5.py T5Attention._relative_position_bucket / compute_bias), the first block of merc's
// T5 for HRG-SSA (issue 17). Each attention head adds a learned scalar per bucket of the offset
// key_position - query_position to its logits; the first layer of a stack computes the bias and
// every layer of the stack reuses it.
//
// Buckets (num_buckets B, max_distance M):
//   bidirectional (encoder): half the buckets for offsets > 0, half for <= 0, on |offset|;
//   causal (decoder): only offsets <= 0 count (future keys fall in bucket 0), on -offset.
//   With n the (per-direction) bucket count and e = n / 2: distances below e get their own bucket;
//   larger ones share log-spaced buckets e + floor(log(d / e) / log(M / e) * (n - e)), capped at
//   n - 1, so every distance >= M lands in the last bucket. The log is taken in float32, as the
//   reference does, so bucket edges match it exactly.

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn::t5 {

// relative_position: int64 tensor of offsets (key - query), any shape -> int64 buckets in
// [0, num_buckets), same shape. num_buckets >= 2 (even when bidirectional), max_distance >
// num_buckets / 2 (per direction); merc::Error otherwise.
torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                       int64_t num_buckets, int64_t max_distance);

struct RelativePositionBiasOptions {
  int64_t num_heads = 12;
  int64_t num_buckets = 32;     // config.json relative_attention_num_buckets
  int64_t max_distance = 128;   // config.json relative_attention_max_distance
  bool bidirectional = true;    // encoder true, decoder false
};

// The learned table relative_attention_bias (num_buckets, num_heads) (Hugging Face name
// `block.0.layer.0.SelfAttention.relative_attention_bias.weight`; here `embedding.weight`).
class RelativePositionBiasImpl : public torch::nn::Cloneable<RelativePositionBiasImpl> {
 public:
  explicit RelativePositionBiasImpl(const RelativePositionBiasOptions& options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // Bias for query positions [query_offset, query_offset + query_length) against key positions
  // [0, key_length): (1, num_heads, query_length, key_length). query_offset > 0 serves cached
  // decoding (one new query at position t against keys 0..t).
  torch::Tensor forward(int64_t query_length, int64_t key_length, int64_t query_offset = 0);

  RelativePositionBiasOptions options;
  torch::nn::Embedding embedding{nullptr};
};
TORCH_MODULE(RelativePositionBias);

}  // namespace merc::nn::t5
