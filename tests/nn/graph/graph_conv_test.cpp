#include "merc/nn/graph/graph_conv.h"

#include <gtest/gtest.h>

#include "../gradcheck.h"

namespace merc::nn {
namespace {

// x0 = (1, 0), x1 = (0, 1), x2 = (2, 1); edges 0 -> 1, 2 -> 1, 1 -> 2.
// W_2 (neighbours) = (1, -1), b = 0.5; W_1 (root) = (2, 0).
GraphConv hand_graph_conv(GraphAggregation aggregation) {
  GraphConv conv(GraphConvOptions(2, 1).aggregation(aggregation));
  torch::NoGradGuard no_grad;
  conv->lin_neighbors->weight.copy_(torch::tensor({1.0f, -1.0f}).view({1, 2}));
  conv->lin_neighbors->bias.fill_(0.5f);
  conv->lin_root->weight.copy_(torch::tensor({2.0f, 0.0f}).view({1, 2}));
  return conv;
}

const torch::Tensor& hand_x() {
  static const torch::Tensor x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 2.0f, 1.0f}).view({3, 2});
  return x;
}
const torch::Tensor& hand_edges() {
  static const torch::Tensor e = torch::tensor({0, 2, 1, 1, 1, 2}, torch::kInt64).view({2, 3});
  return e;
}

TEST(GraphConv, SumAggregationByHand) {
  //   node 0: no neighbours: 0 + 0.5 + 2 * 1 = 2.5
  //   node 1: x0 + x2 = (3, 1) -> 3 - 1 = 2; + 0.5 + 0 = 2.5
  //   node 2: x1 = (0, 1) -> -1; + 0.5 + 2 * 2 = 3.5
  const auto out = hand_graph_conv(GraphAggregation::kSum)(hand_x(), hand_edges());
  EXPECT_TRUE(torch::allclose(out, torch::tensor({2.5f, 2.5f, 3.5f}).view({3, 1}), 0, 1e-6)) << out;
}

TEST(GraphConv, MeanAggregationAndEdgeWeightsByHand) {
  //   mean: node 1: (1.5, 0.5) -> 1 + 0.5 = 1.5; nodes 0, 2 as with sum (0 or 1 neighbour).
  const auto mean = hand_graph_conv(GraphAggregation::kMean)(hand_x(), hand_edges());
  EXPECT_TRUE(torch::allclose(mean, torch::tensor({2.5f, 1.5f, 3.5f}).view({3, 1}), 0, 1e-6)) << mean;
  //   weights 2, -1, 3 with sum: node 1: 2 x0 - x2 = (0, -1) -> 1; + 0.5 = 1.5;
  //   node 2: 3 x1 = (0, 3) -> -3; + 0.5 + 4 = 1.5
  const auto weighted =
      hand_graph_conv(GraphAggregation::kSum)(hand_x(), hand_edges(), torch::tensor({2.0f, -1.0f, 3.0f}));
  EXPECT_TRUE(torch::allclose(weighted, torch::tensor({2.5f, 1.5f, 1.5f}).view({3, 1}), 0, 1e-6)) << weighted;
}

TEST(GraphConv, GradientMatchesFiniteDifferences) {
  torch::manual_seed(21);
  GraphConv conv(GraphConvOptions(3, 2));
  conv->to(torch::kFloat64);
  auto x = torch::randn({4, 3}, torch::kFloat64).requires_grad_(true);
  auto w = torch::rand({5}, torch::kFloat64).requires_grad_(true);
  const auto edges = torch::tensor({0, 1, 2, 3, 3, 1, 0, 1, 1, 2}, torch::kInt64).view({2, 5});
  // 1e-7: see gradcheck.h.
  EXPECT_LT(testing::max_gradient_error([&] { return conv(x, edges, w); },
                                        {x, w, conv->lin_neighbors->weight, conv->lin_neighbors->bias,
                                         conv->lin_root->weight}),
            1e-7);
}

TEST(GraphConv, RejectsBadShapes) {
  auto conv = hand_graph_conv(GraphAggregation::kSum);
  EXPECT_THROW(conv(torch::zeros({3, 3}), hand_edges()), c10::Error);
  EXPECT_THROW(conv(hand_x(), hand_edges(), torch::ones({2})), c10::Error);
  EXPECT_THROW(conv(hand_x(), torch::tensor({0, 5}, torch::kInt64).view({2, 1})), c10::Error);
}

}  // namespace
}  // namespace merc::nn
