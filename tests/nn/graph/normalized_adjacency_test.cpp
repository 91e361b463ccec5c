#include "merc/nn/graph/normalized_adjacency.h"

#include <cmath>

#include <gtest/gtest.h>

#include "merc/nn/graph/gcnii_conv.h"

namespace merc::nn {
namespace normalized_adjacency_test {

// float32 sums of a handful of O(1) terms: a few ulps; 1e-6 absolute leaves margin.
constexpr double kTol = 1e-6;

// The public codes' dense construction: A[row, col] += w for each (row = target, col = source),
// D = row sums, D^-1/2 with inf -> 0, Â = D^-1/2 A D^-1/2.
torch::Tensor dense_reference(const torch::Tensor& edge_index, const torch::Tensor& w, int64_t N) {
  torch::Tensor A = torch::zeros({N, N}, torch::kFloat64);
  for (int64_t e = 0; e < edge_index.size(1); ++e)
    A[edge_index[1][e].item<int64_t>()][edge_index[0][e].item<int64_t>()] += w[e].item<double>();
  torch::Tensor d = A.sum(1).pow(-0.5);
  d = torch::where(torch::isinf(d), torch::zeros_like(d), d);
  return torch::diag(d).mm(A).mm(torch::diag(d));
}

TEST(NormalizedAdjacency, MatchesTheDenseFormulaWithDuplicatesAndAnIsolatedNode) {
  // 4 nodes; edge 0 -> 1 appears twice (weights add); node 3 receives nothing (row sum 0, so its
  // d^-1/2 is 0 and its own row and column of Â are 0 although A[1][3] = 0.75).
  const torch::Tensor edges = torch::tensor({0, 0, 1, 2, 2, 1, 3, 1, 1, 1, 0, 2, 2, 1}, torch::kInt64).view({2, 7});
  const torch::Tensor w = torch::tensor({0.5, 1.5, 2.0, 0.25, 1.0, 3.0, 0.75});
  const NormalizedAdjacency adj = normalize_adjacency(edges, w, 4);
  const torch::Tensor expected = dense_reference(edges, w, 4);
  EXPECT_TRUE(torch::allclose(dense_matrix(adj).to(torch::kFloat64), expected, 0, kTol)) << dense_matrix(adj) << expected;
  // By hand: A[1][0] = 0.5 + 1.5 = 2; d_1 = 2 + 2 + 0.75 = 4.75 (edges into 1); d_0 = 0.25 (2 -> 0):
  // Â[1][0] = 2 / sqrt(4.75 * 0.25).
  EXPECT_NEAR(dense_matrix(adj)[1][0].item<double>(), 2.0 / std::sqrt(4.75 * 0.25), kTol);
  EXPECT_EQ(dense_matrix(adj)[1][3].item<double>(), 0.0);
  EXPECT_EQ(dense_matrix(adj)[3].abs().sum().item<double>(), 0.0);

  const torch::Tensor x = torch::randn({4, 3});
  EXPECT_TRUE(torch::allclose(propagate(adj, x).to(torch::kFloat64), expected.mm(x.to(torch::kFloat64)), 0, kTol));
}

TEST(NormalizedAdjacency, GradientOfTheEdgeWeightsMatchesTheDenseFormula) {
  const torch::Tensor edges = torch::tensor({0, 1, 2, 1, 1, 0, 2, 2}, torch::kInt64).view({2, 4});
  const torch::Tensor w0 = torch::tensor({0.5, 1.5, 2.0, 0.75}, torch::kFloat64);
  const torch::Tensor x = torch::randn({3, 2}, torch::kFloat64);
  torch::Tensor w = w0.clone().requires_grad_(true);
  propagate(normalize_adjacency(edges, w, 3), x).pow(2).sum().backward();
  // Dense version with autograd.
  torch::Tensor wd = w0.clone().requires_grad_(true);
  torch::Tensor A = torch::zeros({9}, torch::kFloat64).index_add(0, edges[1] * 3 + edges[0], wd).view({3, 3});
  const torch::Tensor d = A.sum(1).pow(-0.5);
  torch::diag(d).mm(A).mm(torch::diag(d)).mm(x).pow(2).sum().backward();
  EXPECT_TRUE(torch::allclose(w.grad(), wd.grad(), 0, 1e-12)) << w.grad() << wd.grad();
}

TEST(NormalizedAdjacency, UnweightedAndBadInput) {
  const torch::Tensor edges = torch::tensor({0, 1, 1, 0}, torch::kInt64).view({2, 2});
  EXPECT_TRUE(torch::allclose(dense_matrix(normalize_adjacency(edges, {}, 2)), torch::tensor({0.0f, 1.0f, 1.0f, 0.0f}).view({2, 2})));
  EXPECT_THROW(normalize_adjacency(edges, {}, 1), c10::Error);                       // node id 1 >= N
  EXPECT_THROW(normalize_adjacency(edges, torch::ones({3}), 2), c10::Error);         // wrong weight count
  EXPECT_THROW(normalize_adjacency(edges.to(torch::kInt32), {}, 2), c10::Error);     // wrong dtype
  EXPECT_THROW(propagate(normalize_adjacency(edges, {}, 2), torch::ones({3, 1})), c10::Error);
}

TEST(GcniiConv, ThetaValues) {
  // theta_l = log(lambda / l + 1), lambda = 0.5: ln 1.5, ln 1.25, ln(1 + 1/128).
  EXPECT_NEAR(gcnii_theta(0.5, 1), 0.4054651081081644, 1e-15);
  EXPECT_NEAR(gcnii_theta(0.5, 2), 0.22314355131420976, 1e-15);
  EXPECT_NEAR(gcnii_theta(0.5, 64), 0.007782140442054949, 1e-15);
  EXPECT_THROW(gcnii_theta(0.5, 0), c10::Error);
}

TEST(GcniiConv, MatchesTheDenseFormula) {
  torch::manual_seed(3);
  const torch::Tensor edges = torch::tensor({0, 1, 2, 0, 1, 1, 0, 2, 2, 1}, torch::kInt64).view({2, 5});
  const torch::Tensor w = torch::tensor({1.0f, 0.5f, 2.0f, 0.3f, 1.2f});
  const NormalizedAdjacency adj = normalize_adjacency(edges, w, 3);
  const torch::Tensor P = dense_reference(edges, w, 3).to(torch::kFloat32);
  const torch::Tensor h = torch::randn({3, 4}), h0 = torch::randn({3, 4});
  const double alpha = 0.1, lambda = 0.5;
  for (bool variant : {true, false}) {
    GcniiConv conv(GcniiConvOptions(4).alpha(alpha).lambda(lambda).variant(variant));
    EXPECT_EQ(conv->weight.size(0), variant ? 8 : 4);
    for (int64_t l : {1, 3}) {
      const double theta = std::log(lambda / l + 1);
      const torch::Tensor hi = P.mm(h);
      const torch::Tensor r = (1 - alpha) * hi + alpha * h0;
      const torch::Tensor support = variant ? torch::cat({hi, h0}, 1) : r;
      const torch::Tensor expected = theta * support.mm(conv->weight) + (1 - theta) * r;
      EXPECT_TRUE(torch::allclose(conv(h, adj, h0, l), expected, 0, 1e-5)) << "variant " << variant << " l " << l;
    }
  }
}

}  // namespace normalized_adjacency_test
}  // namespace merc::nn

