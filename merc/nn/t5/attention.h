#pragma once
// T5's multi-head attention (Hugging Face modeling_t5.py T5Attention), self- or cross-attention:
//   q = x Wq, k = kv Wk, v = kv Wv   (no biases; (N, L, d_model) -> (N, heads, L, d_kv))
//   scores = q k^T + position_bias + mask      (NO 1/sqrt(d_kv) scaling: T5 folds it into the
//                                               initialisation of Wq)
//   out = (softmax(scores) v) Wo               (softmax in float32 for float/half, then the input dtype)
// The layer that owns a RelativePositionBias (the first of a stack) computes the bias; the others
// take it as an argument, so a stack computes it once (T5 shares it across layers). Cross-attention
// has no position bias (zeros, as the reference). Decoding with a cache passes the keys/values of
// the earlier positions and the query's position.

#include <cstdint>
#include <iosfwd>
#include <optional>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/t5/relative_position_bias.h"

namespace merc::nn::t5 {

struct AttentionOptions {
  int64_t d_model = 768;
  int64_t d_kv = 64;          // per-head width (config.json d_kv)
  int64_t num_heads = 12;
  double dropout = 0.1;       // on the attention weights (config.json dropout_rate)
  bool has_relative_attention_bias = false;  // the first self-attention layer of a stack
  bool bidirectional = true;  // encoder self-attention; false for the decoder's
  int64_t num_buckets = 32;
  int64_t max_distance = 128;
};

// Keys and values of earlier positions, (N, heads, L_past, d_kv) each (cached decoding). A decoder
// block's cache also keeps its cross-attentions' projections of the memory, (N, heads, L_e, d_kv)
// (and of HRG-SSA's extra memory): constant over the steps of a generation, computed once, as
// Hugging Face caches them.
struct KeyValueCache {
  torch::Tensor key, value;
  torch::Tensor cross_key, cross_value;  // decoder blocks; undefined until computed
  torch::Tensor extra_key, extra_value;  // blocks with the extra cross-attention
};

struct AttentionOutput {
  torch::Tensor output;         // (N, L_q, d_model)
  torch::Tensor position_bias;  // (1 or N, heads, L_q, L_k) as added (mask included), for the next layers
  KeyValueCache cache;          // keys/values including this call's (self-attention decoding)
};

class AttentionImpl : public torch::nn::Cloneable<AttentionImpl> {
 public:
  explicit AttentionImpl(const AttentionOptions& options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // x (N, L_q, d_model); key_value_states (N, L_k, d_model) for cross-attention, undefined for
  // self-attention; mask additive, broadcastable to (N, heads, L_q, L_k) (0 = attend, large
  // negative = not), undefined = none; position_bias from an earlier layer (undefined: computed
  // here if this layer has the table, zeros otherwise); past: cached keys/values of self-
  // attention decoding (then x holds only the new positions, which start at past length); for
  // cross-attention, past = the memory's keys/values from an earlier step (key_value_states then only
  // says this is cross-attention; its projections are not recomputed).
  AttentionOutput forward(const torch::Tensor& x, const torch::Tensor& key_value_states = {},
                          const torch::Tensor& mask = {}, const torch::Tensor& position_bias = {},
                          const std::optional<KeyValueCache>& past = std::nullopt);

  AttentionOptions options;
  // Hugging Face names: q, k, v, o (each weight (out, in)), relative_attention_bias.weight.
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  RelativePositionBias relative_attention_bias{nullptr};
  torch::nn::Dropout dropout{nullptr};

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // (N, L, heads*d_kv) -> (N, heads, L, d_kv)
};
TORCH_MODULE(Attention);

}  // namespace merc::nn::t5
