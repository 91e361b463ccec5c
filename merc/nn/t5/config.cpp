#include "merc/nn/t5/config.h"

#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"

namespace merc::nn::t5 {

namespace config_detail {

using nlohmann::json;

const json* find_key(const json& j, const char* key) {
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

void read_int(const json& j, const char* key, bool required, int64_t* out, const std::string& source) {
  const json* v = find_key(j, key);
  if (!v) {
    MERC_CHECK(!required, "{}: T5 config has no '{}'", source, key);
    return;
  }
  MERC_CHECK(v->is_number_integer(), "{}: T5 config key '{}' must be an integer, got {}", source, key, v->dump());
  *out = v->get<int64_t>();
}

void read_double(const json& j, const char* key, double* out, const std::string& source) {
  if (const json* v = find_key(j, key)) {
    MERC_CHECK(v->is_number(), "{}: T5 config key '{}' must be a number, got {}", source, key, v->dump());
    *out = v->get<double>();
  }
}

void read_bool(const json& j, const char* key, bool* out, const std::string& source) {
  if (const json* v = find_key(j, key)) {
    MERC_CHECK(v->is_boolean(), "{}: T5 config key '{}' must be true or false, got {}", source, key, v->dump());
    *out = v->get<bool>();
  }
}

void read_string(const json& j, const char* key, std::string* out, const std::string& source) {
  if (const json* v = find_key(j, key)) {
    MERC_CHECK(v->is_string(), "{}: T5 config key '{}' must be a string, got {}", source, key, v->dump());
    *out = v->get<std::string>();
  }
}

void check_ranges(const T5Config& c, const std::string& source) {
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size},
                                   {"d_model", c.d_model}, {"d_kv", c.d_kv}, {"d_ff", c.d_ff},
                                   {"num_layers", c.num_layers}, {"num_decoder_layers", c.num_decoder_layers},
                                   {"num_heads", c.num_heads}, {"relative_attention_num_buckets",
                                                                c.relative_attention_num_buckets},
                                   {"relative_attention_max_distance", c.relative_attention_max_distance}})
    MERC_CHECK(value >= 1, "{}: T5 config key '{}' must be >= 1, got {}", source, key, value);
  MERC_CHECK(c.dropout_rate >= 0.0 && c.dropout_rate < 1.0, "{}: T5 config key 'dropout_rate' must be in [0, 1), got {}",
             source, c.dropout_rate);
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"pad_token_id", c.pad_token_id},
                                   {"eos_token_id", c.eos_token_id},
                                   {"decoder_start_token_id", c.decoder_start_token_id}})
    MERC_CHECK(value >= 0 && value < c.vocab_size, "{}: T5 config key '{}' = {} is not a token id (vocab_size {})",
               source, key, value, c.vocab_size);
  try {
    (void)c.activation();
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}

}  // namespace config_detail

std::string T5Config::activation() const {
  // Hugging Face: "gated-<act>" is a gated feed-forward with <act>; "gated-gelu" means gelu_new.
  if (feed_forward_proj == "relu") return "relu";
  if (feed_forward_proj == "gated-gelu" || feed_forward_proj == "gated-gelu_new") return "gated-gelu";
  throw Error("T5 config key 'feed_forward_proj' = '" + feed_forward_proj +
              "' is not supported (merc has relu, gated-gelu and gated-gelu_new)");
}

T5Config parse_t5_config(const nlohmann::json& j, const std::string& source) {
  using namespace config_detail;
  MERC_CHECK(j.is_object(), "{}: a T5 config.json must hold a JSON object", source);
  T5Config c;
  read_int(j, "vocab_size", true, &c.vocab_size, source);
  read_int(j, "d_model", true, &c.d_model, source);
  read_int(j, "d_kv", true, &c.d_kv, source);
  read_int(j, "d_ff", true, &c.d_ff, source);
  read_int(j, "num_layers", true, &c.num_layers, source);
  c.num_decoder_layers = c.num_layers;
  read_int(j, "num_decoder_layers", false, &c.num_decoder_layers, source);
  read_int(j, "num_heads", true, &c.num_heads, source);
  read_int(j, "relative_attention_num_buckets", false, &c.relative_attention_num_buckets, source);
  read_int(j, "relative_attention_max_distance", false, &c.relative_attention_max_distance, source);
  read_double(j, "dropout_rate", &c.dropout_rate, source);
  read_double(j, "layer_norm_epsilon", &c.layer_norm_epsilon, source);
  read_string(j, "feed_forward_proj", &c.feed_forward_proj, source);
  read_bool(j, "tie_word_embeddings", &c.tie_word_embeddings, source);
  read_int(j, "pad_token_id", false, &c.pad_token_id, source);
  read_int(j, "eos_token_id", false, &c.eos_token_id, source);
  c.decoder_start_token_id = c.pad_token_id;
  read_int(j, "decoder_start_token_id", false, &c.decoder_start_token_id, source);
  check_ranges(c, source);
  return c;
}

T5Config read_t5_config(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(io::read_file_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    MERC_FORMAT_ERROR(path, "not valid JSON: {}", e.what());
  }
  return parse_t5_config(j, path);
}

std::string t5_config_json(const T5Config& c) {
  const nlohmann::ordered_json j = {
      {"architectures", {"T5ForConditionalGeneration"}},
      {"model_type", "t5"},
      {"is_encoder_decoder", true},
      {"vocab_size", c.vocab_size},
      {"d_model", c.d_model},
      {"d_kv", c.d_kv},
      {"d_ff", c.d_ff},
      {"num_layers", c.num_layers},
      {"num_decoder_layers", c.num_decoder_layers},
      {"num_heads", c.num_heads},
      {"relative_attention_num_buckets", c.relative_attention_num_buckets},
      {"relative_attention_max_distance", c.relative_attention_max_distance},
      {"dropout_rate", c.dropout_rate},
      {"layer_norm_epsilon", c.layer_norm_epsilon},
      {"feed_forward_proj", c.feed_forward_proj},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"pad_token_id", c.pad_token_id},
      {"eos_token_id", c.eos_token_id},
      {"decoder_start_token_id", c.decoder_start_token_id},
  };
  return j.dump(2) + "\n";
}

StackOptions encoder_stack_options(const T5Config& c) {
  StackOptions s;
  AttentionOptions& a = s.block.attention;
  a.d_model = c.d_model;
  a.d_kv = c.d_kv;
  a.num_heads = c.num_heads;
  a.dropout = c.dropout_rate;
  a.num_buckets = c.relative_attention_num_buckets;
  a.max_distance = c.relative_attention_max_distance;
  FeedForwardOptions& f = s.block.feed_forward;
  f.d_model = c.d_model;
  f.d_ff = c.d_ff;
  f.activation = c.activation();
  f.dropout = c.dropout_rate;
  f.layer_norm_epsilon = c.layer_norm_epsilon;
  s.num_layers = c.num_layers;
  return s;
}

StackOptions decoder_stack_options(const T5Config& c, int64_t extra_cross_attention_from) {
  StackOptions s = encoder_stack_options(c);
  s.block.is_decoder = true;
  s.block.attention.bidirectional = false;
  s.num_layers = c.num_decoder_layers;
  s.extra_cross_attention_from = extra_cross_attention_from;
  return s;
}

}  // namespace merc::nn::t5
