#include "merc/nn/dropout.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>


namespace merc::nn {
namespace {

constexpr int64_t kN = 1 << 20;  // 1 M draws: the kept fraction has std sqrt(p(1-p)/N) <= 5e-4

TEST(DropoutTest, IdentityOutsideTrainingAndAtRateZero) {
  const auto x = torch::randn({4, 5});
  EXPECT_TRUE(counter_dropout(x, 0.5, false).is_same(x));
  EXPECT_TRUE(counter_dropout(x, 0.0, true).is_same(x));
}

TEST(DropoutTest, EveryElementIsZeroOrScaledAndTheRateHolds) {
  const double p = 0.3;
  const auto x = torch::rand({kN}) + 0.5;  // no zeros in the input, so a zero output means dropped
  const auto y = counter_dropout_with_seed(x, p, 42);
  const auto kept = y != 0;
  // Kept elements are x / (1 - p) up to one float rounding (relative 6e-8; 1e-6 leaves margin).
  EXPECT_TRUE(torch::allclose(y.masked_select(kept), x.masked_select(kept) / (1 - p), 1e-6, 0));
  // Dropped fraction within 5 standard deviations (5 * sqrt(0.21 / 2^20) = 2.2e-3).
  const double dropped = 1.0 - kept.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(dropped, p, 5 * std::sqrt(p * (1 - p) / kN));
}

TEST(DropoutTest, NeighboursAreIndependent) {
  // Each element has its own hash of (key, index): P(both kept) must be (1 - p)^2 for the
  // neighbours (2j, 2j+1) and (2j+1, 2j+2).
  const double p = 0.5;
  const auto kept = (counter_dropout_with_seed(torch::ones({kN}), p, 7) != 0).to(torch::kDouble);
  const double tol = 5 * std::sqrt(0.25 * 0.75 / (kN / 2));  // 5 sigma of a rate-0.25 mean over N/2 pairs
  const auto even = kept.slice(0, 0, kN, 2), odd = kept.slice(0, 1, kN, 2);
  EXPECT_NEAR((even * odd).mean().item<double>(), 0.25, tol);
  EXPECT_NEAR((odd.slice(0, 0, kN / 2 - 1) * even.slice(0, 1, kN / 2)).mean().item<double>(), 0.25, tol);
}

TEST(DropoutTest, MaskDependsOnSeedOnlyNotOnThreads) {
  const auto x = torch::ones({3, 100001});  // odd count: the last element has no pair partner
  const int saved = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto a = counter_dropout_with_seed(x, 0.5, 123);
  torch::set_num_threads(2);
  const auto b = counter_dropout_with_seed(x, 0.5, 123);
  torch::set_num_threads(saved);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, counter_dropout_with_seed(x, 0.5, 124)));
}

TEST(DropoutTest, NearbySeedsGiveUnrelatedMasks) {
  // A one-round hash of (index + seed) would make seed s + d's mask seed s's shifted by d; the
  // keyed two-round hash must not. Agreement of two independent rate-0.5 masks is 0.5 per
  // element, std 0.5 / sqrt(N) = 4.9e-4; 5 sigma.
  const double p = 0.5;
  const auto x = torch::ones({kN});
  const auto a = counter_dropout_with_seed(x, p, 1000) != 0;
  const double tol = 5 * 0.5 / std::sqrt(static_cast<double>(kN));
  for (const uint64_t d : {uint64_t{1}, uint64_t{2}, uint64_t{7}, uint64_t{1} << 32}) {
    const auto b = counter_dropout_with_seed(x, p, 1000 + d) != 0;
    EXPECT_NEAR((a == b).to(torch::kDouble).mean().item<double>(), 0.5, tol) << "seed offset " << d;
    if (d < 16) {  // the shifted comparison (what a one-round additive hash would make equal)
      const auto n = kN - static_cast<int64_t>(d);
      const auto agree = (a.slice(0, static_cast<int64_t>(d), kN) == b.slice(0, 0, n)).to(torch::kDouble);
      EXPECT_NEAR(agree.mean().item<double>(), 0.5, tol) << "seed offset " << d << ", shifted";
    }
  }
}

