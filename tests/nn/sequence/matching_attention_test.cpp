#include "merc/nn/sequence/matching_attention.h"

#include <cmath>

#include <gtest/gtest.h>

#include "../gradcheck.h"

namespace merc::nn {
namespace {

// Float tolerance for a handful of exp/tanh evaluations on O(1) values: ~1e-7 relative each.
constexpr double kAttentionHandTol = 1e-6;

MatchingAttention unit_attention() {  // mem = cand = 1, W = 1, b = 0
  MatchingAttention att(MatchingAttentionOptions(1, 1));
  torch::NoGradGuard no_grad;
  att->transform->weight.fill_(1.0f);
  att->transform->bias.fill_(0.0f);
  return att;
}

TEST(MatchingAttention, HandExamplePaddingGetsZeroWeightAndTheRestIsRenormalised) {
  // Memory m = (1, 2, 5) with the last slot padding, one query x = 0.5: q = 0.5,
  // scores tanh(0.5 * 1) = 0.46211716, tanh(0.5 * 2) = 0.76159416, padding tanh(0) = 0; softmax over
  // all three, padding zeroed, renormalised = softmax over the two real slots:
  //   alpha = (0.42568534, 0.57431466, 0), pooled = 0.42568534 + 2 * 0.57431466 = 1.57431466
  // (numpy: s = tanh([.5, 1, 0]); e = exp(s); a = e / e.sum() * [1, 1, 0]; a /= a.sum()).
  MatchingAttention att = unit_attention();
  const auto memory = torch::tensor({1.0f, 2.0f, 5.0f}).view({1, 3, 1});
  const auto query = torch::tensor({0.5f}).view({1, 1, 1});
  const auto mask = torch::tensor({true, true, false}).view({1, 3});
  const MatchingAttentionOutput out = att(memory, query, mask);
  EXPECT_TRUE(torch::allclose(out.alpha, torch::tensor({0.42568534f, 0.57431466f, 0.0f}).view({1, 1, 3}), 0, kAttentionHandTol))
      << out.alpha;
  EXPECT_EQ(out.alpha[0][0][2].item<float>(), 0.0f);
  EXPECT_NEAR(out.pooled.item<float>(), 1.57431466, kAttentionHandTol);
  // The padded memory value never matters.
  const auto other = att(torch::tensor({1.0f, 2.0f, -100.0f}).view({1, 3, 1}), query, mask);
  EXPECT_TRUE(torch::equal(other.pooled, out.pooled));
  // Without the mask the third slot takes part (sanity: the masking above is what removed it).
  const auto unmasked = att(memory, query, torch::ones({1, 3}, torch::kBool));
  EXPECT_GT(unmasked.alpha[0][0][2].item<float>(), 0.1f);
}

TEST(MatchingAttention, BatchedQueriesRowsSumToOneAndEmptyRowIsZero) {
  torch::manual_seed(3);
  MatchingAttention att(MatchingAttentionOptions(4, 4));
  const auto memory = torch::randn({2, 3, 4});
  const auto mask = torch::tensor({true, true, true, false, false, false}).view({2, 3});
  const MatchingAttentionOutput out = att(memory, memory, mask);
  ASSERT_EQ(out.alpha.sizes(), (std::vector<int64_t>{2, 3, 3}));
  ASSERT_EQ(out.pooled.sizes(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_TRUE(torch::allclose(out.alpha[0].sum(-1), torch::ones({3}), 0, kAttentionHandTol));
  // Dialogue 1 has no real slot: the reference's 0/0 would be NaN, here weights and output are 0.
  EXPECT_EQ(out.alpha[1].abs().max().item<float>(), 0.0f);
  EXPECT_EQ(out.pooled[1].abs().max().item<float>(), 0.0f);
}

TEST(MatchingAttention, GradientsMatchFiniteDifferences) {
  torch::manual_seed(4);
  MatchingAttention att(MatchingAttentionOptions(3, 2));
  att->to(torch::kDouble);
  auto memory = torch::randn({2, 4, 3}, torch::kDouble).requires_grad_(true);
  auto queries = torch::randn({2, 2, 2}, torch::kDouble).requires_grad_(true);
  const auto mask = torch::tensor({true, true, true, false, true, true, false, false}).view({2, 4});
  const double err = testing::max_gradient_error([&] { return att(memory, queries, mask).pooled; },
                                                 {memory, queries, att->transform->weight, att->transform->bias});
  // Double-precision central differences (gradcheck.h): errors ~1e-9; 1e-6 leaves margin.
  EXPECT_LT(err, 1e-6);
}

TEST(MatchingAttention, RejectsBadShapes) {
  MatchingAttention att(MatchingAttentionOptions(3, 2));
  EXPECT_THROW(att(torch::zeros({1, 4, 2}), torch::zeros({1, 1, 2}), torch::ones({1, 4})), c10::Error);
  EXPECT_THROW(att(torch::zeros({1, 4, 3}), torch::zeros({1, 1, 3}), torch::ones({1, 4})), c10::Error);
  EXPECT_THROW(att(torch::zeros({1, 4, 3}), torch::zeros({1, 1, 2}), torch::ones({1, 3})), c10::Error);
}

}  // namespace
}  // namespace merc::nn
