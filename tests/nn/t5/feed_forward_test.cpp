// T5 feed-forward sublayer: the residual pre-norm form worked by hand for the ReLU (t5-base) and
// gated-GELU (v1.1) variants with scalar widths, Hugging Face's parameter names, finite
// differences and a refused activation.
#include <gtest/gtest.h>

#include <cmath>

#include "../gradcheck.h"
#include "merc/core/error.h"
#include "merc/nn/t5/feed_forward.h"

namespace merc::nn::t5 {
namespace feed_forward_test_detail {

// d_model = d_ff = 1: rms_norm(x) = sign(x) (eps 0), so every term is a closed form.
FeedForward scalar_ff(const std::string& activation) {
  FeedForward ff(FeedForwardOptions{/*d_model=*/1, /*d_ff=*/1, activation, /*dropout=*/0.0, /*eps=*/0.0});
  ff->to(torch::kDouble);
  return ff;
}

void set(const torch::nn::Linear& lin, double w) {
  torch::NoGradGuard g;
  lin->weight.fill_(w);
}

// A few double operations (tanh in the gelu): 1e-12 against the closed forms.
constexpr double kFeedForwardHandTol = 1e-12;

}  // namespace feed_forward_test_detail

namespace {

using namespace feed_forward_test_detail;

TEST(T5FeedForward, ReluVariantByHand) {
  FeedForward ff = scalar_ff("relu");
  set(ff->dense->wi, 2.0);
  set(ff->dense->wo, 3.0);
  // x = 5: norm 1, relu(2) = 2, wo 6 -> 11. x = -5: norm -1, relu(-2) = 0 -> -5.
  const torch::Tensor y = ff->forward(torch::tensor({{5.0}, {-5.0}}, torch::kDouble));
  EXPECT_NEAR(y[0][0].item<double>(), 11.0, kFeedForwardHandTol);
  EXPECT_NEAR(y[1][0].item<double>(), -5.0, kFeedForwardHandTol);
}

TEST(T5FeedForward, GatedGeluVariantByHand) {
  FeedForward ff = scalar_ff("gated-gelu");
  set(ff->dense->wi_0, 1.5);
  set(ff->dense->wi_1, -2.0);
  set(ff->dense->wo, 0.5);
  // x = 4: norm 1; gelu_tanh(1.5) * (-2) * 0.5 + 4.
  const double a = 1.5;
  const double gelu = 0.5 * a * (1 + std::tanh(std::sqrt(2 / M_PI) * (a + 0.044715 * a * a * a)));
  const torch::Tensor y = ff->forward(torch::tensor({{4.0}}, torch::kDouble));
  EXPECT_NEAR(y[0][0].item<double>(), 4.0 + gelu * -2.0 * 0.5, kFeedForwardHandTol);
}

TEST(T5FeedForward, HuggingFaceParameterNames) {
  FeedForward relu(FeedForwardOptions{4, 8, "relu", 0.1});
  FeedForward gated(FeedForwardOptions{4, 8, "gated-gelu", 0.1});
  std::vector<std::string> relu_names, gated_names;
  for (const auto& p : relu->named_parameters()) relu_names.push_back(p.key());
  for (const auto& p : gated->named_parameters()) gated_names.push_back(p.key());
  EXPECT_EQ(relu_names, (std::vector<std::string>{"DenseReluDense.wi.weight", "DenseReluDense.wo.weight",
                                                  "layer_norm.weight"}));
  EXPECT_EQ(gated_names, (std::vector<std::string>{"DenseReluDense.wi_0.weight", "DenseReluDense.wi_1.weight",
                                                   "DenseReluDense.wo.weight", "layer_norm.weight"}));
  EXPECT_THROW(FeedForward(FeedForwardOptions{4, 8, "swish", 0.1}), Error);
}

TEST(T5FeedForward, GradientsMatchFiniteDifferences) {
  torch::manual_seed(9);
  FeedForward ff(FeedForwardOptions{5, 7, "gated-gelu", /*dropout=*/0.0});
  ff->to(torch::kDouble);
  const torch::Tensor x = torch::randn({2, 3, 5}, torch::kDouble).requires_grad_(true);
  // Central differences in double, h = 1e-6 (gradcheck.h): errors ~1e-10, checked against 1e-7.
  EXPECT_LT(testing::max_gradient_error([&] { return ff->forward(x); },
                                        {x, ff->dense->wi_0->weight, ff->dense->wo->weight, ff->layer_norm->weight}),
            1e-7);
}

}  // namespace
}  // namespace merc::nn::t5
