#include "merc/nn/gelu_mlp.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace merc::nn {
namespace gelu_mlp_test {

TEST(GeluMlp, LinearGeluLinearOnTheLastAxis) {
  GeluMlp mlp(GeluMlpOptions(2, 1, 2).dropout(0.5));
  {
    torch::NoGradGuard g;
    mlp->fc1->weight.copy_(torch::tensor({1.f, -1.f}).reshape({1, 2}));
    mlp->fc1->bias.fill_(0.5);
    mlp->fc2->weight.copy_(torch::tensor({2.f, -1.f}).reshape({2, 1}));
    mlp->fc2->bias.copy_(torch::tensor({0.f, 1.f}));
  }
  mlp->eval();  // dropout off
  // x = (3, 1): h = 3 - 1 + 0.5 = 2.5, GELU(2.5) = 2.5 * Phi(2.5); out = (2 g, 1 - g).
  const double g = 0.5 * 2.5 * (1.0 + std::erf(2.5 / std::sqrt(2.0)));
  const auto out = mlp(torch::tensor({3.f, 1.f}).reshape({1, 1, 2}));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 1, 2}));
  EXPECT_NEAR(out[0][0][0].item<double>(), 2 * g, 1e-5);  // float32 rounding
  EXPECT_NEAR(out[0][0][1].item<double>(), 1 - g, 1e-5);
  // Training mode applies dropout: identical rows give different outputs.
  mlp->train();
  torch::manual_seed(1);
  const auto y = mlp(torch::ones({64, 2}));
  EXPECT_GT((y - y[0]).abs().max().item<double>(), 0.0);
}

TEST(GeluMlp, RejectsBadOptions) {
  EXPECT_THROW(GeluMlp(GeluMlpOptions(0, 1, 1)), c10::Error);
  EXPECT_THROW(GeluMlp(GeluMlpOptions(1, 1, 1).dropout(1.0)), c10::Error);
}

}  // namespace gelu_mlp_test
}  // namespace merc::nn
