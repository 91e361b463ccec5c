// T5Model: a whole forward of two tiny T5s (t5-base style relu + tied, v1.1 style gated-gelu +
// untied) against tests/fixtures/make_t5_reference.py, an independent float64 NumPy T5 checked by
// hand; the one-layer example that script works out by hand; shift_right; the LM loss.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "merc/core/error.h"
#include "merc/nn/t5/checkpoint.h"
#include "merc/nn/t5/model.h"
#include "t5_fixture.h"

namespace merc::nn::t5 {
namespace model_test_detail {

using t5_fixtures::npy_double;
using t5_fixtures::npy_long;
using t5_fixtures::t5_fixture;

// float32 model vs float64 reference: the values are O(1) (|logits| < 4) after ~20 float32 sums of
// ~16 to 50 terms each; float32 rounding (6e-8 relative) accumulates to ~1e-6, so 1e-5 is tight yet
// safe. A wrong bucket, norm or rescale moves values by > 1e-2.
constexpr double kFloatTol = 1e-5;
// The same model in float64: identical float32-valued weights, only summation order differs.
constexpr double kDoubleTol = 1e-12;

struct Reference {
  Seq2SeqInput input;
  torch::Tensor encoder_states, logits, loss;
};

Reference reference(const std::string& variant) {
  Reference r;
  r.input.encoder.input_ids = npy_long(variant, "input_ids");
  r.input.encoder.attention_mask = npy_long(variant, "attention_mask");
  r.input.labels = npy_long(variant, "labels");
  r.encoder_states = npy_double(variant, "encoder_states");
  r.logits = npy_double(variant, "logits");
  r.loss = npy_double(variant, "loss");
  return r;
}

T5Model load(const std::string& variant, const std::string& file) {
  T5ModelOptions o;
  o.config = read_t5_config((t5_fixture(variant) / "config.json").string());
  T5Model model(o);
  load_t5_state(*model, read_hf_weights_file((t5_fixture(variant) / file).string()));
  model->eval();
  return model;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b).abs().max().item<double>();
}

class T5Reference : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

}  // namespace model_test_detail

namespace {

using namespace model_test_detail;

TEST_P(T5Reference, EncoderStatesLogitsAndLossMatch) {
  const auto& [variant, file] = GetParam();
  const Reference r = reference(variant);
  T5Model model = load(variant, file);
  Seq2SeqOutput out = model->forward(r.input);
  EXPECT_LT(max_diff(out.encoder_states, r.encoder_states), kFloatTol);
  EXPECT_LT(max_diff(out.logits, r.logits), kFloatTol);
  EXPECT_NEAR(out.loss.item<double>(), r.loss.item<double>(), kFloatTol);
  model->to(torch::kDouble);
  out = model->forward(r.input);
  EXPECT_LT(max_diff(out.encoder_states, r.encoder_states), kDoubleTol);
  EXPECT_LT(max_diff(out.logits, r.logits), kDoubleTol);
  EXPECT_NEAR(out.loss.item<double>(), r.loss.item<double>(), kDoubleTol);
}

INSTANTIATE_TEST_SUITE_P(BothVariantsBothFormats, T5Reference,
                         ::testing::Combine(::testing::Values("relu_tied", "gated_untied"),
                                            ::testing::Values("model.safetensors", "pytorch_model.bin")),
                         [](const auto& info) {
                           const std::string f = std::get<1>(info.param);
                           return std::get<0>(info.param) + (f == "model.safetensors" ? "_safetensors" : "_bin");
                         });

// make_t5_reference.py check_by_hand: one encoder layer, d_model 2, one head, identity projections,
// eps 0, bias table [0, 2 + ln 3, 0, 2]; every number is worked out in that script's comments.
TEST(T5Model, EncoderMatchesTheHandWorkedExample) {
  T5ModelOptions o;
  T5Config& c = o.config;
  c.vocab_size = 3, c.d_model = 2, c.d_kv = 2, c.d_ff = 2, c.num_layers = 1, c.num_decoder_layers = 1, c.num_heads = 1;
  c.relative_attention_num_buckets = 4, c.relative_attention_max_distance = 2, c.dropout_rate = 0.0;
  c.layer_norm_epsilon = 0.0;
  T5Model model(o);
  model->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->encoder->named_parameters()) {
      if (p.value().dim() == 1) p.value().fill_(1.0);  // the norms
      else if (p.value().size(0) == 2) p.value().copy_(torch::eye(2, torch::kDouble));  // q, k, v, o, wi, wo
    }
    auto params = model->encoder->named_parameters();
    params["block.0.layer.0.SelfAttention.relative_attention_bias.embedding.weight"].copy_(
        torch::tensor({0.0, 2.0 + std::log(3.0), 0.0, 2.0}, torch::kDouble).view({4, 1}));
    params["block.0.layer.1.DenseReluDense.wi.weight"].copy_(torch::tensor({{1.0, 0.0}, {0.0, -1.0}}, torch::kDouble));
  }
  EncodeInput in;
  in.inputs_embeds = torch::tensor({{{1.0, 1.0}, {1.0, -1.0}}}, torch::kDouble);
  const torch::Tensor got = model->encode(in)[0];
  const double s0 = std::sqrt(2.5), s1 = std::sqrt(2.125);
  const torch::Tensor y = torch::tensor({{2 + 2 / s0, 1.0}, {2 + 2 / s1, -0.5 + 0.5 / s1}}, torch::kDouble);
  const torch::Tensor want = y / y.pow(2).mean(-1, true).sqrt();
  EXPECT_TRUE(torch::allclose(got, want, 0.0, kDoubleTol)) << got << want;
}

