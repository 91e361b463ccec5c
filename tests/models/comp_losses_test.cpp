#include "merc/models/comp_losses.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../nn/gradcheck.h"

namespace merc::models::comp {
namespace losses_test {

constexpr double kTol = 1e-6;  // float32 arithmetic on values of order 1

TEST(CompLosses, DisentangleCosineAndJsdOnAHandExample) {
  // Two modalities, N = 2 rows, D = 2, only row 0 is real.
  const auto P0 = torch::tensor({1.f, 0.f, 3.f, 4.f}).reshape({2, 2});
  const auto P1 = torch::tensor({1.f, 1.f, 0.f, 1.f}).reshape({2, 2});
  const auto S0 = torch::tensor({0.f, 2.f, 1.f, 0.f}).reshape({2, 2});
  const auto S1 = torch::tensor({1.f, 0.f, 2.f, 2.f}).reshape({2, 2});
  const auto mask = torch::tensor({true, false});
  // Row 0: |cos(P0, P1)| = 1/sqrt(2), |cos(P0, S0)| = 0, |cos(P1, S1)| = 1/sqrt(2); row 1 is masked.
  const DisentangleTerms t = disentangle_loss({P0, P1}, {S0, S1}, mask);
  EXPECT_NEAR(t.cosine.item<double>(), std::sqrt(2.0), kTol);
  // JSD over BOTH rows (padding included, divided by N = 2):
  //   p = sigmoid(S0), q = sigmoid(S1), m = (p + q)/2, 0.5 * sum[p log(p/m) + q log(q/m)] / 2
  //   = 0.033792014469043175 (numpy float64, /usr/bin/python3).
  EXPECT_NEAR(t.jsd.item<double>(), 0.033792014469043175, kTol);
  EXPECT_NEAR(t.total().item<double>(), std::sqrt(2.0) + 0.033792014469043175, kTol);
  // A single modality has no pair: zero.
  EXPECT_EQ(disentangle_loss({P0}, {S0}, mask).total().item<float>(), 0.0f);
  // Three modalities sum the three pairs.
  const DisentangleTerms three = disentangle_loss({P0, P1, P0}, {S0, S1, S0}, mask);
  const double expected = t.total().item<double>() + disentangle_loss({P0, P0}, {S0, S0}, mask).total().item<double>() +
                          disentangle_loss({P1, P0}, {S1, S0}, mask).total().item<double>();
  EXPECT_NEAR(three.total().item<double>(), expected, kTol);
}

TEST(CompLosses, MaskedTaskLossesAverageOverRealRowsOnly) {
  const auto logits = torch::tensor({0.f, 0.f, 5.f, -5.f, 9.f, 9.f}).reshape({3, 2});
  const auto label = torch::tensor({1, 0, -1}, torch::kLong);
  const auto mask = torch::tensor({true, true, false});
  // Rows: -log(1/2) = ln 2; -log_softmax([5, -5])[0] = log(1 + e^-10).
  EXPECT_NEAR(masked_ce(logits, label, mask).item<double>(), (std::log(2.0) + std::log1p(std::exp(-10.0))) / 2, kTol);
  const auto pred = torch::tensor({1.f, 2.f, 100.f});
  const auto y = torch::tensor({0.f, 4.f, 0.f});
  EXPECT_NEAR(masked_mse(pred, y, mask).item<double>(), (1.0 + 4.0) / 2, kTol);
  // No real row: 0, not NaN.
  EXPECT_EQ(masked_mse(pred, y, torch::zeros({3}, torch::kBool)).item<float>(), 0.0f);
  EXPECT_EQ(masked_ce(logits, label, torch::zeros({3}, torch::kBool)).item<float>(), 0.0f);
}

// The cosine and JSD terms have hand-written forms (comp_losses.cpp): their gradients against
// double-precision central differences (gradcheck.h: errors ~1e-9; 1e-6 leaves margin).
TEST(CompLosses, CosineAndJsdGradientsMatchFiniteDifferences) {
  torch::manual_seed(3);
  const auto opts = torch::TensorOptions().dtype(torch::kDouble).requires_grad(true);
  const auto x = torch::randn({5, 4}, opts), y = torch::randn({5, 4}, opts);
  const auto mask = torch::tensor({true, true, false, true, true});
  EXPECT_LT(nn::testing::max_gradient_error([&] { return abs_cosine_mean(x, y, mask); }, {x, y}), 1e-6);
  EXPECT_LT(nn::testing::max_gradient_error([&] { return jsd_sigmoid(x, y); }, {x, y}), 1e-6);
  // Both sides through the sum of three pairs, as the model calls it.
  const auto z = torch::randn({5, 4}, opts);
  EXPECT_LT(nn::testing::max_gradient_error(
                [&] { return disentangle_loss({x, y, z}, {y, z, x}, mask).total(); }, {x, y, z}),
            1e-6);
}

TEST(CompLosses, DegenerateInputsGiveFiniteGradients) {
  // An all-zero row: cos = 0 / eps^2 = 0 with a finite gradient (the norm is clamped before sqrt).
  auto x = torch::zeros({2, 3}, torch::TensorOptions().dtype(torch::kFloat).requires_grad(true));
  auto y = torch::ones({2, 3}, torch::TensorOptions().requires_grad(true));
  abs_cosine_mean(x, y, torch::tensor({true, true})).backward();
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(y.grad()).all().item<bool>());
  // Both sigmoids underflow to 0 (float32 sigmoid(-200) = 0): the JSD and its gradient are 0.
  auto a = torch::full({2, 3}, -200.0f).requires_grad_(true), b = torch::full({2, 3}, -150.0f).requires_grad_(true);
  const auto j = jsd_sigmoid(a, b);
  j.backward();
  EXPECT_TRUE(std::isfinite(j.item<float>()));
  EXPECT_TRUE(torch::isfinite(a.grad()).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(b.grad()).all().item<bool>());
  // Identical inputs: p = q = m, so the JSD and its gradient vanish.
  auto c = torch::randn({3, 3}).requires_grad_(true);
  const auto same = jsd_sigmoid(c, c.detach());
  same.backward();
  EXPECT_NEAR(same.item<double>(), 0.0, 1e-7);  // float32 rounding of log p - log m
  EXPECT_LT(c.grad().abs().max().item<double>(), 1e-7);
}

}  // namespace losses_test
}  // namespace merc::models::comp
