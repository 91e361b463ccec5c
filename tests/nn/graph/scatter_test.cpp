#include "merc/nn/graph/scatter.h"

#include <cmath>

#include <gtest/gtest.h>

#include "../gradcheck.h"

namespace merc::nn {
namespace {

TEST(Scatter, SumMeanAndSoftmaxByHand) {
  const auto src = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kFloat64);
  const auto index = torch::tensor({0, 2, 0, 2}, torch::kInt64);
  EXPECT_TRUE(torch::equal(scatter_sum(src, index, 3), torch::tensor({4.0, 0.0, 6.0}, torch::kFloat64)));
  EXPECT_TRUE(torch::equal(scatter_mean(src, index, 3), torch::tensor({2.0, 0.0, 3.0}, torch::kFloat64)));
  // Segment 0 holds scores 1, 3: softmax = (1, e^2) / (1 + e^2); segment 2 holds 2, 4 likewise.
  const double a = 1 / (1 + std::exp(2.0)), b = std::exp(2.0) / (1 + std::exp(2.0));
  const auto sm = scatter_softmax(src, index, 3);
  EXPECT_TRUE(torch::allclose(sm, torch::tensor({a, a, b, b}, torch::kFloat64), 0, 1e-15));
}

TEST(Scatter, SoftmaxIsStableForLargeScores) {
  const auto s = torch::tensor({1000.0f, 1001.0f, -1000.0f}, torch::kFloat32);
  const auto sm = scatter_softmax(s, torch::tensor({0, 0, 1}, torch::kInt64), 2);
  EXPECT_TRUE(torch::isfinite(sm).all().item<bool>());
  EXPECT_NEAR(sm[0].item<float>() + sm[1].item<float>(), 1.0f, 1e-6);
  EXPECT_EQ(sm[2].item<float>(), 1.0f);
}

TEST(Scatter, SoftmaxGradientMatchesFiniteDifferences) {
  torch::manual_seed(5);
  auto s = torch::randn({7}, torch::kFloat64).requires_grad_(true);
  const auto index = torch::tensor({0, 1, 0, 2, 1, 0, 2}, torch::kInt64);
  // 1e-7: see gradcheck.h (double, h = 1e-6, O(1) values).
  EXPECT_LT(testing::max_gradient_error([&] { return scatter_softmax(s, index, 3); }, {s}), 1e-7);
}

TEST(Scatter, RejectsOutOfRangeIndex) {
  EXPECT_THROW(scatter_sum(torch::ones({2}), torch::tensor({0, 3}, torch::kInt64), 3), c10::Error);
  EXPECT_THROW(scatter_sum(torch::ones({2}), torch::tensor({0}, torch::kInt64), 3), c10::Error);
}

}  // namespace
}  // namespace merc::nn
