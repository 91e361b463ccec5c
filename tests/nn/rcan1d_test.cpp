#include "merc/nn/rcan1d.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "gradcheck.h"
#include "merc/core/error.h"
#include "npy_fixture.h"

namespace merc::nn::rcan1d_test {

// float32 parity with the authors' rcan.py: 2 RCABs of 8-channel k3 convolutions plus 1x1 convs on
// O(1) values (~1e-7 relative rounding per op on either side); 1e-5 leaves a factor ~10-100.
constexpr double kParityTol = 1e-5;
// Central differences in double with h = 1e-6 (tests/nn/gradcheck.h): truncation + rounding ~1e-9.
constexpr double kGradTol = 1e-6;
// A handful of float32 operations on O(1) values.
constexpr double kHandTol = 1e-6;

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(Rcan1dGroup, ParameterNamesAreTheReferenceStateDictKeys) {
  testing::expect_same_names(*Rcan1dGroup(8, 2, 4, 0.5), testing::fixture_path("mult/rcan"), {});
  testing::expect_same_names(*UnimodalReconstructor(4, 2, 4), testing::fixture_path("mult/rec"), {});
}

TEST(Rcan1dGroup, MatchesTheAuthorsGroupAtLengthsFiveAndOne) {
  const auto dir = testing::fixture_path("mult/rcan");
  Rcan1dGroup group(8, 2, 4, /*res_scale=*/0.5);
  testing::load_params(*group, dir);
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(group(testing::load_npy(dir / "x.npy")), testing::load_npy(dir / "group.npy")), kParityTol);
  EXPECT_LT(max_abs_diff(group(testing::load_npy(dir / "x1.npy")), testing::load_npy(dir / "group_l1.npy")),
            kParityTol);
}

TEST(UnimodalReconstructor, MatchesRoHyDRsRecSequential) {
  const auto dir = testing::fixture_path("mult/rec");
  UnimodalReconstructor rec(4, 2, 4);
  testing::load_params(*rec, dir);
  torch::NoGradGuard no_grad;
  const torch::Tensor out = rec(testing::load_npy(dir / "x.npy"));
  const torch::Tensor expected = testing::load_npy(dir / "rec.npy");
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_LT(max_abs_diff(out, expected), kParityTol);
}

TEST(ChannelAttention1d, ScalesEachChannelBySigmoidOfItsExcitation) {
  // Squeeze weights 0 -> the hidden units are relu(bias_0) = 0; excite bias log(3) on channel 0 and
  // 0 on channel 1 -> gates sigmoid(log 3) = 0.75 and 0.5, whatever x is.
  ChannelAttention1d ca(2, 1);
  torch::NoGradGuard no_grad;
  for (auto& p : ca->parameters()) p.zero_();
  ca->conv_du[2]->as<torch::nn::Conv1dImpl>()->bias[0] = std::log(3.0);
  const torch::Tensor x = torch::tensor({1.f, 2.f, 3.f, -1.f, 4.f, 8.f}).view({1, 2, 3});
  const torch::Tensor expected = torch::tensor({.75f, 1.5f, 2.25f, -.5f, 2.f, 4.f}).view({1, 2, 3});
  EXPECT_LT(max_abs_diff(ca(x), expected), kHandTol);
}

TEST(Rcan1dGroup, KeepsTheShapeForAnyLengthAndTheRoHyDRSize) {
  torch::manual_seed(21);
  Rcan1dGroup group(8, 2, 4);
  torch::NoGradGuard no_grad;
  for (const int64_t length : {1, 2, 7}) EXPECT_EQ(group(torch::randn({3, 8, length})).sizes(), (torch::IntArrayRef{3, 8, length}));
  UnimodalReconstructor rec(32);  // RoHyDR: 32 -> 64 channels, 20 blocks, reduction 16 (64 -> 4)
  EXPECT_EQ(rec->group->body->size(), 21u);
  EXPECT_EQ(rec(torch::randn({2, 32, 48})).sizes(), (torch::IntArrayRef{2, 32, 48}));
}

TEST(Rcan1dGroup, RejectsBadArguments) {
  EXPECT_THROW(Rcan1dGroup(8, 2, 16), merc::Error);  // 8 / 16 = 0 squeezed channels
  Rcan1dGroup group(8, 1, 4);
  EXPECT_THROW(group(torch::randn({2, 6, 5})), merc::Error);
  EXPECT_THROW(group(torch::randn({2, 8, 0})), merc::Error);
  EXPECT_THROW(UnimodalReconstructor(4, 1, 4)(torch::randn({1, 8, 3})), merc::Error);
}

TEST(Rcan1dGroup, GradientsMatchFiniteDifferences) {
  torch::manual_seed(22);
  UnimodalReconstructor rec(2, 2, 2);  // a group of 4 channels, 2 blocks, reduction 2 inside
  Rcan1dGroup group(4, 2, 2, /*res_scale=*/0.5);
  rec->to(torch::kDouble);
  group->to(torch::kDouble);
  const torch::Tensor x = torch::randn({2, 4, 3}, torch::kDouble).requires_grad_(true);
  std::vector<torch::Tensor> tensors = group->parameters();
  tensors.push_back(x);
  EXPECT_LT(testing::max_gradient_error([&] { return group(x); }, tensors), kGradTol);
  const torch::Tensor y = torch::randn({2, 2, 3}, torch::kDouble).requires_grad_(true);
  tensors = rec->parameters();
  tensors.push_back(y);
  EXPECT_LT(testing::max_gradient_error([&] { return rec(y); }, tensors), kGradTol);
}

}  // namespace merc::nn::rcan1d_test
