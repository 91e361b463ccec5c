#include "merc/nn/diffusion/score_sde.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::nn {
namespace score_sde_test {

constexpr double kSigma = 25.0;
// float32 rounding on O(1..10) values.
constexpr double kFloatTol = 1e-5;

TEST(ScoreSde, MarginalStdAndDiffusionCoefficientByHand) {
  const auto t = torch::tensor({0.5, 1.0}, torch::kFloat64);
  const auto std = marginal_prob_std(t, kSigma);
  EXPECT_NEAR(std[0].item<double>(), std::sqrt(24.0 / (2 * std::log(25.0))), 1e-12);   // sigma^1 = 25
  EXPECT_NEAR(std[1].item<double>(), std::sqrt(624.0 / (2 * std::log(25.0))), 1e-12);  // sigma^2 = 625
  const auto g = diffusion_coeff(t, kSigma);
  EXPECT_NEAR(g[0].item<double>(), 5.0, 1e-12);
  EXPECT_NEAR(g[1].item<double>(), 25.0, 1e-12);
}

// Data x_0 ~ N(mu, s^2) per coordinate: under the VE perturbation x_t ~ N(mu, s^2 + std(t)^2), so the
// true score is -(x - mu) / (s^2 + std(t)^2).
constexpr double kMu = 0.5, kS = 0.5;
torch::Tensor true_score(const torch::Tensor& x, const torch::Tensor& t) {
  const auto var = kS * kS + marginal_prob_std(t, kSigma).pow(2);
  return -(x - kMu) / var.view({-1, 1});
}

TEST(ScoreSde, DsmLossIsLowestAtTheTrueScore) {
  torch::manual_seed(21);
  const auto x0 = kMu + kS * torch::randn({8192, 2}, torch::kFloat64);
  const auto loss_of = [&](const ScoreFn& score) {
    torch::manual_seed(22);  // the same t and z for every candidate
    return denoising_score_matching_loss(score, x0, kSigma).item<double>();
  };
  const double best = loss_of(true_score);
  // The minimum of E|s std + z|^2 is E Var[z | x_t] = d (1 - std^2 / (s^2 + std^2)) < d = 2.
  EXPECT_LT(best, 2.0);
  for (const double f : {0.8, 1.2}) {
    EXPECT_LT(best, loss_of([&](const torch::Tensor& x, const torch::Tensor& t) { return f * true_score(x, t); })) << f;
  }
  EXPECT_LT(best, loss_of([&](const torch::Tensor& x, const torch::Tensor& t) {
    return true_score(x, t) + 0.2 / marginal_prob_std(t, kSigma).view({-1, 1});
  }));
}

TEST(ScoreSde, EulerMaruyamaWithTheTrueScoreReproducesTheData) {
  torch::manual_seed(23);
  const int64_t n = 20000;
  // Start from the exact t = 1 marginal N(mu, s^2 + std(1)^2) so only discretisation error remains.
  const double std1 = std::sqrt((kSigma * kSigma - 1) / (2 * std::log(kSigma)));
  const auto x1 = kMu + std::sqrt(kS * kS + std1 * std1) * torch::randn({n, 1}, torch::kFloat64);
  const auto x = euler_maruyama_sample(true_score, x1, kSigma, 500, 1e-3);
  // Tolerances: sampling error of the mean s / sqrt(n) = 0.0035 and of the variance
  // s^2 sqrt(2 / n) = 0.0025; 500 Euler-Maruyama steps bias the variance by about 1%
  // (measured in numpy: 100 steps give 0.234 instead of 0.25, 500 steps 0.248).
  EXPECT_NEAR(x.mean().item<double>(), kMu, 0.02);
  EXPECT_NEAR(x.var().item<double>(), kS * kS, 0.0125);
}

ScoreNetOptions small_options(int64_t L) {
  ScoreNetOptions o;
  o.channels = 8, o.seq_len = L, o.cond_channels = 8, o.level_channels = {8, 32, 32, 32};
  o.embed_dim = 16, o.heads = 2, o.first_groups = 4, o.groups = 8;
  return o;
}

TEST(ScoreNet, ShapesAtRohydrSizesForL48AndL1) {
  for (const int64_t L : {48, 1}) {
    ScoreNetOptions o;
    o.seq_len = L;
    ScoreNet net(o);
    torch::manual_seed(31);
    const auto cond = torch::randn({2, 32, L});
    const auto s = net(torch::randn({2, 32, L}), torch::tensor({0.3f, 1.f}), cond);
    ASSERT_EQ(s.sizes(), (std::vector<int64_t>{2, 32, L}));
    EXPECT_TRUE(torch::isfinite(s).all().item<bool>());
    const auto loss = net->loss(torch::randn({2, 32, L}), cond);
    ASSERT_EQ(loss.dim(), 0);
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
    const auto x = net->sample(cond, 3);
    ASSERT_EQ(x.sizes(), (std::vector<int64_t>{2, 32, L}));
    EXPECT_TRUE(torch::isfinite(x).all().item<bool>());
  }
}

TEST(ScoreNet, OutputIsDividedByTheMarginalStd) {
  // The same network evaluated at two times differs by the std ratio only if nothing else depends
  // on t; with the time embedding zeroed (embed_linear = 0 -> swish(0) = 0), it is exactly that.
  ScoreNet net(small_options(5));
  {
    torch::NoGradGuard g;
    net->embed_linear->weight.zero_();
    net->embed_linear->bias.zero_();
  }
  torch::manual_seed(33);
  const auto x = torch::randn({1, 8, 5}), cond = torch::randn({1, 8, 3});
  const auto a = net(x, torch::tensor({0.5f}), cond), b = net(x, torch::tensor({1.f}), cond);
  const double ratio = std::sqrt(624.0 / 24.0);  // std(1) / std(0.5)
  EXPECT_TRUE(torch::allclose(a, b * ratio, 1e-4, kFloatTol));
}

TEST(ScoreNet, ConditionMattersAndGradientsFlow) {
  ScoreNet net(small_options(6));
  torch::manual_seed(35);
  const auto x = torch::randn({2, 8, 6}), t = torch::tensor({0.2f, 0.9f});
  const auto a = net(x, t, torch::randn({2, 8, 6})), b = net(x, t, torch::randn({2, 8, 6}));
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-4);
  EXPECT_FALSE(net->fourier_w.requires_grad());  // fixed random features
  net->loss(torch::randn({2, 8, 6}), torch::randn({2, 8, 6})).backward();
  EXPECT_GT(net->conv1->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(net->attention_t1->layers[0]->parameters()[0].grad().abs().sum().item<double>(), 0.0);
}

TEST(ScoreNet, ProjectsOtherConditionWidthsAndChecksTheTrainingNoiseShape) {
  auto o = small_options(4);
  o.cond_channels = 3;
  ScoreNet net(o);
  ASSERT_FALSE(net->cond_in.is_empty());
  const auto cond = torch::randn({2, 3, 4});
  EXPECT_EQ(net(torch::randn({2, 8, 4}), torch::tensor({0.5f, 0.5f}), cond).sizes(),
            (std::vector<int64_t>{2, 8, 4}));
  // Upstream re-uses the target's noise for the condition, which needs equal shapes.
  EXPECT_THROW(net->loss(torch::randn({2, 8, 4}), cond), merc::Error);
  net->options.condition_noise_from_target = false;
  EXPECT_TRUE(std::isfinite(net->loss(torch::randn({2, 8, 4}), cond).item<double>()));
}

}  // namespace score_sde_test
}  // namespace merc::nn
