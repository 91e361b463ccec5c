#include "merc/nn/graph/rgcn_conv.h"

#include <gtest/gtest.h>

#include "../gradcheck.h"

namespace merc::nn {
namespace {

// The 3-node graph of the hand computations: x0 = (1, 0), x1 = (0, 1), x2 = (2, 1); edges
// 0 -> 1 (relation 0), 2 -> 1 (relation 0), 0 -> 2 (relation 1), 1 -> 2 (relation 0).
struct HandGraph {
  torch::Tensor x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 2.0f, 1.0f}).view({3, 2});
  torch::Tensor edge_index = torch::tensor({0, 2, 0, 1, 1, 1, 2, 2}, torch::kInt64).view({2, 4});
  torch::Tensor relation = torch::tensor({0, 0, 1, 0}, torch::kInt64);
};

// W_0 = (1, 2)^T, W_1 = (3, -1)^T, root = (0.5, 0.5)^T, bias = 0.1 (in 2 -> out 1).
RgcnConv hand_layer() {
  RgcnConv conv(RgcnConvOptions(2, 1, 2));
  torch::NoGradGuard no_grad;
  conv->weight.copy_(torch::tensor({1.0f, 2.0f, 3.0f, -1.0f}).view({2, 2, 1}));
  conv->root.copy_(torch::tensor({0.5f, 0.5f}).view({2, 1}));
  conv->bias.fill_(0.1f);
  return conv;
}

// Float tolerance for sums of a few products of small exact binary fractions: only the 0.1 bias
// and the 1/2 mean are inexact, ~1e-7 relative.
constexpr double kHandTol = 1e-6;

TEST(RgcnConv, PerRelationMeanByHand) {
  // x W_0: x0 -> 1, x1 -> 2, x2 -> 4; x W_1: x0 -> 3. Root x0 -> 0.5, x1 -> 0.5, x2 -> 1.5.
  //   node 0: no incoming edge: 0.5 + 0.1 = 0.6
  //   node 1: relation 0 from {0, 2}: mean(1, 4) = 2.5; + 0.5 + 0.1 = 3.1
  //   node 2: relation 1 from {0}: 3; relation 0 from {1}: 2; + 1.5 + 0.1 = 6.6
  HandGraph g;
  const auto out = hand_layer()(g.x, g.edge_index, g.relation);
  EXPECT_TRUE(torch::allclose(out, torch::tensor({0.6f, 3.1f, 6.6f}).view({3, 1}), 0, kHandTol)) << out;
}

TEST(RgcnConv, GivenEdgeWeightsByHand) {
  // Weights 0.5, 0.25, 2, -1 on the four edges (no per-relation normalisation):
  //   node 1: 0.5 * 1 + 0.25 * 4 + 0.5 + 0.1 = 2.1;  node 2: 2 * 3 - 1 * 2 + 1.5 + 0.1 = 5.6
  HandGraph g;
  const auto out = hand_layer()(g.x, g.edge_index, g.relation, torch::tensor({0.5f, 0.25f, 2.0f, -1.0f}));
  EXPECT_TRUE(torch::allclose(out, torch::tensor({0.6f, 2.1f, 5.6f}).view({3, 1}), 0, kHandTol)) << out;
}

TEST(RgcnConv, BasisDecompositionEqualsComposedFullWeights) {
  torch::manual_seed(3);
  RgcnConv decomposed(RgcnConvOptions(4, 3, 5).num_bases(2));
  RgcnConv full(RgcnConvOptions(4, 3, 5));
  EXPECT_FALSE(decomposed->weight.defined());
  EXPECT_EQ(decomposed->basis.sizes(), (std::vector<int64_t>{2, 4, 3}));
  EXPECT_EQ(decomposed->comp.sizes(), (std::vector<int64_t>{5, 2}));
  {
    torch::NoGradGuard no_grad;
    // W_r = sum_k comp[r][k] basis[k], written out for r = 3.
    const auto w3 = decomposed->comp[3][0] * decomposed->basis[0] + decomposed->comp[3][1] * decomposed->basis[1];
    EXPECT_TRUE(torch::allclose(decomposed->relation_weights()[3], w3, 0, 1e-6));
    full->weight.copy_(decomposed->relation_weights());
    full->root.copy_(decomposed->root);
    full->bias.copy_(decomposed->bias);
  }
  const auto x = torch::randn({6, 4});
  const auto edges = torch::randint(0, 6, {2, 20}, torch::kInt64);
  const auto rel = torch::randint(0, 5, {20}, torch::kInt64);
  // Same arithmetic in a different association order: float rounding only.
  EXPECT_TRUE(torch::allclose(decomposed(x, edges, rel), full(x, edges, rel), 0, 1e-5));
}

