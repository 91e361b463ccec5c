#pragma once
// A T5 stack (Hugging Face modeling_t5.py T5Stack): token embeddings (shared with the other stack
// and the LM head), dropout, N blocks (block 0 owns the relative position bias that every block
// reuses), final RMS norm, dropout. The encoder is bidirectional; the decoder is causal and
// cross-attends to the encoder states. Padding masks are (N, L) with 1 = token, 0 = padding, turned
// into additive masks with the dtype's lowest value, as the reference does.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/t5/block.h"

namespace merc::nn::t5 {

struct StackOptions {
  BlockOptions block;       // sizes of every block (has_relative_attention_bias is set per block)
  int64_t num_layers = 12;  // config.json num_layers (encoder) / num_decoder_layers (decoder)
  // Decoder: blocks i >= this get HRG-SSA's extra cross-attention (layer.3); -1 = none. The release
  // uses i >= num_layers / 2 (extra_cross_attention_start below).
  int64_t extra_cross_attention_from = -1;
};

// HRG-SSA's first block with the extra cross-attention: the release's `i >= num_layers / 2` in
// Python's true division, i.e. ceil(num_layers / 2).
int64_t extra_cross_attention_start(int64_t num_layers);

// (N, L) 1/0 padding mask -> additive (N, 1, 1, L) in `dtype`: 0 where 1, the lowest value where 0.
torch::Tensor additive_padding_mask(const torch::Tensor& padding_mask, torch::ScalarType dtype);
// Causal and padding together for decoder self-attention: (N, 1, L, L) (padding undefined = all tokens).
torch::Tensor additive_causal_mask(int64_t length, const torch::Tensor& padding_mask, torch::ScalarType dtype,
                                   const torch::Device& device);

struct StackInput {
  torch::Tensor embeddings;          // (N, L, d_model): the embedded tokens (or inputs_embeds)
  torch::Tensor padding_mask;        // (N, L) 1/0; undefined = all tokens
  torch::Tensor memory;              // decoder: encoder states (N, L_e, d_model)
  torch::Tensor memory_mask;         // decoder: (N, L_e) 1/0 padding of the encoder input
  std::vector<KeyValueCache> past;   // decoder: one cache per block from the previous step (empty: none)
  torch::Tensor extra_memory;        // decoder: (N, L_x, d_model) for the extra cross-attention (undefined: skipped)
  torch::Tensor extra_mask;          // decoder: (N, L_x) 1/0 padding of the extra memory; undefined = all real
};

struct StackOutput {
  torch::Tensor states;              // (N, L, d_model) after the final norm and dropout
  std::vector<KeyValueCache> cache;  // decoder: per block, for the next step
};

// Parameter names: block.{i}.layer..., final_layer_norm.weight (the embedding lives in the model:
// it is shared).
class StackImpl : public torch::nn::Cloneable<StackImpl> {
 public:
  explicit StackImpl(const StackOptions& options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  StackOutput forward(const StackInput& input);

  StackOptions options;
  torch::nn::ModuleList block{nullptr};
  RmsNorm final_layer_norm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(Stack);

}  // namespace merc::nn::t5