namespace merc::nn {
namespace block_diagonal_test {

std::vector<int64_t> values(const torch::Tensor& t) {
  auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(BlockDiagonal, DialogueGroupsByHand) {
  // Lengths {2, 1}, 2 blocks: N = 3, T = 2; nodes 0 1 2 | 3 4 5 -> groups 0 0 1 | 0 0 1, slots 0 1 0 | 2 3 2.
  const NodeGroups g = dialogue_groups(torch::tensor({2, 1}, torch::kInt64), 2);
  EXPECT_EQ(values(g.group), (std::vector<int64_t>{0, 0, 1, 0, 0, 1}));
  EXPECT_EQ(values(g.slot), (std::vector<int64_t>{0, 1, 0, 2, 3, 2}));
  EXPECT_EQ(g.num_groups, 2);
  EXPECT_EQ(g.num_slots, 4);
}

TEST(BlockDiagonal, SameValuesAndGradientsAsSparse) {
  // Two dialogues {3, 2}, two blocks; edges inside each dialogue, one duplicate.
  const torch::Tensor lengths = torch::tensor({3, 2}, torch::kInt64);
  // Nodes: block 0 = 0..4, block 1 = 5..9; dialogue 0 = {0,1,2,5,6,7}, dialogue 1 = {3,4,8,9}.
  const torch::Tensor edges =
      torch::tensor({0, 5, 6, 7, 2, 2, 3, 8, 9, 4, /*targets*/ 5, 0, 1, 2, 7, 7, 8, 3, 4, 9}, torch::kInt64).view({2, 10});
  const torch::Tensor w0 = torch::rand({10}, torch::kFloat64) + 0.5;
  const torch::Tensor x0 = torch::randn({10, 3}, torch::kFloat64);
  torch::Tensor ws = w0.clone().requires_grad_(true), xs = x0.clone().requires_grad_(true);
  torch::Tensor wb = w0.clone().requires_grad_(true), xb = x0.clone().requires_grad_(true);
  const torch::Tensor ys = propagate(normalize_adjacency(edges, ws, 10), xs);
  const torch::Tensor yb =
      propagate(block_diagonal(normalize_adjacency(edges, wb, 10), dialogue_groups(lengths, 2)), xb);
  EXPECT_TRUE(torch::allclose(ys, yb, 0, 1e-12));
  (ys * ys.detach().sin()).sum().backward();
  (yb * yb.detach().sin()).sum().backward();
  EXPECT_TRUE(torch::allclose(xs.grad(), xb.grad(), 0, 1e-12));
  EXPECT_TRUE(torch::allclose(ws.grad(), wb.grad(), 0, 1e-12));
  // An edge across dialogues cannot be block-diagonal.
  const torch::Tensor across = torch::tensor({0, 3}, torch::kInt64).view({2, 1});
  EXPECT_THROW(block_diagonal(normalize_adjacency(across, {}, 10), dialogue_groups(lengths, 2)), c10::Error);
}

}  // namespace block_diagonal_test
}  // namespace merc::nn
