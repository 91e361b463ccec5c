#include "merc/nn/expert_attention.h"

#include <cmath>

#include <gtest/gtest.h>

#include "gradcheck.h"

namespace merc::nn {
namespace {

// q, k, v = identity with zero bias and a zero Mlp, so layer(x) = softmax(q k^T / sqrt(hd)) v per head.
void make_pure_attention(ExpertAttentionImpl& layer) {
  torch::NoGradGuard no_grad;
  const auto d = layer.options.dim();
  for (auto* lin : {&layer.q, &layer.k, &layer.v}) {
    (*lin)->weight.copy_(torch::eye(d));
    (*lin)->bias.zero_();
  }
  for (auto* lin : {&layer.fc1, &layer.fc2}) {
    (*lin)->weight.zero_();
    (*lin)->bias.zero_();
  }
}

TEST(ExpertAttention, HandComputedMaskedAttention) {
  // D = 2 with 2 heads: head_dim 1, scale 1, head h sees coordinate h only.
  ExpertAttention layer(ExpertAttentionOptions(2).num_heads(2));
  make_pure_attention(*layer);
  layer->eval();
  // x0 = (1, 0), x1 = (5, 1), x2 = (1, 1); key 1 is unavailable.
  const auto x = torch::tensor({1.0f, 0.0f, 5.0f, 1.0f, 1.0f, 1.0f}).view({1, 3, 2});
  const auto mask = torch::tensor({true, false, true}).view({1, 3});
  const auto y = layer(x, mask);
  // Head 0: keys k0 = k2 = 1 -> equal weights 1/2 on keys 0 and 2 for every query -> (1 + 1) / 2 = 1.
  //   (If key 1 leaked, query 1 would score 25 on it and output ~5.)
  // Head 1: keys k0 = 0, k2 = 1, values 0 and 1. Query 0 (q = 0): 1/2. Queries 1, 2 (q = 1):
  //   e / (1 + e).
  const double s = std::exp(1.0) / (1 + std::exp(1.0));
  const auto expected = torch::tensor({1.0, 0.5, 1.0, s, 1.0, s}, torch::kFloat32).view({1, 3, 2});
  // 1e-6: float32 exp/divide rounding on values in [0, 1].
  EXPECT_TRUE(torch::allclose(y, expected, 0, 1e-6)) << y;
}

TEST(ExpertAttention, MaskedKeysGetExactlyZeroAttention) {
  torch::manual_seed(3);
  ExpertAttention layer(ExpertAttentionOptions(4).num_heads(2));
  layer->eval();
  auto x = torch::randn({1, 3, 4}).requires_grad_(true);
  const auto mask = torch::tensor({true, false, true}).view({1, 3});
  // Rows 0 and 2 depend on x1 only through key/value 1, which is masked: the gradient must be
  // exactly zero (a weight of e.g. 1e-30 would make it non-zero).
  const auto y = layer(x, mask);
  (y.select(1, 0).sum() + y.select(1, 2).sum()).backward();
  EXPECT_TRUE(torch::equal(x.grad().select(1, 1), torch::zeros({1, 4}))) << x.grad();
  EXPECT_GT(x.grad().select(1, 0).abs().sum().item<float>(), 0.0f);
}

TEST(ExpertAttention, AllMaskedDialogueGivesZeroAttentionNotNaN) {
  torch::manual_seed(5);
  ExpertAttention layer(ExpertAttentionOptions(4).num_heads(2));
  layer->eval();
  auto x = torch::randn({2, 3, 4}).requires_grad_(true);
  const auto mask = torch::tensor({true, true, false, false, false, false}).view({2, 3});
  const auto y = layer(x, mask);
  ASSERT_TRUE(torch::isfinite(y).all().item<bool>()) << y;
  // Attention output 0 -> every row of dialogue 1 is 0 + Mlp(0) = fc2(gelu(fc1.bias)) (fc2 with its bias).
  const auto mlp0 = layer->fc2(torch::gelu(layer->fc1->bias));
  // 1e-6: float32 rounding of a 4-wide Linear.
  EXPECT_TRUE(torch::allclose(y[1], mlp0.expand({3, 4}), 0, 1e-6)) << y[1];
  y.sum().backward();
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>()) << x.grad();
  for (const auto& p : layer->parameters()) EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
  // Dialogue 1's attention is zero, so its inputs get no gradient at all.
  EXPECT_TRUE(torch::equal(x.grad()[1], torch::zeros({3, 4})));
}

TEST(ExpertAttention, GradientMatchesFiniteDifferences) {
  torch::manual_seed(11);
  ExpertAttention layer(ExpertAttentionOptions(4).num_heads(2).mlp_ratio(1.5));
  layer->to(torch::kFloat64);
  layer->eval();
  auto x = torch::randn({2, 3, 4}, torch::kFloat64).requires_grad_(true);
  const auto mask = torch::tensor({true, false, true, false, false, false}).view({2, 3});
  // 1e-7: see gradcheck.h.
  EXPECT_LT(testing::max_gradient_error([&] { return layer(x, mask); }, {x, layer->q->weight, layer->fc1->weight}),
            1e-7);
}

TEST(ExpertStack, AddsOuterResidualAfterEveryLayer) {
  torch::manual_seed(7);
  ExpertStack stack(ExpertAttentionOptions(4).num_heads(2), 3);
  stack->eval();
  ASSERT_EQ(stack->layers->size(), 3u);
  const auto x = torch::randn({2, 5, 4});
  const auto mask = torch::rand({2, 5}) > 0.4;
  auto expected = x;
  for (const auto& l : *stack->layers) expected = expected + l->as<ExpertAttentionImpl>()->forward(expected, mask);
  const auto y = stack(x, mask);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(y, expected));
  // And it is not the identity (the layers do something).
  EXPECT_FALSE(torch::allclose(y, x));
}

TEST(ExpertStack, ShapesAndParameterCount) {
  ExpertStack stack(ExpertAttentionOptions(8).num_heads(4).mlp_ratio(2.0), 2);
  const auto y = stack(torch::randn({3, 6, 8}), torch::ones({3, 6}, torch::kBool));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{3, 6, 8}));
  int64_t n = 0;
  for (const auto& p : stack->parameters()) n += p.numel();
  // Per layer: q, k, v 3 * (8*8 + 8) = 216; fc1 8*16 + 16 = 144; fc2 16*8 + 8 = 136 -> 496; no out-proj, no norm.
  EXPECT_EQ(n, 2 * 496);
}

TEST(ExpertAttention, RejectsBadShapesAndOptions) {
  EXPECT_THROW(ExpertAttention(ExpertAttentionOptions(5).num_heads(2)), c10::Error);
  EXPECT_THROW(ExpertStack(ExpertAttentionOptions(4), 0), c10::Error);
  ExpertAttention layer(ExpertAttentionOptions(4));
  EXPECT_THROW(layer(torch::zeros({1, 3, 5}), torch::ones({1, 3}, torch::kBool)), c10::Error);
  EXPECT_THROW(layer(torch::zeros({1, 3, 4}), torch::ones({1, 2}, torch::kBool)), c10::Error);
  EXPECT_THROW(layer(torch::zeros({1, 3, 4}), torch::ones({1, 3})), c10::Error);  // float mask
}

}  // namespace
}  // namespace merc::nn
