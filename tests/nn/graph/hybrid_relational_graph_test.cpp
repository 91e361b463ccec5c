#include "merc/nn/graph/hybrid_relational_graph.h"

#include <cmath>

#include <gtest/gtest.h>

namespace merc::nn {
namespace {

using Edges = std::vector<std::pair<int64_t, int64_t>>;

TEST(HybridRelationalGraph, WeightsAndEdgesByHand) {
  // One dialogue, speakers A B A A, W = 3: the last window holds all four nodes.
  const ContextWindows w = context_windows(torch::tensor({4}, torch::kInt64), 3);
  const HybridRelationalGraph g = hybrid_relational_graph(w, torch::tensor({0, 1, 0, 0}, torch::kInt64));
  const double adj = 1 + std::exp(-1.0);
  // g[i][j]: 1->0 adjacent; 2->1 adjacent, 2->0 cognate (A); 3->2 both (same value), 3->0 cognate,
  // 3->1 none (B, not adjacent).
  const torch::Tensor expected = torch::tensor({0.0, 0.0, 0.0, 0.0,                          //
                                                adj, 0.0, 0.0, 0.0,                          //
                                                1 + std::exp(-2.0), adj, 0.0, 0.0,           //
                                                1 + std::exp(-3.0), 0.0, adj, 0.0},
                                               torch::kFloat32)
                                    .view({4, 4});
  // Float tolerance: the weights are float32 exponentials (relative error ~1e-7).
  EXPECT_TRUE(torch::allclose(g.weight[3], expected, 1e-6, 1e-6)) << g.weight[3];
  EXPECT_EQ(window_edge_list(g.adjacency[3], 4),
            (Edges{{0, 0}, {1, 1}, {0, 1}, {2, 2}, {0, 2}, {1, 2}, {3, 3}, {0, 3}, {2, 3}}));
  // The window of node 2 is the first three slots, same relations; its empty slot has only a self loop.
  EXPECT_TRUE(torch::allclose(g.weight[2].narrow(0, 0, 3).narrow(1, 0, 3), expected.narrow(0, 0, 3).narrow(1, 0, 3)));
  EXPECT_EQ(window_edge_list(g.adjacency[2], 3), (Edges{{0, 0}, {1, 1}, {0, 1}, {2, 2}, {0, 2}, {1, 2}}));
  EXPECT_TRUE(g.adjacency[2][3][3].item<bool>());
  EXPECT_EQ(g.adjacency[2][3].sum().item<int64_t>() + g.adjacency[2].select(1, 3).sum().item<int64_t>(), 2);
}

TEST(HybridRelationalGraph, WindowsAreRelativeToTheirStartAndStayInsideTheirDialogue) {
  // Two dialogues: A A B A (W = 2: the window of node 3 is nodes 1..3) and B B.
  const ContextWindows w = context_windows(torch::tensor({4, 2}, torch::kInt64), 2);
  const HybridRelationalGraph g = hybrid_relational_graph(w, torch::tensor({0, 0, 1, 0, 1, 1}, torch::kInt64));
  // Window 3 = slots (node 1 A, node 2 B, node 3 A): 2->1 adjacent, 2->0 cognate (distance 2).
  EXPECT_EQ(window_edge_list(g.adjacency[3], 3), (Edges{{0, 0}, {1, 1}, {0, 1}, {2, 2}, {0, 2}, {1, 2}}));
  EXPECT_NEAR(g.weight[3][2][0].item<float>(), 1 + std::exp(-2.0), 1e-6);
  // Window 4 is dialogue 1's first utterance alone (node 3 of dialogue 0 never enters).
  EXPECT_EQ(window_edge_list(g.adjacency[4], 1), (Edges{{0, 0}}));
  EXPECT_EQ(window_edge_list(g.adjacency[5], 2), (Edges{{0, 0}, {1, 1}, {0, 1}}));
}

}  // namespace
}  // namespace merc::nn