TEST(T5Model, ShiftRightAsHuggingFace) {
  const torch::Tensor labels = torch::tensor({{7, 8, 1}, {9, -100, -100}});
  const torch::Tensor want = torch::tensor({{5, 7, 8}, {5, 9, 0}});  // start 5 first; -100 -> pad 0
  EXPECT_TRUE(torch::equal(shift_right(labels, /*decoder_start_token_id=*/5, /*pad_token_id=*/0), want));
  EXPECT_THROW(shift_right(torch::zeros({3}, torch::kLong), 0, 0), Error);
}

TEST(T5Model, LossIsLogVocabForZeroLogitsAndSkipsIgnoredLabels) {
  T5ModelOptions o;
  o.config = read_t5_config((t5_fixture("gated_untied") / "config.json").string());
  T5Model model(o);
  {
    torch::NoGradGuard no_grad;
    model->lm_head->weight.zero_();  // every logit 0: each counted label costs ln(vocab) by hand
  }
  Seq2SeqInput in;
  in.encoder.input_ids = torch::tensor({{3, 4, 1}});
  in.labels = torch::tensor({{6, 1, -100}});
  EXPECT_NEAR(model->forward(in).loss.item<double>(), std::log(50.0), 1e-6);  // float32 log-sum-exp of 50 zeros
  // The reference fixture's loss (an ignored tail in row 1) is checked in T5Reference; here the
  // ignored label would be out of range, so counting it would throw.
  in.ignore_index = -1;
  EXPECT_THROW(model->forward(in), std::exception);
  // Labels padded with the pad id and nothing ignored (HRG-SSA's release) count every position.
  in.labels = torch::tensor({{6, 1, 0}});
  EXPECT_NEAR(model->forward(in).loss.item<double>(), std::log(50.0), 1e-6);
}

TEST(T5Model, NamesAndShapes) {
  T5ModelOptions o;
  o.config = read_t5_config((t5_fixture("relu_tied") / "config.json").string());
  T5Model tied(o);
  EXPECT_FALSE(tied->lm_head);
  EXPECT_TRUE(tied->named_parameters().contains("shared.weight"));
  EXPECT_TRUE(tied->named_parameters().contains("decoder.block.1.layer.2.DenseReluDense.wi.weight"));
  EncodeInput in;
  in.input_ids = torch::tensor({{3, 4, 1}});
  const torch::Tensor e = tied->encode(in);
  EXPECT_EQ(e.sizes(), (std::vector<int64_t>{1, 3, 16}));
  DecodeInput d;
  d.input_ids = torch::tensor({{0, 5}});
  d.memory = e;
  const DecodeOutput out = tied->decode(d);
  EXPECT_EQ(tied->logits(out.states).sizes(), (std::vector<int64_t>{1, 2, 50}));
  EXPECT_EQ(out.cache.size(), 2u);
  in.inputs_embeds = torch::zeros({1, 3, 16});
  EXPECT_THROW(tied->encode(in), Error);  // ids and embeddings both given
}

}  // namespace
}  // namespace merc::nn::t5
