#pragma once
// T5 encoder-decoder with a language-model head (Hugging Face T5ForConditionalGeneration):
//   encoder states  E = Encoder( shared[input_ids] , padding mask )                 (N, L_e, d)
//   decoder states  H = Decoder( shared[decoder_ids], E, masks [, extra memory] )   (N, L_d, d)
//   logits          = (H * d_model^-0.5) shared^T   (tied, T5's rescale)   or  H lm_head^T (untied)
//   loss            = mean cross-entropy over the labels that are not ignore_index
// The decoder input is the labels shifted right (shift_right). HRG-SSA's extra cross-attention over
// fused graph nodes (block.h) is on when T5ModelOptions::extra_cross_attention_from >= 0.

#include <cstdint>
#include <iosfwd>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/t5/config.h"
#include "merc/nn/t5/stack.h"

namespace merc::nn::t5 {

struct T5ModelOptions {
  T5Config config;
  // First decoder block with HRG-SSA's extra cross-attention (layer.3); -1 = plain T5. HRG-SSA:
  // extra_cross_attention_start(config.num_decoder_layers).
  int64_t extra_cross_attention_from = -1;
};

// Hugging Face's _shift_right: labels (N, L) int64 -> (N, L) with decoder_start_token_id first, the
// labels moved one step right (the last dropped), and ignored labels (-100) replaced by pad_token_id.
torch::Tensor shift_right(const torch::Tensor& labels, int64_t decoder_start_token_id, int64_t pad_token_id);

struct EncodeInput {
  torch::Tensor input_ids;       // (N, L_e) int64; or undefined when inputs_embeds is given
  torch::Tensor inputs_embeds;   // (N, L_e, d_model) instead of input_ids (HRG-SSA's node encoders)
  torch::Tensor attention_mask;  // (N, L_e) 1 = token, 0 = padding; undefined = all tokens
};

struct DecodeInput {
  torch::Tensor input_ids;               // (N, L_d) int64 decoder tokens (with a cache: the new ones only)
  torch::Tensor inputs_embeds;           // (N, L_d, d_model) instead of input_ids
  torch::Tensor attention_mask;          // (N, L_d) 1/0 decoder padding (full pass only); undefined = none
  torch::Tensor memory;                  // (N, L_e, d_model) encoder states
  torch::Tensor memory_mask;             // (N, L_e) 1/0 the encoder's attention_mask; undefined = all tokens
  std::vector<KeyValueCache> past;       // per decoder block, from the previous step; empty = none
  torch::Tensor extra_memory;            // (N, L_x, d_model) HRG-SSA's fused nodes; undefined = none
  torch::Tensor extra_mask;              // (N, L_x) 1/0
};

struct DecodeOutput {
  torch::Tensor states;              // (N, L_d, d_model) after the final norm
  std::vector<KeyValueCache> cache;  // per decoder block, keys/values of every position so far
};

struct Seq2SeqInput {
  EncodeInput encoder;
  torch::Tensor labels;                  // (N, L_d) int64 targets, ignore_index where ignored; undefined = no loss
  torch::Tensor decoder_input_ids;       // (N, L_d); undefined = shift_right(labels)
  torch::Tensor decoder_attention_mask;  // (N, L_d) 1/0; undefined = causal only (as Hugging Face)
  torch::Tensor extra_memory;            // (N, L_x, d_model), see DecodeInput
  torch::Tensor extra_mask;              // (N, L_x)
  int64_t ignore_index = -100;           // labels equal to it add no loss (HRG-SSA's release pads with pad id)
};

struct Seq2SeqOutput {
  torch::Tensor logits;          // (N, L_d, vocab_size)
  torch::Tensor loss;            // () mean cross-entropy over non-ignored labels; undefined without labels
  torch::Tensor encoder_states;  // (N, L_e, d_model)
};

// Parameter names (Hugging Face's, but the bias table's `.embedding.weight`, see checkpoint.h):
// shared.weight, encoder.block.{i}..., encoder.final_layer_norm.weight, decoder.block.{i}...,
// decoder.final_layer_norm.weight, lm_head.weight (untied only).
class T5ModelImpl : public torch::nn::Cloneable<T5ModelImpl> {
 public:
  explicit T5ModelImpl(const T5ModelOptions& options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // -> (N, L_e, d_model)
  torch::Tensor encode(const EncodeInput& input);
  DecodeOutput decode(const DecodeInput& input);
  // states (..., d_model) -> (..., vocab_size)
  torch::Tensor logits(const torch::Tensor& states);
  // Encoder, decoder (teacher forcing), logits and the LM loss.
  Seq2SeqOutput forward(const Seq2SeqInput& input);
  // shift_right with this config's decoder start and pad ids.
  torch::Tensor shift_right(const torch::Tensor& labels) const;

  T5ModelOptions options;
  torch::nn::Embedding shared{nullptr};  // (vocab_size, d_model)
  Stack encoder{nullptr}, decoder{nullptr};
  torch::nn::Linear lm_head{nullptr};    // (vocab_size, d_model), untied configs only

 private:
  torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& embeds, const char* what);
};
TORCH_MODULE(T5Model);

}  // namespace merc::nn::t5
