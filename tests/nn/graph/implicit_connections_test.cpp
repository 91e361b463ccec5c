#include "merc/nn/graph/implicit_connections.h"

#include <limits>
#include <set>

#include <gtest/gtest.h>

#include "merc/nn/graph/hybrid_relational_graph.h"

namespace merc::nn {
namespace {

// W = identity, f_1 reads feature 0 and f_2 feature 1: e[i][j] = ELU(x_i[1] + x_j[0]).
ImplicitConnectionDetector hand_detector() {
  ImplicitConnectionDetector d(ImplicitConnectionOptions{2, 2});
  torch::NoGradGuard no_grad;
  d->seq_transformation_r->weight.copy_(torch::eye(2));
  d->f_1->weight.copy_(torch::tensor({{1.0f, 0.0f}}));
  d->f_2->weight.copy_(torch::tensor({{0.0f, 1.0f}}));
  return d;
}

TEST(ImplicitConnections, HandExample) {
  // One window of 4 nodes, all different speakers (hybrid edges: self loops and i-1 -> i).
  // x_j[0] = a = (0.1, 0.5, 2.0, 1.0), x_i[1] = 0: e[i][j] = a_j, divided by the row max 2.0 ->
  // (0.05, 0.25, 1, 0.5) in every row.
  //   row 0: softmax over j >= 0 = (0.157, 0.192, 0.406, 0.246); > 1/4 only j = 2 -> new edge 0 -> 2
  //   row 1: softmax over j >= 1 = (0.227, 0.481, 0.292);       > 1/3 only j = 2 -> 1 -> 2 exists
  //   row 2: softmax over j >= 2 = (0.622, 0.378);              > 1/2 only j = 2 (diagonal)
  //   row 3: (1), not > 1.
  const ContextWindows w = context_windows(torch::tensor({4}, torch::kInt64), 3);
  const HybridRelationalGraph g = hybrid_relational_graph(w, torch::tensor({0, 1, 2, 3}, torch::kInt64));
  const torch::Tensor x = torch::tensor({0.1f, 0.0f, 0.5f, 0.0f, 2.0f, 0.0f, 1.0f, 0.0f}).view({1, 4, 2});
  auto detector = hand_detector();
  const ImplicitConnections out = detector->forward(x, w.mask.narrow(0, 3, 1), g.adjacency.narrow(0, 3, 1));
  // Softmax values computed by hand to 3 decimals.
  EXPECT_NEAR(out.probability[0][0][2].item<float>(), 0.406, 1e-3);
  EXPECT_NEAR(out.probability[0][1][2].item<float>(), 0.481, 1e-3);
  EXPECT_NEAR(out.probability[0][2][2].item<float>(), 0.622, 1e-3);
  EXPECT_EQ(out.added.sum().item<int64_t>(), 1);
  EXPECT_TRUE(out.added[0][0][2].item<bool>());
  EXPECT_TRUE(out.adjacency[0][2][0].item<bool>());  // node 2 now receives from node 0
  EXPECT_EQ(out.adjacency.sum().item<int64_t>(), g.adjacency[3].sum().item<int64_t>() + 1);

  // Same window with speakers A B A B: 0 -> 2 is a cognate edge already, nothing is added.
  const HybridRelationalGraph g2 = hybrid_relational_graph(w, torch::tensor({0, 1, 0, 1}, torch::kInt64));
  EXPECT_EQ(detector->forward(x, w.mask.narrow(0, 3, 1), g2.adjacency.narrow(0, 3, 1)).added.sum().item<int64_t>(), 0);

  // Row i reads f_2 and column j f_1 (the release adds f_1 transposed to f_2): with the features
  // swapped the scores are the same in every column, so every row is uniform and nothing exceeds 1/(n - i).
  const torch::Tensor swapped = x.flip({2});
  EXPECT_EQ(detector->forward(swapped, w.mask.narrow(0, 3, 1), g.adjacency.narrow(0, 3, 1)).added.sum().item<int64_t>(),
            0);
}

// The release's Edge_Relation.get_relation + forward for one window of n nodes (a transcription),
// restricted to pairs without an edge: the edges (i, j) it adds.
std::set<std::pair<int64_t, int64_t>> release_edges(ImplicitConnectionDetector& d, const torch::Tensor& x,
                                                    const torch::Tensor& adjacency) {
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0);
  torch::Tensor matrix = torch::zeros({n, n});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j) matrix[i][j] = -std::numeric_limits<float>::infinity();
  const torch::Tensor r = d->seq_transformation_r(x);
  torch::Tensor coefs = torch::elu(d->f_1(r).transpose(0, 1) + d->f_2(r));
  coefs = coefs / std::get<0>(coefs.max(1)).unsqueeze(1);
  coefs = torch::softmax(coefs + matrix, 1);
  std::set<std::pair<int64_t, int64_t>> edges;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j)
      // float32 limit, as torch compares a float tensor with a Python float
      if (coefs[i][j].item<float>() > static_cast<float>(1.0 / static_cast<double>(n - i)) &&
          !adjacency[j][i].item<bool>())
        edges.insert({i, j});
  return edges;
}

TEST(ImplicitConnections, BatchedWindowsEqualTheReleaseLoopPerWindow) {
  torch::manual_seed(3);
  ImplicitConnectionDetector d(ImplicitConnectionOptions{6, 4});
  // Dialogues of 5 and 3 utterances, W = 3: windows of 1..4 nodes; only windows of > 2 nodes get edges.
  const ContextWindows w = context_windows(torch::tensor({5, 3}, torch::kInt64), 3);
  const HybridRelationalGraph g = hybrid_relational_graph(w, torch::tensor({0, 1, 2, 1, 0, 1, 0, 2}, torch::kInt64));
  const torch::Tensor nodes = torch::randn({8, 6});
  const torch::Tensor x = gather_windows(nodes, w) + (~w.mask).unsqueeze(2).to(torch::kFloat32) * 7.0;  // junk in empty slots
  const ImplicitConnections out = d->forward(x, w.mask, g.adjacency);
  int64_t total = 0;
  for (int64_t k = 0; k < w.num_windows(); ++k) {
    const int64_t n = w.size[k].item<int64_t>();
    std::set<std::pair<int64_t, int64_t>> got;
    for (int64_t i = 0; i < w.slots(); ++i)
      for (int64_t j = 0; j < w.slots(); ++j)
        if (out.added[k][i][j].item<bool>()) got.insert({i, j});
    const auto want = n > 2 ? release_edges(d, x[k].narrow(0, 0, n), g.adjacency[k]) : decltype(got){};
    EXPECT_EQ(got, want) << "window " << k;
    total += static_cast<int64_t>(got.size());
  }
  EXPECT_GT(total, 0) << "the example should add some edges";
  for (const auto& p : d->parameters()) EXPECT_FALSE(p.requires_grad());
}

}  // namespace
}  // namespace merc::nn
