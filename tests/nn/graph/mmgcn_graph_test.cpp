#include "merc/nn/graph/mmgcn_graph.h"

#include <cmath>

#include <gtest/gtest.h>

namespace merc::nn {
namespace mmgcn_graph_test {

std::vector<int64_t> to_vec(const torch::Tensor& t) {
  auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(MmgcnEdges, HandListedTwoBlocksTwoDialogues) {
  // Lengths {2, 1}: N = 3, block 0 = nodes 0..2, block 1 = nodes 3..5. Dialogue 0: intra block 0
  // (0<-0 0<-1 1<-0 1<-1), intra block 1 (3<-3 3<-4 4<-3 4<-4), inter (0<-3 1<-4) and (3<-0 4<-1);
  // dialogue 1: 2<-2, 5<-5, 2<-5, 5<-2.
  const torch::Tensor e = mmgcn_edges(torch::tensor({2, 1}, torch::kInt64), 2);
  EXPECT_EQ(to_vec(e[1]), (std::vector<int64_t>{0, 0, 1, 1, 3, 3, 4, 4, 0, 1, 3, 4, 2, 5, 2, 5}));
  EXPECT_EQ(to_vec(e[0]), (std::vector<int64_t>{0, 1, 0, 1, 3, 4, 3, 4, 3, 4, 0, 1, 2, 5, 5, 2}));
  // One block: only the intra-modal graph.
  EXPECT_EQ(mmgcn_edges(torch::tensor({2, 1}, torch::kInt64), 1).size(1), 5);
  EXPECT_THROW(mmgcn_edges(torch::tensor({2}, torch::kInt64), 0), c10::Error);
}

// The public code's create_big_adj, written with dense loops: per dialogue, each block's
// similarity matrix 1 - acos(0.99999 cos)/pi, the same on the diagonal of every off-diagonal block
// pair, then D^-1/2 A D^-1/2 over the whole batch.
torch::Tensor reference_adjacency(const std::vector<torch::Tensor>& blocks, const std::vector<int64_t>& lengths) {
  const int64_t K = static_cast<int64_t>(blocks.size()), N = blocks[0].size(0);
  torch::Tensor A = torch::zeros({K * N, K * N}, torch::kFloat64);
  auto sim = [](const torch::Tensor& a, const torch::Tensor& b) {
    const double c = (a * b).sum().item<double>() / (a.norm().item<double>() * b.norm().item<double>());
    return 1.0 - std::acos(c * 0.99999) / M_PI;
  };
  int64_t start = 0;
  for (int64_t L : lengths) {
    for (int64_t m = 0; m < K; ++m)
      for (int64_t n = 0; n < K; ++n)
        for (int64_t i = 0; i < L; ++i)
          for (int64_t j = 0; j < L; ++j) {
            if (m != n && i != j) continue;
            A[m * N + start + i][n * N + start + j] = sim(blocks[m][start + i], blocks[n][start + j]);
          }
    start += L;
  }
  const torch::Tensor d = A.sum(1).pow(-0.5);
  return torch::diag(d).mm(A).mm(torch::diag(d));
}

TEST(MmgcnAdjacency, MatchesThePublicDenseConstruction) {
  torch::manual_seed(11);
  const std::vector<torch::Tensor> blocks = {torch::randn({6, 4}), torch::randn({6, 4}), torch::randn({6, 4})};
  const torch::Tensor lengths = torch::tensor({3, 1, 2}, torch::kInt64);
  const NormalizedAdjacency adj = mmgcn_adjacency(blocks, lengths);
  const torch::Tensor expected = reference_adjacency(blocks, {3, 1, 2});
  // float32 cosines and arccos against a float64 reference: ~1e-6 relative.
  EXPECT_TRUE(torch::allclose(dense_matrix(adj).to(torch::kFloat64), expected, 0, 1e-5))
      << (dense_matrix(adj).to(torch::kFloat64) - expected).abs().max();
}

TEST(MmgcnAdjacency, AngularSimilarityValuesAndGradients) {
  // cos = 1 -> 1 - acos(0.99999)/pi; cos = 0 -> 0.5; cos = -1 -> acos(0.99999)/pi; zero vector -> cos 0.
  const torch::Tensor x = torch::tensor({1.0f, 0.0f, 2.0f, 0.0f, 0.0f, 3.0f, -1.0f, 0.0f, 0.0f, 0.0f}).view({5, 2});
  const torch::Tensor edges = torch::tensor({0, 0, 0, 0, 1, 2, 3, 4}, torch::kInt64).view({2, 4});
  const torch::Tensor w = angular_similarity(x, edges);
  const double near_one = 1.0 - std::acos(0.99999) / M_PI;
  // Near cos = +-1 arccos is steep (slope 1 / sqrt(1 - 0.99999^2) = 224): float32 rounding of the
  // scaled cosine (half an ulp, 3e-8) moves the weight by up to ~2e-6; 1e-5 there, 1e-6 elsewhere.
  constexpr double kSteepTol = 1e-5;
  EXPECT_NEAR(w[0].item<double>(), near_one, kSteepTol);
  EXPECT_NEAR(w[1].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(w[2].item<double>(), 1.0 - near_one, kSteepTol);
  EXPECT_NEAR(w[3].item<double>(), 0.5, 1e-6);
  // Gradients flow into the node features (the public code does not detach the graph).
  torch::Tensor y = torch::randn({4, 3}).requires_grad_(true);
  dense_matrix(mmgcn_adjacency({y.narrow(0, 0, 2), y.narrow(0, 2, 2)}, torch::tensor({2}, torch::kInt64)))
      .sum()
      .backward();
  ASSERT_TRUE(y.grad().defined());
  EXPECT_TRUE(torch::isfinite(y.grad()).all().item<bool>());
  EXPECT_GT(y.grad().abs().sum().item<double>(), 0);
}

}  // namespace mmgcn_graph_test
}  // namespace merc::nn