TEST(DropoutTest, ReproducibleFromTorchSeed) {
  const auto x = torch::ones({1000});
  torch::manual_seed(5);
  const auto a = counter_dropout(x, 0.5, true);
  const auto a2 = counter_dropout(x, 0.5, true);  // the generator advanced: another mask
  torch::manual_seed(5);
  EXPECT_TRUE(torch::equal(a, counter_dropout(x, 0.5, true)));
  EXPECT_FALSE(torch::equal(a, a2));
}

TEST(DropoutTest, GradientIsTheSameMaskScaled) {
  const auto x = torch::randn({7, 9}).requires_grad_(true);
  const auto y = counter_dropout_with_seed(x, 0.4, 99);
  const auto g = torch::randn({7, 9});
  y.backward(g);
  const auto mask = (counter_dropout_with_seed(torch::ones({7, 9}), 0.4, 99) != 0).to(torch::kFloat);
  EXPECT_TRUE(torch::allclose(x.grad(), g * mask / 0.6, 1e-6, 1e-7));
  // Non-contiguous input and gradient take the same path.
  const auto xt = torch::randn({9, 7}).requires_grad_(true);
  const auto yt = counter_dropout_with_seed(xt.t(), 0.4, 99);
  EXPECT_TRUE(torch::equal(yt != 0, mask != 0));
}

TEST(DropoutTest, FiniteDifferenceGradient) {
  // dropout is linear in x, so central differences are exact up to float rounding: with h = 1e-2
  // and |x| ~ 1 the rounding error is ~ 1e-7 / 1e-2 = 1e-5 per element; 1e-3 leaves margin.
  const auto x = torch::randn({4, 6}).requires_grad_(true);
  torch::Tensor probe = torch::randn({4, 6});
  const auto f = [&] { return (counter_dropout_with_seed(x, 0.5, 3) * probe).sum(); };
  f().backward();
  const auto analytic = x.grad().clone();
  torch::NoGradGuard no_grad;
  auto flat = x.view({-1});
  for (int64_t k = 0; k < flat.numel(); ++k) {
    const float orig = flat[k].item<float>();
    flat[k] = orig + 0.01f;
    const double up = f().item<double>();
    flat[k] = orig - 0.01f;
    const double down = f().item<double>();
    flat[k] = orig;
    EXPECT_NEAR((up - down) / 0.02, analytic.view({-1})[k].item<double>(), 1e-3) << "element " << k;
  }
}

TEST(DropoutTest, OtherDtypesFallBackToTorch) {
  const auto x = torch::ones({10000}, torch::kDouble);
  const auto y = counter_dropout(x, 0.5, true);
  EXPECT_EQ(y.scalar_type(), torch::kDouble);
  EXPECT_TRUE(((y == 0) | (y == 2)).all().item<bool>());
  EXPECT_THROW(counter_dropout_with_seed(x, 0.5, 1), c10::Error);
}

TEST(DropoutTest, RejectsBadRates) {
  EXPECT_THROW(counter_dropout(torch::ones({2}), 1.0, true), c10::Error);
  EXPECT_THROW(counter_dropout(torch::ones({2}), -0.1, false), c10::Error);
  EXPECT_THROW(Dropout(1.5), c10::Error);
}

TEST(DropoutTest, ModuleFollowsTrainingMode) {
  Dropout d(0.5);
  const auto x = torch::ones({1000});
  d->eval();
  EXPECT_TRUE(d(x).is_same(x));
  d->train();
  const auto y = d(x);
  EXPECT_TRUE(((y == 0) | (y == 2)).all().item<bool>());
  EXPECT_GT((y == 0).sum().item<int64_t>(), 0);
}

}  // namespace
}  // namespace merc::nn
