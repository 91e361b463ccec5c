#include "merc/nn/graph/window_gat.h"

#include <cmath>

#include <gtest/gtest.h>

#include "merc/nn/graph/hybrid_relational_graph.h"

namespace merc::nn {
namespace {

// Double tolerance: every value is a handful of double operations away from the reference.
constexpr double kTol = 1e-12;

WindowGatLayer layer_with(int64_t d, int64_t heads, bool overwrite) {
  WindowGatOptions o;
  o.d_model = d;
  o.num_heads = heads;
  o.dropout = 0.0;
  o.release_overwrite = overwrite;
  WindowGatLayer l(o);
  l->to(torch::kFloat64);
  return l;
}

torch::Tensor rms(const torch::Tensor& v) { return v / (v.pow(2).mean(-1, true) + 1e-6).sqrt(); }

TEST(WindowGat, TwoNodesByHand) {
  // One head, d = 2, Linear = identity: node 1 receives from 0 and itself, node 0 from itself.
  auto l = layer_with(2, 1, false);
  {
    torch::NoGradGuard no_grad;
    l->linear_proj->weight.copy_(torch::eye(2, torch::kFloat64));
    l->scoring_fn_source.copy_(torch::tensor({1.0, 0.0}, torch::kFloat64).view({1, 1, 2}));
    l->scoring_fn_target.copy_(torch::tensor({0.0, 1.0}, torch::kFloat64).view({1, 1, 2}));
  }
  const torch::Tensor x = torch::tensor({1.0, 0.0, 0.0, 2.0}, torch::kFloat64).view({1, 2, 2});
  const torch::Tensor adjacency = torch::tensor({true, false, true, true}).view({1, 2, 2});
  // s(1 <- 0) = a_trg.x1 + a_src.x0 = 2 + 1 = 3, s(1 <- 1) = 2 + 0 = 2: alpha = (e, 1) / (e + 1).
  const double e = std::exp(1.0);
  const torch::Tensor agg1 = torch::tensor({e / (e + 1), 2.0 / (e + 1)}, torch::kFloat64);
  const torch::Tensor y = l->forward(x, adjacency);
  EXPECT_TRUE(torch::allclose(y[0][1], x[0][1] + rms(agg1), kTol, kTol)) << y;
  EXPECT_TRUE(torch::allclose(y[0][0], x[0][0] + rms(x[0][0]), kTol, kTol)) << y;
}

TEST(WindowGat, ThreeNodesTwoHeadsEqualAPerHeadLoop) {
  torch::manual_seed(5);
  auto l = layer_with(4, 2, false);
  const torch::Tensor x = torch::randn({1, 3, 4}, torch::kFloat64);
  // Edges: self loops, 0 -> 1, 0 -> 2, 1 -> 2.
  const torch::Tensor adjacency = torch::tensor({true, false, false, true, true, false, true, true, true}).view({1, 3, 3});
  const torch::Tensor y = l->forward(x, adjacency);
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < 3; ++i) {
    std::vector<torch::Tensor> heads;
    for (int64_t h = 0; h < 2; ++h) {
      const auto zi = x[0][i].narrow(0, 2 * h, 2);
      std::vector<double> s;
      std::vector<torch::Tensor> zs;
      for (int64_t j = 0; j < 3; ++j) {
        if (!adjacency[0][i][j].item<bool>()) continue;
        const auto zj = x[0][j].narrow(0, 2 * h, 2);
        const double v = (l->scoring_fn_target[0][h] * zi).sum().item<double>() +
                         (l->scoring_fn_source[0][h] * zj).sum().item<double>();
        s.push_back(v > 0 ? v : 0.2 * v);
        zs.push_back(zj);
      }
      double den = 0;
      for (double v : s) den += std::exp(v);
      torch::Tensor agg = torch::zeros({2}, torch::kFloat64);
      for (size_t k = 0; k < s.size(); ++k) agg = agg + std::exp(s[k]) / den * zs[k];
      heads.push_back(agg);
    }
    const torch::Tensor want = x[0][i] + l->linear_proj(rms(torch::cat(heads)));
    EXPECT_TRUE(torch::allclose(y[0][i], want, kTol, kTol)) << "node " << i;
  }
}

TEST(WindowGat, ReleaseOverwriteIsTheFormulaAndIgnoresEdges) {
  torch::manual_seed(6);
  auto l = layer_with(4, 2, true);
  EXPECT_FALSE(l->scoring_fn_source.defined());
  const torch::Tensor x = torch::randn({2, 3, 4}, torch::kFloat64);
  const torch::Tensor full = torch::ones({2, 3, 3}, torch::kBool);
  const torch::Tensor self = torch::eye(3, torch::kBool).unsqueeze(0).expand({2, 3, 3});
  const torch::Tensor want = x + l->linear_proj(rms(x));
  EXPECT_TRUE(torch::allclose(l->forward(x, full), want, kTol, kTol));
  EXPECT_TRUE(torch::equal(l->forward(x, full), l->forward(x, self)));
  // The working layer does depend on the edges.
  torch::manual_seed(6);
  auto working = layer_with(4, 2, false);
  EXPECT_FALSE(torch::allclose(working->forward(x, full), working->forward(x, self)));
}

TEST(WindowGat, EmptySlotsDoNotReachRealNodesAndLayersChain) {
  torch::manual_seed(7);
  WindowGatOptions o;
  o.d_model = 4;
  o.num_heads = 2;
  o.dropout = 0.0;
  o.num_layers = 2;
  WindowGat gat(o);
  const ContextWindows w = context_windows(torch::tensor({2}, torch::kInt64), 2);  // window 1: 2 of 3 slots
  const HybridRelationalGraph g = hybrid_relational_graph(w, torch::tensor({0, 1}, torch::kInt64));
  torch::Tensor x = torch::randn({2, 3, 4});
  const torch::Tensor y = gat->forward(x, g.adjacency);
  x.select(1, 2).fill_(100.0);  // junk in the empty slot
  const torch::Tensor y2 = gat->forward(x, g.adjacency);
  EXPECT_TRUE(torch::equal(y.narrow(1, 0, 2), y2.narrow(1, 0, 2)));
  auto& l0 = gat->layers->at<WindowGatLayerImpl>(0);
  auto& l1 = gat->layers->at<WindowGatLayerImpl>(1);
  EXPECT_TRUE(torch::equal(y2, l1.forward(l0.forward(x, g.adjacency), g.adjacency)));
}

}  // namespace
}  // namespace merc::nn
