#include "merc/nn/graph/hypergraph_conv.h"

#include <gtest/gtest.h>

#include "../gradcheck.h"

namespace merc::nn {
namespace {

// 5 nodes, 4 hyperedges: e0 = {0, 1, 2}, e1 = {2, 3}, e2 = {1, 2} with node 2 listed twice
// (a duplicate incidence), e3 = {} (empty: B = 0 -> 0); node 4 is in no hyperedge (D = 0 -> 0).
HyperIncidence hyper_hand_incidence() {
  HyperIncidence h;
  h.node = torch::tensor({0, 1, 2, 2, 3, 1, 2, 2}, torch::kInt64);
  h.hyperedge = torch::tensor({0, 0, 0, 1, 1, 2, 2, 2}, torch::kInt64);
  h.num_hyperedges = 4;
  return h;
}

TEST(HypergraphConv, EqualsDenseFormula) {
  const HyperIncidence h = hyper_hand_incidence();
  torch::manual_seed(11);
  HypergraphConv conv(3);
  conv->to(torch::kDouble);
  {
    torch::NoGradGuard ng;
    conv->bias.uniform_(-0.5, 0.5);
  }
  const auto x = torch::randn({5, 3}, torch::kDouble);
  const auto w = torch::tensor({0.5, 2.0, 1.5, 3.0}, torch::kDouble);
  const auto ew = torch::tensor({1.0, 0.5, 2.0, 1.0, 1.0, 0.25, 1.0, 3.0}, torch::kDouble);
  // Dense: H[v][e] = incidence count, HW[v][e] = sum of ew over those incidences.
  auto H = torch::zeros({5, 4}, torch::kDouble), HW = torch::zeros({5, 4}, torch::kDouble);
  for (int64_t i = 0; i < 8; ++i) {
    H[h.node[i].item<int64_t>()][h.hyperedge[i].item<int64_t>()] += 1.0;
    HW[h.node[i].item<int64_t>()][h.hyperedge[i].item<int64_t>()] += ew[i].item<double>();
  }
  const auto Dv = torch::mv(H, w), Be = HW.sum(0);
  const auto Dinv = torch::where(Dv > 0, Dv.reciprocal(), torch::zeros_like(Dv));
  const auto Binv = torch::where(Be > 0, Be.reciprocal(), torch::zeros_like(Be));
  const auto inner = torch::mm(torch::mm(H * Binv.unsqueeze(0), H.t()), x) * Dinv.unsqueeze(1);
  const auto dense = torch::leaky_relu(inner + conv->bias, 0.01);
  // 1e-12: double, a handful of terms.
  EXPECT_TRUE(torch::allclose(conv(x, h, w, ew), dense, 0, 1e-12));
  // Node 4 belongs to nothing: LeakyReLU(bias).
  EXPECT_TRUE(torch::allclose(conv(x, h, w, ew)[4], torch::leaky_relu(conv->bias, 0.01), 0, 1e-15));
}

TEST(HypergraphConv, GradientsMatchFiniteDifferences) {
  const HyperIncidence h = hyper_hand_incidence();
  torch::manual_seed(12);
  HypergraphConv conv(2);
  conv->to(torch::kDouble);
  {
    torch::NoGradGuard ng;
    conv->bias.fill_(0.3);  // away from LeakyReLU's kink
  }
  auto x = torch::randn({5, 2}, torch::kDouble).requires_grad_();
  auto w = torch::tensor({0.5, 2.0, 1.5, 3.0}, torch::kDouble).requires_grad_();
  auto ew = torch::tensor({1.0, 0.5, 2.0, 1.0, 1.0, 0.25, 1.0, 3.0}, torch::kDouble).requires_grad_();
  // 1e-7: see gradcheck.h (a kink crossing would show as O(0.1) errors).
  EXPECT_LT(testing::max_gradient_error([&] { return conv(x, h, w, ew); }, {x, w, ew, conv->bias}), 1e-7);
}

TEST(HypergraphConv, BadShapesAreErrors) {
  const HyperIncidence h = hyper_hand_incidence();
  HypergraphConv conv(2);
  EXPECT_THROW(conv(torch::zeros({5, 3}), h, torch::ones({4}), torch::ones({8})), c10::Error);
  EXPECT_THROW(conv(torch::zeros({5, 2}), h, torch::ones({3}), torch::ones({8})), c10::Error);
  EXPECT_THROW(conv(torch::zeros({5, 2}), h, torch::ones({4}), torch::ones({7})), c10::Error);
}

}  // namespace
}  // namespace merc::nn
