#include "merc/nn/loss/masked_mean.h"

#include <limits>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace merc::nn {
namespace {

TEST(MaskedMean, MeanOverTheMaskedRowsOnly) {
  const auto per = torch::tensor({1.f, 2.f, 100.f, 3.f});
  const auto mask = torch::tensor({true, true, false, true});
  EXPECT_FLOAT_EQ(masked_mean(per, mask).item<float>(), 2.0f);  // (1 + 2 + 3) / 3
}

TEST(MaskedMean, NonFiniteValuesOutsideTheMaskDoNotLeak) {
  const float inf = std::numeric_limits<float>::infinity();
  auto per = torch::tensor({1.f, std::numeric_limits<float>::quiet_NaN(), inf, 3.f}).requires_grad_(true);
  const auto mask = torch::tensor({true, false, false, true});
  const auto m = masked_mean(per, mask);
  EXPECT_FLOAT_EQ(m.item<float>(), 2.0f);
  m.backward();
  // d/dper_i = 1/2 on the masked rows, exactly 0 (not NaN) elsewhere.
  EXPECT_TRUE(torch::equal(per.grad(), torch::tensor({0.5f, 0.f, 0.f, 0.5f})));
}

TEST(MaskedMean, EmptyMaskGivesZeroWithAGraph) {
  auto per = torch::tensor({1.f, 2.f}).requires_grad_(true);
  const auto m = masked_mean(per, torch::zeros({2}, torch::kBool));
  EXPECT_EQ(m.item<float>(), 0.0f);
  ASSERT_TRUE(m.requires_grad());
  m.backward();
  EXPECT_TRUE(torch::equal(per.grad(), torch::zeros({2})));
}

TEST(MaskedMean, RejectsMismatchedShapes) {
  EXPECT_THROW(masked_mean(torch::ones({3}), torch::ones({2}, torch::kBool)), c10::Error);
  EXPECT_THROW(masked_mean(torch::ones({2, 2}), torch::ones({2, 2}, torch::kBool)), c10::Error);
  EXPECT_THROW(masked_mean(torch::ones({2}), torch::ones({2})), c10::Error);  // mask not bool
}

}  // namespace
}  // namespace merc::nn
