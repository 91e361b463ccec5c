#include "merc/nn/graph/edge_attention.h"

#include <cmath>

#include <gtest/gtest.h>

#include "../gradcheck.h"

namespace merc::nn {
namespace {

TEST(EdgeAttention, HandComputedWeights) {
  EdgeAttention att(EdgeAttentionOptions(2));
  {
    torch::NoGradGuard no_grad;
    att->weight.copy_(torch::tensor({1.0f, 0.0f, 0.0f, 2.0f}).view({2, 2}));
  }
  // Nodes g0 = (1, 0), g1 = (0, 1), g2 = (1, 1). Edges into node 0 from 0, 1, 2 and into node 2
  // from 1, 2. Scores g_i^T W g_j: g0^T W = (1, 0) -> 1, 0, 1; g2^T W = (1, 2) -> g1: 2, g2: 3.
  const auto x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f}).view({3, 2});
  const auto edges = torch::tensor({0, 1, 2, 1, 2, 0, 0, 0, 2, 2}, torch::kInt64).view({2, 5});
  const auto a = att(x, edges);
  const double e = std::exp(1.0), z = 2 * e + 1;
  const auto expected = torch::tensor({e / z, 1 / z, e / z, 1 / (1 + e), e / (1 + e)}, torch::kFloat32);
  // 1e-6: float32 exp/divide rounding on values in (0, 1).
  EXPECT_TRUE(torch::allclose(a, expected, 0, 1e-6)) << a;
}

TEST(EdgeAttention, GradientMatchesFiniteDifferences) {
  torch::manual_seed(11);
  EdgeAttention att(EdgeAttentionOptions(3));
  att->to(torch::kFloat64);
  auto x = torch::randn({4, 3}, torch::kFloat64).requires_grad_(true);
  const auto edges = torch::tensor({0, 1, 2, 3, 1, 0, 0, 1, 1, 3}, torch::kInt64).view({2, 5});
  // 1e-7: see gradcheck.h.
  EXPECT_LT(testing::max_gradient_error([&] { return att(x, edges); }, {x, att->weight}), 1e-7);
}

TEST(EdgeAttention, RejectsWrongFeatureWidth) {
  EdgeAttention att(EdgeAttentionOptions(3));
  EXPECT_THROW(att(torch::zeros({2, 4}), torch::zeros({2, 1}, torch::kInt64)), c10::Error);
  EXPECT_THROW(att(torch::zeros({2, 3}), torch::zeros({3, 1}, torch::kInt64)), c10::Error);
}

}  // namespace
}  // namespace merc::nn
