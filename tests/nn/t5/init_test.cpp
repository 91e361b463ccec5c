#include "merc/nn/t5/init.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::nn::t5 {
namespace {

T5Config init_config(bool tied) {
  T5Config c;
  c.vocab_size = 500;
  c.d_model = 64;
  c.d_kv = 16;
  c.num_heads = 4;
  c.d_ff = 256;
  c.num_layers = 2;
  c.num_decoder_layers = 2;
  c.tie_word_embeddings = tied;
  return c;
}

double sample_std(const torch::Tensor& t) { return t.to(torch::kDouble).std().item<double>(); }

// Sample standard deviations against Hugging Face's rules. Every tensor has >= 4096 values, so the
// sample std's relative standard error is <= 1/sqrt(2*4096) = 1.1 %; 6 % is over 5 standard errors.
constexpr double kStdRelTol = 0.06;

TEST(T5Init, StandardDeviationsFollowHuggingFacesRules) {
  torch::manual_seed(3);
  T5Model model(T5ModelOptions{init_config(false), -1});
  init_t5_weights(*model, 1.0);
  const auto p = model->named_parameters();
  auto expect_std = [&](const std::string& name, double expected) {
    EXPECT_NEAR(sample_std(p[name]) / expected, 1.0, kStdRelTol) << name;
  };
  expect_std("shared.weight", 1.0);
  expect_std("lm_head.weight", 1.0);
  expect_std("encoder.block.0.layer.0.SelfAttention.q.weight", 1.0 / std::sqrt(64.0 * 16.0));
  expect_std("encoder.block.0.layer.0.SelfAttention.k.weight", 1.0 / std::sqrt(64.0));
  expect_std("decoder.block.1.layer.1.EncDecAttention.v.weight", 1.0 / std::sqrt(64.0));
  expect_std("decoder.block.1.layer.0.SelfAttention.o.weight", 1.0 / std::sqrt(4.0 * 16.0));
  expect_std("encoder.block.1.layer.1.DenseReluDense.wi.weight", 1.0 / std::sqrt(64.0));
  expect_std("decoder.block.0.layer.2.DenseReluDense.wo.weight", 1.0 / std::sqrt(256.0));
  // The bias table has 32 x 4 values: a looser check (relative standard error 6 %, 25 % = 4 of them).
  EXPECT_NEAR(sample_std(p["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.embedding.weight"]) * 8.0,
              1.0, 0.25);
  EXPECT_TRUE(torch::equal(p["encoder.final_layer_norm.weight"], torch::ones({64})));
  EXPECT_TRUE(torch::equal(p["decoder.block.1.layer.2.layer_norm.weight"], torch::ones({64})));
}

TEST(T5Init, FactorScalesAndTheSeedRepeats) {
  auto build = [](double factor) {
    torch::manual_seed(9);
    T5Model m(T5ModelOptions{init_config(true), -1});
    init_t5_weights(*m, factor);
    return m;
  };
  const T5Model a = build(1.0), b = build(1.0), c = build(2.0);
  for (const auto& kv : a->named_parameters()) EXPECT_TRUE(torch::equal(kv.value(), b->named_parameters()[kv.key()]));
  // Same draws, twice the factor: every weight exactly doubles (norms: 2 instead of 1).
  EXPECT_TRUE(torch::allclose(c->named_parameters()["encoder.block.0.layer.0.SelfAttention.q.weight"],
                              2.0 * a->named_parameters()["encoder.block.0.layer.0.SelfAttention.q.weight"]));
  EXPECT_TRUE(torch::equal(c->named_parameters()["encoder.final_layer_norm.weight"], torch::full({64}, 2.0)));
}

TEST(T5Init, ResizeKeepsTheFirstRowsAndFollowsTheConfig) {
  for (bool tied : {true, false}) {
    torch::manual_seed(4);
    T5Model model(T5ModelOptions{init_config(tied), -1});
    const torch::Tensor before = model->shared->weight.clone();
    resize_token_embeddings(*model, 480);  // shrink, as t5-base 32128 -> 32110
    EXPECT_TRUE(torch::equal(model->shared->weight, before.slice(0, 0, 480)));
    EXPECT_EQ(model->options.config.vocab_size, 480);
    resize_token_embeddings(*model, 520);  // grow: old rows kept, new rows drawn
    EXPECT_TRUE(torch::equal(model->shared->weight.slice(0, 0, 480), before.slice(0, 0, 480)));
    EXPECT_EQ(model->shared->weight.size(0), 520);
    if (!tied) EXPECT_EQ(model->lm_head->weight.size(0), 520);
    model->eval();
    const torch::Tensor ids = torch::randint(0, 520, {2, 5}, torch::kLong);
    EXPECT_EQ(model->logits(model->encode(EncodeInput{ids, {}, {}})).size(2), 520);
    // The model's parameters are the new tables (an optimizer built now trains them).
    bool found = false;
    for (const auto& p : model->parameters()) found = found || p.is_same(model->shared->weight);
    EXPECT_TRUE(found);
  }
  T5Model model(T5ModelOptions{init_config(true), -1});
  EXPECT_THROW(resize_token_embeddings(*model, 0), Error);
}

}  // namespace
}  // namespace merc::nn::t5
