// T5 config.json: Hugging Face's defaults for optional keys, errors naming the file and the key,
// the gated activations as Hugging Face parses them, and the stack options the sizes give.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/nn/t5/config.h"

namespace merc::nn::t5 {
namespace config_test_detail {

// t5-base's config.json, trimmed to the keys it has (no feed_forward_proj, no tie_word_embeddings,
// no relative_attention_max_distance, no num_decoder_layers).
nlohmann::json t5_base() {
  return nlohmann::json::parse(R"({"d_ff": 3072, "d_kv": 64, "d_model": 768, "decoder_start_token_id": 0,
    "dropout_rate": 0.1, "eos_token_id": 1, "initializer_factor": 1.0, "is_encoder_decoder": true,
    "layer_norm_epsilon": 1e-06, "model_type": "t5", "n_positions": 512, "num_heads": 12, "num_layers": 12,
    "output_past": true, "pad_token_id": 0, "relative_attention_num_buckets": 32, "vocab_size": 32128})");
}

std::string error_of(const nlohmann::json& j) {
  try {
    parse_t5_config(j, "dir/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace config_test_detail

namespace {

using namespace config_test_detail;

TEST(T5Config, T5BaseWithHuggingFaceDefaults) {
  const T5Config c = parse_t5_config(t5_base(), "t5-base/config.json");
  EXPECT_EQ(c.d_model, 768);
  EXPECT_EQ(c.num_decoder_layers, 12);  // defaults to num_layers
  EXPECT_EQ(c.relative_attention_max_distance, 128);
  EXPECT_EQ(c.feed_forward_proj, "relu");
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c.layer_norm_epsilon, 1e-6);
  const StackOptions dec = decoder_stack_options(c, extra_cross_attention_start(c.num_decoder_layers));
  EXPECT_TRUE(dec.block.is_decoder);
  EXPECT_FALSE(dec.block.attention.bidirectional);
  EXPECT_EQ(dec.extra_cross_attention_from, 6);
  EXPECT_EQ(dec.block.feed_forward.d_ff, 3072);
  EXPECT_TRUE(encoder_stack_options(c).block.attention.bidirectional);
}

TEST(T5Config, V11GatedAndNulls) {
  nlohmann::json j = t5_base();
  j["feed_forward_proj"] = "gated-gelu";
  j["tie_word_embeddings"] = false;
  j["num_decoder_layers"] = 4;
  j["decoder_start_token_id"] = nullptr;  // null: the pad id
  j["pad_token_id"] = 3;
  j["some_unknown_key"] = {1, 2};
  const T5Config c = parse_t5_config(j, "x");
  EXPECT_EQ(c.activation(), "gated-gelu");
  EXPECT_EQ(decoder_stack_options(c).num_layers, 4);
  EXPECT_EQ(c.decoder_start_token_id, 3);
  j["feed_forward_proj"] = "gated-gelu_new";
  EXPECT_EQ(parse_t5_config(j, "x").activation(), "gated-gelu");
}

TEST(T5Config, ErrorsNameTheFileAndTheKey) {
  nlohmann::json j = t5_base();
  j.erase("d_kv");
  EXPECT_NE(error_of(j).find("dir/config.json: T5 config has no 'd_kv'"), std::string::npos) << error_of(j);
  j = t5_base();
  j["num_heads"] = "12";
  EXPECT_NE(error_of(j).find("'num_heads' must be an integer"), std::string::npos) << error_of(j);
  j = t5_base();
  j["tie_word_embeddings"] = 1;
  EXPECT_NE(error_of(j).find("'tie_word_embeddings' must be true or false"), std::string::npos);
  j = t5_base();
  j["feed_forward_proj"] = "gated-silu";
  EXPECT_NE(error_of(j).find("dir/config.json: T5 config key 'feed_forward_proj'"), std::string::npos) << error_of(j);
  j = t5_base();
  j["eos_token_id"] = 40000;
  EXPECT_NE(error_of(j).find("'eos_token_id' = 40000"), std::string::npos);
  EXPECT_THROW(read_t5_config("/nonexistent/config.json"), Error);
}

TEST(T5Config, JsonRoundTrip) {
  nlohmann::json j = t5_base();
  j["feed_forward_proj"] = "gated-gelu";
  j["tie_word_embeddings"] = false;
  j["relative_attention_max_distance"] = 64;
  const T5Config c = parse_t5_config(j, "x");
  const T5Config back = parse_t5_config(nlohmann::json::parse(t5_config_json(c)), "y");
  EXPECT_EQ(back.feed_forward_proj, "gated-gelu");
  EXPECT_FALSE(back.tie_word_embeddings);
  EXPECT_EQ(back.relative_attention_max_distance, 64);
  EXPECT_EQ(back.num_decoder_layers, 12);
  EXPECT_EQ(back.vocab_size, 32128);
}

}  // namespace
}  // namespace merc::nn::t5
