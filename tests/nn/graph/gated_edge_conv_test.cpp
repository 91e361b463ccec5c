#include "merc/nn/graph/gated_edge_conv.h"

#include <gtest/gtest.h>

#include "../gradcheck.h"
#include "merc/nn/graph/edge_propagate.h"

namespace merc::nn {
namespace {

// A hand-built graph on 5 nodes with a duplicated edge (0 -> 1 twice), a self-loop (2 -> 2), a
// node that only receives (3: out-degree 0) and a node that only sends (4: in-degree 0).
torch::Tensor gated_hand_edges() {
  return torch::tensor({{0, 0, 1, 2, 2, 4, 4, 1}, {1, 1, 0, 2, 3, 0, 3, 3}}, torch::kInt64);
}

// Dense multiplicity matrix A[dst][src].
torch::Tensor gated_dense_counts(const torch::Tensor& ei, int64_t N) {
  auto A = torch::zeros({N, N}, torch::kDouble);
  for (int64_t e = 0; e < ei.size(1); ++e) A[ei[1][e].item<int64_t>()][ei[0][e].item<int64_t>()] += 1.0;
  return A;
}

// 1/sqrt(d) with 0 for d = 0 (the reference's inf -> 0).
torch::Tensor gated_inv_sqrt(const torch::Tensor& d) {
  return torch::where(d > 0, d.pow(-0.5), torch::zeros_like(d));
}

TEST(EdgePropagate, EqualsDenseMatrixProductAndGradients) {
  const auto ei = gated_hand_edges();
  const EdgeIndex g = make_edge_index(ei, 5);
  torch::manual_seed(3);
  auto x = torch::randn({5, 3}, torch::kDouble).requires_grad_();
  auto coef = torch::randn({8}, torch::kDouble).requires_grad_();
  // Dense: W[dst][src] = sum of coef over parallel edges.
  auto W = torch::zeros({5, 5}, torch::kDouble);
  for (int64_t e = 0; e < 8; ++e) W[ei[1][e].item<int64_t>()][ei[0][e].item<int64_t>()] += coef[e].item<double>();
  // 1e-12: the same few double products summed in another order.
  EXPECT_TRUE(torch::allclose(propagate(g, x, coef), torch::mm(W, x), 0, 1e-12));
  // Degrees (duplicates counted): out = [2, 2, 2, 0, 2], in = [2, 2, 1, 3, 0].
  EXPECT_TRUE(torch::equal(out_degree(g), torch::tensor({2.f, 2.f, 2.f, 0.f, 2.f})));
  EXPECT_TRUE(torch::equal(in_degree(g), torch::tensor({2.f, 2.f, 1.f, 3.f, 0.f})));
  // 1e-7: see gradcheck.h; a wrong backward is off by O(0.1).
  EXPECT_LT(testing::max_gradient_error([&] { return propagate(g, x, coef); }, {x, coef}), 1e-7);
}

TEST(EdgePropagate, RejectsOutOfRangeEdgesAndBadShapes) {
  EXPECT_THROW(make_edge_index(torch::tensor({{0}, {5}}, torch::kInt64), 5), c10::Error);
  EXPECT_THROW(make_edge_index(torch::tensor({{0, 1}}, torch::kInt64), 5), c10::Error);
  const EdgeIndex g = make_edge_index(gated_hand_edges(), 5);
  EXPECT_THROW(propagate(g, torch::zeros({4, 2}), torch::zeros({8})), c10::Error);
  EXPECT_THROW(propagate(g, torch::zeros({5, 2}), torch::zeros({7})), c10::Error);
}

TEST(GatedEdgeConv, EqualsDenseFormulaAndThePerEdgeReferencePath) {
  const auto ei = gated_hand_edges();
  const EdgeIndex g = make_edge_index(ei, 5);
  torch::manual_seed(5);
  GatedEdgeConv conv(3);
  conv->to(torch::kDouble);
  const auto x = torch::randn({5, 3}, torch::kDouble);
  const auto out = conv(x, g, symmetric_degree_norm(g, DegreeKind::kOut, torch::kDouble));

  // Dense: out = (C * N * G) x with C the multiplicities, N[i][j] = dout(j)^-1/2 dout(i)^-1/2,
  // G[i][j] = tanh(w_dst . x_i + w_src . x_j + b).
  const auto w = conv->gate->weight.view({2, 3});
  const auto s_dst = torch::mv(x, w[0]), s_src = torch::mv(x, w[1]) + conv->gate->bias;
  const auto G = torch::tanh(s_dst.unsqueeze(1) + s_src.unsqueeze(0));
  const auto dout = gated_dense_counts(ei, 5).sum(0);  // column sums = edges leaving each source
  const auto Nrm = gated_inv_sqrt(dout).unsqueeze(1) * gated_inv_sqrt(dout).unsqueeze(0);
  const auto dense = torch::mm(gated_dense_counts(ei, 5) * Nrm * G, x);
  // 1e-12: double, a handful of terms.
  EXPECT_TRUE(torch::allclose(out, dense, 0, 1e-12));

  // The reference's per-edge path (MultiConv.message): concatenate [x_dst ; x_src] per edge.
  const auto src = ei[0], dst = ei[1];
  const auto deg = torch::bincount(src, {}, 5).to(torch::kDouble);
  auto dis = deg.pow(-0.5);
  dis.masked_fill_(torch::isinf(dis), 0);
  const auto norm = dis.index_select(0, src) * dis.index_select(0, dst);
  const auto gate = torch::tanh(conv->gate(torch::cat({x.index_select(0, dst), x.index_select(0, src)}, 1)));
  const auto msg = norm.unsqueeze(1) * x.index_select(0, src) * gate;
  const auto ref = torch::zeros_like(x).index_add(0, dst, msg);
  EXPECT_TRUE(torch::allclose(out, ref, 0, 1e-12));
  // Node 4 has in-degree 0: receives nothing; node 3 has out-degree 0, so its norm is 0 and it
  // receives nothing either (the inf -> 0 rule).
  EXPECT_TRUE(torch::equal(out[4], torch::zeros({3}, torch::kDouble)));
  EXPECT_TRUE(torch::equal(out[3], torch::zeros({3}, torch::kDouble)));
}

TEST(GatedEdgeConv, GradientsMatchFiniteDifferences) {
  const EdgeIndex g = make_edge_index(gated_hand_edges(), 5);
  torch::manual_seed(6);
  GatedEdgeConv conv(2);
  conv->to(torch::kDouble);
  auto x = torch::randn({5, 2}, torch::kDouble).requires_grad_();
  const auto norm = symmetric_degree_norm(g, DegreeKind::kOut, torch::kDouble);
  // 1e-7: see gradcheck.h.
  EXPECT_LT(testing::max_gradient_error([&] { return conv(x, g, norm); }, {x, conv->gate->weight, conv->gate->bias}),
            1e-7);
}

TEST(NormConv, EqualsInDegreeNormalisedAdjacency) {
  const auto ei = gated_hand_edges();
  const EdgeIndex g = make_edge_index(ei, 5);
  torch::manual_seed(7);
  auto x = torch::randn({5, 4}, torch::kDouble).requires_grad_();
  const auto C = gated_dense_counts(ei, 5);
  const auto din = C.sum(1);  // row sums = edges entering each target
  const auto dense = torch::mm(C * gated_inv_sqrt(din).unsqueeze(1) * gated_inv_sqrt(din).unsqueeze(0), x);
  const auto norm = symmetric_degree_norm(g, DegreeKind::kIn, torch::kDouble);
  // 1e-12: double, a handful of terms.
  EXPECT_TRUE(torch::allclose(norm_conv(x, g, norm), dense, 0, 1e-12));
  // By hand: node 0 receives 1 -> 0 (din 2 and 2: norm 1/2) and 4 -> 0 (din(4) = 0: norm 0, the
  // in-degree rule makes a node nobody points at silent).
  EXPECT_TRUE(torch::allclose(norm_conv(x, g, norm)[0], 0.5 * x[1], 0, 1e-15));
  EXPECT_LT(testing::max_gradient_error([&] { return norm_conv(x, g, norm); }, {x}), 1e-7);
}

}  // namespace
}  // namespace merc::nn
