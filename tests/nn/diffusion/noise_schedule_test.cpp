#include "merc/nn/diffusion/noise_schedule.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::nn {
namespace noise_schedule_test {

// float32 values compared with double hand computations: ~1e-7 relative rounding per operation.
constexpr double kFloatTol = 1e-6;

TEST(NoiseSchedule, LinearBetasAndCumulativeProductByHand) {
  const auto s = NoiseSchedule::linear(1000, 1e-4, 0.02);
  ASSERT_EQ(s.num_train_timesteps, 1000);
  ASSERT_EQ(s.betas.sizes(), (std::vector<int64_t>{1000}));
  EXPECT_EQ(s.betas.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(s.betas[0].item<double>(), 1e-4, kFloatTol * 1e-4);
  EXPECT_NEAR(s.betas[999].item<double>(), 0.02, kFloatTol * 0.02);
  const double step = (0.02 - 1e-4) / 999.0;
  EXPECT_NEAR(s.betas[1].item<double>(), 1e-4 + step, kFloatTol * 1e-4);
  // abar_2 = (1 - b0)(1 - b1)(1 - b2)
  const double abar2 = (1 - 1e-4) * (1 - (1e-4 + step)) * (1 - (1e-4 + 2 * step));
  EXPECT_NEAR(s.alphas_cumprod[2].item<double>(), abar2, kFloatTol);
  // abar decreases to about 4e-5 at t = 999 (the well-known DDPM value).
  EXPECT_NEAR(s.alphas_cumprod[999].item<double>(), 4.04e-5, 0.01e-5);
}

TEST(NoiseSchedule, AddNoiseIsTheClosedFormPerSample) {
  // betas 0.1, 0.2, 0.3 -> abar 0.9, 0.72, 0.504.
  const auto s = NoiseSchedule::linear(3, 0.1, 0.3);
  EXPECT_NEAR(s.alphas_cumprod[1].item<double>(), 0.72, kFloatTol);
  const auto x0 = torch::tensor({1.f, -2.f, 0.5f, 3.f}).reshape({2, 1, 2});
  const auto noise = torch::tensor({0.5f, 1.f, -1.f, 2.f}).reshape({2, 1, 2});
  const auto t = torch::tensor({2, 0}, torch::kInt64);
  const auto y = add_noise(s, x0, noise, t);
  ASSERT_EQ(y.sizes(), x0.sizes());
  const double a = std::sqrt(0.504), b = std::sqrt(1 - 0.504), c = std::sqrt(0.9), d = std::sqrt(0.1);
  EXPECT_NEAR(y[0][0][0].item<double>(), a * 1 + b * 0.5, kFloatTol);
  EXPECT_NEAR(y[0][0][1].item<double>(), a * -2 + b * 1, kFloatTol);
  EXPECT_NEAR(y[1][0][0].item<double>(), c * 0.5 + d * -1, kFloatTol);
  EXPECT_NEAR(y[1][0][1].item<double>(), c * 3 + d * 2, kFloatTol);
  // Double inputs give a double result (abar is cast to x0's dtype, as diffusers does).
  const auto yd = add_noise(s, x0.to(torch::kFloat64), noise.to(torch::kFloat64), t);
  EXPECT_EQ(yd.scalar_type(), torch::kFloat64);
  EXPECT_NEAR(yd[1][0][1].item<double>(), c * 3 + d * 2, kFloatTol);
}

TEST(NoiseSchedule, RejectsBadArguments) {
  const auto s = NoiseSchedule::linear(3, 0.1, 0.3);
  const auto x = torch::zeros({2, 3});
  EXPECT_THROW(add_noise(s, x, x, torch::tensor({0, 3}, torch::kInt64)), merc::Error);  // t >= T
  EXPECT_THROW(add_noise(s, x, torch::zeros({2, 4}), torch::tensor({0, 1}, torch::kInt64)), merc::Error);
  EXPECT_THROW(add_noise(s, x, x, torch::tensor({0.f, 1.f})), merc::Error);  // t not int64
  EXPECT_THROW(NoiseSchedule::linear(0, 0.1, 0.2), merc::Error);
}

}  // namespace noise_schedule_test
}  // namespace merc::nn
