#include "merc/nn/diffusion/score_cross_attention.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::nn {
namespace score_cross_attention_test {

TEST(ScoreCrossAttention, FairseqSinusoidalTableByHand) {
  // dim 4: half 2, w = exp(-ln(10000) [0, 1] / (2 - 1)) = [1, 1e-4]; row p = [sin(p w) | cos(p w)].
  const auto table = fairseq_sinusoidal_table(3, 4);
  ASSERT_EQ(table.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(torch::equal(table[0], torch::zeros({4})));  // padding row
  const std::vector<double> row2{std::sin(2.0), std::sin(2e-4), std::cos(2.0), std::cos(2e-4)};
  for (int64_t j = 0; j < 4; ++j) EXPECT_NEAR(table[2][j].item<double>(), row2[size_t(j)], 1e-6);  // float32
}

TEST(ScoreCrossAttention, FutureMaskHidesLaterConditionPositions) {
  // L_q = L_k: query i sees keys j <= i, so changing key 3 leaves queries 0..2 unchanged.
  ScoreCrossAttention attn(ScoreCrossAttentionOptions(8, 2));
  torch::manual_seed(41);
  const auto q = torch::randn({2, 4, 8});
  auto cond = torch::randn({2, 4, 8});
  const auto a = attn(q, cond);
  cond.select(1, 3).add_(torch::randn({2, 8}));  // not a constant shift: ln0 would remove that
  const auto b = attn(q, cond);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{2, 4, 8}));
  EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 3), b.narrow(1, 0, 3), 0, 1e-6));  // float32 rounding only
  EXPECT_GT((a.select(1, 3) - b.select(1, 3)).abs().max().item<double>(), 1e-4);
  // Different lengths are accepted (offset 1 + |L_k - L_q|).
  EXPECT_EQ(attn(torch::randn({2, 8, 8}), torch::randn({2, 1, 8})).sizes(), (std::vector<int64_t>{2, 8, 8}));
  EXPECT_THROW(attn(q, torch::randn({2, 4, 6})), merc::Error);
}

}  // namespace score_cross_attention_test
}  // namespace merc::nn