TEST(RgcnConv, MatchesADenseLoopOverEdges) {
  // Two-path check: a per-edge loop in plain tensor ops against the grouped implementation.
  torch::manual_seed(4);
  RgcnConv conv(RgcnConvOptions(3, 2, 4).num_bases(3));
  const auto x = torch::randn({5, 3});
  const auto edges = torch::randint(0, 5, {2, 12}, torch::kInt64);
  const auto rel = torch::randint(0, 4, {12}, torch::kInt64);
  const auto w = torch::rand({12});
  torch::NoGradGuard no_grad;
  const auto W = conv->relation_weights();
  auto expected = x.mm(conv->root) + conv->bias;
  for (int64_t e = 0; e < 12; ++e) {
    const int64_t s = edges[0][e].item<int64_t>(), t = edges[1][e].item<int64_t>(), r = rel[e].item<int64_t>();
    expected[t] += w[e] * x[s].matmul(W[r]);
  }
  EXPECT_TRUE(torch::allclose(conv(x, edges, rel, w), expected, 0, 1e-5));
}

TEST(RgcnConv, GradientMatchesFiniteDifferences) {
  torch::manual_seed(9);
  RgcnConv conv(RgcnConvOptions(3, 2, 3).num_bases(2));
  conv->to(torch::kFloat64);
  auto x = torch::randn({4, 3}, torch::kFloat64).requires_grad_(true);
  auto w = torch::rand({6}, torch::kFloat64).requires_grad_(true);
  const auto edges = torch::tensor({0, 1, 2, 3, 1, 0, 1, 1, 0, 0, 3, 2}, torch::kInt64).view({2, 6});
  const auto rel = torch::tensor({0, 2, 2, 1, 0, 0}, torch::kInt64);
  // 1e-7: see gradcheck.h (double, h = 1e-6, O(1) values); a wrong backward is off by O(0.1).
  EXPECT_LT(testing::max_gradient_error([&] { return conv(x, edges, rel, w); },
                                        {x, w, conv->basis, conv->comp, conv->root, conv->bias}),
            1e-7);
  // And without edge weights (per-relation mean path).
  EXPECT_LT(testing::max_gradient_error([&] { return conv(x, edges, rel); }, {x, conv->basis, conv->comp}), 1e-7);
}

TEST(RgcnConv, CloneIsADeepCopyWithTheSameOutput) {
  torch::manual_seed(12);
  RgcnConv conv(RgcnConvOptions(3, 2, 4).num_bases(2));
  auto copy = std::dynamic_pointer_cast<RgcnConvImpl>(conv->clone());
  ASSERT_TRUE(copy);
  EXPECT_FALSE(copy->weight.defined());
  const auto x = torch::randn({4, 3});
  const auto edges = torch::tensor({0, 1, 2, 3, 1, 2, 3, 0}, torch::kInt64).view({2, 4});
  const auto rel = torch::tensor({0, 3, 1, 3}, torch::kInt64);
  EXPECT_TRUE(torch::equal(copy->forward(x, edges, rel), conv(x, edges, rel)));
  {
    torch::NoGradGuard no_grad;
    copy->basis.add_(1.0f);  // the copy owns its parameters
  }
  EXPECT_FALSE(torch::equal(copy->forward(x, edges, rel), conv(x, edges, rel)));
}

TEST(RgcnConv, RejectsBadRelationsAndShapes) {
  HandGraph g;
  auto conv = hand_layer();
  try {
    conv(g.x, g.edge_index, torch::tensor({0, 0, 2, 0}, torch::kInt64));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("relation ids in [0, 2)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(conv(g.x, g.edge_index, torch::tensor({0, 0}, torch::kInt64)), c10::Error);
  EXPECT_THROW(conv(torch::zeros({3, 5}), g.edge_index, g.relation), c10::Error);
  EXPECT_THROW(conv(g.x, g.edge_index, g.relation, torch::ones({3})), c10::Error);
  EXPECT_THROW(conv(g.x, torch::tensor({0, 7}, torch::kInt64).view({2, 1}), torch::tensor({0}, torch::kInt64)),
               c10::Error);
}

}  // namespace
}  // namespace merc::nn
