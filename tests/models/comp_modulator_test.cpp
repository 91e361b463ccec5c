#include "merc/models/comp_modulator.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace merc::models::comp {
namespace modulator_test {

constexpr double kTol = 1e-6;  // float32; the 1e-10 of the denominator is far below it here

// Hand example, N = 3 selected utterances u0, u1, u2, modalities (a, t, v):
//   Delta_a = [1, 2, 3], Delta_t = [0, 1, 1], Delta_v = [2, 0, 1]
//   pair(a,t): W = [1, 1, 2],  S = 4  -> (S - W)/S = [3/4, 3/4, 1/2]
//   pair(a,v): W = [-1, 2, 2], S = 3  -> [4/3, 1/3, 1/3]
//   pair(t,v): W = [-2, 1, 0], S = -1 -> [-1, 2, 1]        (pair(n,m) = pair(m,n): W and S flip sign)
//   W_a = (pair(a,t) + pair(a,v))/2 = [25/24, 13/24, 5/12]
//   W_t = (pair(t,a) + pair(t,v))/2 = [-1/8, 11/8, 3/4]
//   W_v = (pair(v,a) + pair(v,t))/2 = [1/6, 7/6, 2/3]
// Placed in a (B = 2, S = 3) batch: u0 = (0, 0), u1 = (0, 1), u2 = (1, 0); the other cells are not
// selected (deltas 100, ignored). Per position:
//   t = 0: mean of u0, u2 -> a (25/24 + 5/12)/2 = 35/48, t (-1/8 + 3/4)/2 = 5/16, v (1/6 + 2/3)/2 = 5/12
//   t = 1: u1 only        -> a 13/24, t 11/8, v 7/6
//   t = 2: none selected  -> 1, 1, 1
TEST(CompModulator, PerModalityAndPerPositionWeightsOnAHandExample) {
  const auto deltas = torch::tensor({1.f, 0.f, 2.f, 2.f, 1.f, 0.f, 3.f, 1.f, 1.f}).reshape({3, 3});
  const auto w = modality_weights(deltas);
  const double expected[3][3] = {{25. / 24, -1. / 8, 1. / 6}, {13. / 24, 11. / 8, 7. / 6}, {5. / 12, 3. / 4, 2. / 3}};
  for (int n = 0; n < 3; ++n)
    for (int m = 0; m < 3; ++m) EXPECT_NEAR(w[n][m].item<double>(), expected[n][m], kTol) << n << "," << m;

  auto cells = torch::full({2, 3, 3}, 100.f);
  cells[0][0] = deltas[0];
  cells[0][1] = deltas[1];
  cells[1][0] = deltas[2];
  const auto selected = torch::tensor({true, true, false, true, false, false}).reshape({2, 3});
  const auto pw = position_weights(cells, selected);
  ASSERT_EQ(pw.sizes(), (std::vector<int64_t>{3, 3}));  // (U, S)
  const double per_pos[3][3] = {{35. / 48, 13. / 24, 1}, {5. / 16, 11. / 8, 1}, {5. / 12, 7. / 6, 1}};
  for (int m = 0; m < 3; ++m)
    for (int t = 0; t < 3; ++t) EXPECT_NEAR(pw[m][t].item<double>(), per_pos[m][t], kTol) << m << "," << t;
}

TEST(CompModulator, OneModalityIsNeutralAndTwoUseTheSinglePair) {
  EXPECT_TRUE(torch::equal(modality_weights(torch::tensor({3.f, 1.f}).reshape({2, 1})), torch::ones({2, 1})));
  // Two modalities: W_m = pair(m, n) (mean over one partner). Delta_a = [1, 2], Delta_t = [0, 1]:
  // W = [1, 1], S = 2 -> [1/2, 1/2] for both.
  const auto w = modality_weights(torch::tensor({1.f, 0.f, 2.f, 1.f}).reshape({2, 2}));
  EXPECT_TRUE(torch::allclose(w, torch::full({2, 2}, 0.5f)));
}

TEST(CompModulator, ScalesGradientColumns) {
  auto grad = torch::ones({2, 3});
  scale_gradient_columns(grad, torch::tensor({1.f, 2.f, 0.5f}));
  EXPECT_TRUE(torch::equal(grad, torch::tensor({1.f, 2.f, 0.5f, 1.f, 2.f, 0.5f}).reshape({2, 3})));
  auto bad = torch::ones({2, 2});
  EXPECT_THROW(scale_gradient_columns(bad, torch::ones({3})), c10::Error);
}

// Delta on a hand example: logits [[2, 0, -1], [0.5, 1.5, 0]], labels [0, 1].
//   released:    |2 - 0| = 2,  |1.5 - 1| = 0.5
//   probability: 1 - e^2 / (e^2 + 1 + e^-1),  1 - e^1.5 / (e^0.5 + e^1.5 + 1)
TEST(CompModulator, ClassificationDeltaReleasedAndProbability) {
  const auto logits = torch::tensor({2.f, 0.f, -1.f, 0.5f, 1.5f, 0.f}).reshape({2, 3});
  const auto label = torch::tensor({int64_t{0}, int64_t{1}});
  const auto r = classification_delta(logits, label, DeltaMode::kReleased);
  EXPECT_NEAR(r[0].item<double>(), 2.0, kTol);
  EXPECT_NEAR(r[1].item<double>(), 0.5, kTol);
  const auto p = classification_delta(logits, label, DeltaMode::kProbability);
  EXPECT_NEAR(p[0].item<double>(), 1.0 - std::exp(2.0) / (std::exp(2.0) + 1.0 + std::exp(-1.0)), kTol);
  EXPECT_NEAR(p[1].item<double>(), 1.0 - std::exp(1.5) / (std::exp(0.5) + std::exp(1.5) + 1.0), kTol);
  const auto g = regression_delta(torch::tensor({1.5f, -2.f}), torch::tensor({-0.5f, -2.f}));
  EXPECT_NEAR(g[0].item<double>(), 2.0, kTol);
  EXPECT_NEAR(g[1].item<double>(), 0.0, kTol);
}

}  // namespace modulator_test
}  // namespace merc::models::comp
