#pragma once
// A T5's sizes from a Hugging Face config.json (transformers T5Config), and the stack options they
// give. Only the fields that change the computation are kept; other keys are ignored. Defaults are
// Hugging Face's for the optional keys (t5-base's config.json, for one, has neither
// relative_attention_max_distance nor feed_forward_proj nor tie_word_embeddings); the sizes are
// required.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "merc/nn/t5/stack.h"

namespace merc::nn::t5 {

struct T5Config {
  int64_t vocab_size = 32128;                      // required
  int64_t d_model = 512;                           // required
  int64_t d_kv = 64;                               // required: per-head width
  int64_t d_ff = 2048;                             // required
  int64_t num_layers = 6;                          // required: encoder blocks
  int64_t num_decoder_layers = 6;                  // absent or null: num_layers
  int64_t num_heads = 8;                           // required
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double dropout_rate = 0.1;
  double layer_norm_epsilon = 1e-6;
  std::string feed_forward_proj = "relu";          // relu | gated-gelu | gated-gelu_new (as Hugging Face parses it)
  bool tie_word_embeddings = true;                 // shared input/output embedding, logits rescaled by d_model^-0.5
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;
  int64_t decoder_start_token_id = 0;              // absent or null: pad_token_id (T5 starts decoding with pad)

  // The feed-forward activation merc's FeedForward takes: "relu" or "gated-gelu" (tanh GELU, the
  // reference's gelu_new). merc::Error naming the value for other activations.
  std::string activation() const;
};

// Parses a config.json object; `source` (the path) names the file in errors. merc::Error naming the
// file and the key for a missing required key, a value of the wrong type or out of range.
T5Config parse_t5_config(const nlohmann::json& json, const std::string& source);
T5Config read_t5_config(const std::string& path);
// The config as config.json (model_type t5, the fields above), loadable by Hugging Face.
std::string t5_config_json(const T5Config& config);

// Encoder stack: bidirectional, num_layers blocks.
StackOptions encoder_stack_options(const T5Config& config);
// Decoder stack: causal with cross-attention, num_decoder_layers blocks; extra_cross_attention_from
// as StackOptions (HRG-SSA: extra_cross_attention_start(num_decoder_layers); -1 = plain T5).
StackOptions decoder_stack_options(const T5Config& config, int64_t extra_cross_attention_from = -1);

}  // namespace merc::nn::t5
