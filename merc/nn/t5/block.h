#pragma once
// One T5 block (Hugging Face modeling_t5.py T5Block): pre-norm residual sublayers
//   self-attention:   x = x + dropout( SelfAttention( layer_norm(x) ) )          layer.0
//   cross-attention:  x = x + dropout( EncDecAttention( layer_norm(x), memory ) ) layer.1 (decoder only)
//   extra cross-att.: x = x + dropout( EncDecAttention( layer_norm(x), extra ) )  layer.3 (HRG-SSA, optional)
//   feed-forward:     x = FeedForward(x)  (its own norm and residual)             layer.1 / layer.2
// The extra cross-attention is HRG-SSA's (jicoder-nwpu/HRG-SSA model.py T5Block, is_multi_decoder):
// registered after the feed-forward (so its Hugging Face-style name is layer.3) but run between the
// regular cross-attention and the feed-forward, over other memory (the fused graph nodes) with its own
// padding mask and no position bias. Without extra memory the block skips it, as the release does.
// The first block of a stack owns the relative position bias; it returns the bias (mask folded in)
// for the other blocks, as the reference passes position_bias on.

#include <cstdint>
#include <iosfwd>
#include <optional>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/t5/attention.h"
#include "merc/nn/t5/feed_forward.h"
#include "merc/nn/t5/rms_norm.h"

namespace merc::nn::t5 {

struct BlockOptions {
  AttentionOptions attention;    // d_model, d_kv, heads, dropout, buckets; has_relative_attention_bias for block 0
  FeedForwardOptions feed_forward;
  bool is_decoder = false;       // causal self-attention + cross-attention
  bool extra_cross_attention = false;  // decoder only: HRG-SSA's layer.3 over extra memory
};

// A pre-norm residual attention sublayer (T5LayerSelfAttention / T5LayerCrossAttention).
// Parameter names: SelfAttention.* or EncDecAttention.*, layer_norm.weight.
class AttentionLayerImpl : public torch::nn::Cloneable<AttentionLayerImpl> {
 public:
  AttentionLayerImpl(const AttentionOptions& options, double layer_norm_epsilon, bool cross);
  void reset() override;
  // As Attention::forward; returns the residual output in AttentionOutput::output.
  AttentionOutput forward(const torch::Tensor& x, const torch::Tensor& memory, const torch::Tensor& mask,
                          const torch::Tensor& position_bias, const std::optional<KeyValueCache>& past);

  AttentionOptions options;
  double layer_norm_epsilon;
  bool cross;
  Attention attention{nullptr};
  RmsNorm layer_norm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(AttentionLayer);

struct BlockInput {
  torch::Tensor x;                    // (N, L, d_model)
  torch::Tensor self_mask;            // additive, broadcastable to (N, H, L, L_k); undefined = none
  torch::Tensor self_bias;            // from block 0 (undefined in block 0)
  torch::Tensor memory;               // decoder: encoder states (N, L_e, d_model)
  torch::Tensor cross_mask;           // additive over the encoder positions
  torch::Tensor cross_bias;           // from block 0 (undefined in block 0)
  std::optional<KeyValueCache> past;  // decoder self-attention cache
  torch::Tensor extra_memory;         // (N, L_x, d_model) for the extra cross-attention; undefined = skip it
  torch::Tensor extra_mask;           // additive, broadcastable to (N, H, L, L_x); undefined = none
};

struct BlockOutput {
  torch::Tensor x;           // (N, L, d_model)
  torch::Tensor self_bias;   // for the next blocks
  torch::Tensor cross_bias;  // decoder
  KeyValueCache cache;       // decoder self-attention keys/values so far
};

// Parameter names: layer.0 (self-attention), layer.1 (cross-attention, decoder) and the
// feed-forward as layer.1 (encoder) or layer.2 (decoder), as Hugging Face's T5Block; layer.3 the
// extra cross-attention (EncDecAttention.*, layer_norm.weight) when the options ask for it.
class BlockImpl : public torch::nn::Cloneable<BlockImpl> {
 public:
  explicit BlockImpl(const BlockOptions& options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  BlockOutput forward(const BlockInput& input);

  BlockOptions options;
  torch::nn::ModuleList layer{nullptr};
  AttentionLayer self_attention{nullptr}, cross_attention{nullptr}, extra_cross_attention{nullptr};
  FeedForward feed_forward{nullptr};
};
TORCH_MODULE(Block);

}  // namespace merc::nn::t5
