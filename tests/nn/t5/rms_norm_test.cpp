// T5's RMS layer norm: a hand-computed row, scale-only behaviour (no centring: a constant row does
// not become zero), the learned weight, finite-difference gradients, and shape errors.
#include <gtest/gtest.h>

#include "../gradcheck.h"
#include "merc/core/error.h"
#include "merc/nn/t5/rms_norm.h"

namespace merc::nn::t5 {
namespace {

TEST(T5RmsNorm, HandComputedRow) {
  RmsNorm norm(2, /*eps=*/0.0);
  // x = (3, 4): mean of squares 12.5, rms 3.5355339; y = (0.8485281, 1.1313708).
  const torch::Tensor y = norm->forward(torch::tensor({{3.0, 4.0}}, torch::kDouble));
  // Double arithmetic of three operations: within 1e-12 of the closed form 3 / sqrt(12.5).
  EXPECT_NEAR(y[0][0].item<double>(), 3.0 / std::sqrt(12.5), 1e-12);
  EXPECT_NEAR(y[0][1].item<double>(), 4.0 / std::sqrt(12.5), 1e-12);
}

TEST(T5RmsNorm, ScalesWithoutCentringAndAppliesTheWeight) {
  RmsNorm norm(3, 1e-6);
  {
    torch::NoGradGuard g;
    norm->weight.copy_(torch::tensor({1.0f, 2.0f, -1.0f}));
  }
  // A constant row c: rms = |c|, so y = weight * sign(c) (LayerNorm would give 0 + bias).
  const torch::Tensor y = norm->forward(torch::full({1, 3}, 5.0f));
  // eps 1e-6 against mean square 25 changes y by 2e-8 relative; float32 rounding ~1e-7.
  EXPECT_TRUE(torch::allclose(y, torch::tensor({{1.0f, 2.0f, -1.0f}}), /*rtol=*/1e-6, /*atol=*/1e-6)) << y;
}

TEST(T5RmsNorm, GradientsMatchFiniteDifferences) {
  torch::manual_seed(3);
  RmsNorm norm(5, 1e-6);
  norm->to(torch::kDouble);
  {
    torch::NoGradGuard g;
    norm->weight.copy_(torch::randn({5}, torch::kDouble));
  }
  const torch::Tensor x = torch::randn({2, 3, 5}, torch::kDouble).requires_grad_(true);
  // h = 1e-6 central differences in double: the gradcheck.h error budget (~1e-10) under 1e-7.
  EXPECT_LT(testing::max_gradient_error([&] { return norm->forward(x); }, {x, norm->weight}), 1e-7);
}

TEST(T5RmsNorm, RefusesAnotherWidth) {
  RmsNorm norm(4);
  EXPECT_THROW(norm->forward(torch::zeros({2, 3})), Error);
}

}  // namespace
}  // namespace merc::nn::t5
