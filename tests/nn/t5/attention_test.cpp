// T5 attention: unscaled scores worked by hand with identity projections, an explicit position
// bias and an additive mask; cached decoding equal to the full causal computation; cross-attention
// without position bias; finite-difference gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "../gradcheck.h"
#include "merc/core/error.h"
#include "merc/nn/t5/attention.h"

namespace merc::nn::t5 {
namespace attention_test_detail {

// One head of width 2 over d_model 2 with q = k = v = o = identity, in double, no dropout: the
// output is softmax(x x^T + bias) x.
Attention identity_attention() {
  Attention a(AttentionOptions{/*d_model=*/2, /*d_kv=*/2, /*num_heads=*/1, /*dropout=*/0.0});
  a->to(torch::kDouble);
  torch::NoGradGuard g;
  for (auto* lin : {&a->q, &a->k, &a->v, &a->o}) (*lin)->weight.copy_(torch::eye(2, torch::kDouble));
  return a;
}

// Softmax and two 2x2 products in double: 1e-12 against the closed forms.
constexpr double kAttentionHandTol = 1e-12;

Attention random_attention(bool relative_bias, bool bidirectional) {
  torch::manual_seed(5);
  AttentionOptions o{/*d_model=*/6, /*d_kv=*/3, /*num_heads=*/2, /*dropout=*/0.0, relative_bias, bidirectional};
  Attention a(o);
  a->to(torch::kDouble);
  a->eval();
  return a;
}

}  // namespace attention_test_detail

namespace {

using namespace attention_test_detail;

TEST(T5Attention, UnscaledScoresByHand) {
  Attention a = identity_attention();
  const torch::Tensor x = torch::tensor({{{1.0, 0.0}, {0.0, 1.0}}}, torch::kDouble);
  // scores = x x^T = I (no 1/sqrt(2)): row 0 weights (e, 1) / (e + 1).
  const AttentionOutput out = a->forward(x);
  const double e = std::exp(1.0);
  EXPECT_NEAR(out.output[0][0][0].item<double>(), e / (e + 1), kAttentionHandTol);
  EXPECT_NEAR(out.output[0][0][1].item<double>(), 1 / (e + 1), kAttentionHandTol);
  // With bias [[0, 2], [0, 0]]: row 0 scores (1, 2) -> weights (1, e) / (1 + e).
  const torch::Tensor bias = torch::tensor({{{{0.0, 2.0}, {0.0, 0.0}}}}, torch::kDouble);
  const AttentionOutput biased = a->forward(x, {}, {}, bias);
  EXPECT_NEAR(biased.output[0][0][0].item<double>(), 1 / (1 + e), kAttentionHandTol);
  EXPECT_NEAR(biased.output[0][0][1].item<double>(), e / (1 + e), kAttentionHandTol);
}

TEST(T5Attention, AdditiveMaskRemovesKeys) {
  Attention a = identity_attention();
  const torch::Tensor x = torch::tensor({{{1.0, 0.0}, {0.0, 1.0}}}, torch::kDouble);
  const torch::Tensor mask = torch::tensor({0.0, -1e9}, torch::kDouble).view({1, 1, 1, 2});  // key 1 masked
  const AttentionOutput out = a->forward(x, {}, mask);
  // Every query attends to key 0 only: output = v_0 = (1, 0); exp(-1e9) underflows to exactly 0.
  EXPECT_TRUE(torch::equal(out.output[0], torch::tensor({{1.0, 0.0}, {1.0, 0.0}}, torch::kDouble))) << out.output;
  // The bias handed to the next layer includes the mask (the reference passes it on that way).
  EXPECT_EQ(out.position_bias[0][0][0][1].item<double>(), -1e9);
}

TEST(T5Attention, CachedDecodingEqualsTheFullCausalPass) {
  Attention a = random_attention(/*relative_bias=*/true, /*bidirectional=*/false);
  const torch::Tensor x = torch::randn({2, 5, 6}, torch::kDouble);
  const torch::Tensor causal =
      torch::triu(torch::full({5, 5}, -1e9, torch::kDouble), /*diagonal=*/1).view({1, 1, 5, 5});
  const torch::Tensor full = a->forward(x, {}, causal).output;
  std::optional<KeyValueCache> cache;
  for (int64_t t = 0; t < 5; ++t) {
    const AttentionOutput step = a->forward(x.narrow(1, t, 1), {}, {}, {}, cache);
    cache = step.cache;
    // Same products in another grouping (a 1-row matmul): double rounding, 1e-12.
    EXPECT_TRUE(torch::allclose(step.output.squeeze(1), full.select(1, t), 0.0, 1e-12)) << "step " << t;
  }
  EXPECT_EQ(cache->key.size(2), 5);
}

TEST(T5Attention, CrossAttentionHasNoPositionBias) {
  Attention a = random_attention(/*relative_bias=*/false, /*bidirectional=*/true);
  const torch::Tensor x = torch::randn({1, 3, 6}, torch::kDouble);
  const torch::Tensor memory = torch::randn({1, 4, 6}, torch::kDouble);
  const AttentionOutput out = a->forward(x, memory);
  EXPECT_EQ(out.output.sizes(), (std::vector<int64_t>{1, 3, 6}));
  EXPECT_TRUE(torch::equal(out.position_bias, torch::zeros({1, 2, 3, 4}, torch::kDouble)));
  // The memory's projections come back as the cache; handed in again (a later decoding step) they
  // are used instead of recomputing them: same output. An empty cache means "compute them".
  EXPECT_EQ(out.cache.key.sizes(), (std::vector<int64_t>{1, 2, 4, 3}));
  const AttentionOutput reused = a->forward(x, memory, {}, {}, out.cache);
  EXPECT_TRUE(torch::equal(reused.output, out.output));
  EXPECT_TRUE(torch::equal(a->forward(x, memory, {}, {}, KeyValueCache{}).output, out.output));
  // A cache that does not belong to this memory is used as given (the caller's contract): different output.
  const AttentionOutput other = a->forward(x, torch::randn({1, 4, 6}, torch::kDouble));
  EXPECT_FALSE(torch::equal(a->forward(x, memory, {}, {}, other.cache).output, out.output));
  EXPECT_THROW(a->forward(torch::zeros({1, 3, 5}, torch::kDouble)), Error);
}

TEST(T5Attention, GradientsMatchFiniteDifferences) {
  Attention a = random_attention(/*relative_bias=*/true, /*bidirectional=*/true);
  const torch::Tensor x = torch::randn({1, 3, 6}, torch::kDouble).requires_grad_(true);
  // Central differences in double, h = 1e-6 (gradcheck.h): errors ~1e-10, checked against 1e-7.
  EXPECT_LT(testing::max_gradient_error([&] { return a->forward(x).output; },
                                        {x, a->q->weight, a->o->weight, a->relative_attention_bias->embedding->weight}),
            1e-7);
}

}  // namespace
}  // namespace merc::nn::t5
