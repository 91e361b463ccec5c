#include "merc/nn/graph/window_edges.h"

#include <gtest/gtest.h>

#include "merc/nn/graph/node_batch.h"

namespace merc::nn {
namespace {

std::vector<int64_t> to_vec(const torch::Tensor& t) {
  auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(WindowEdges, HandListedEdgesForTwoDialogues) {
  // Dialogue 0: 4 utterances, speakers [0, 1, 0, 0]; dialogue 1: 2 utterances, speakers [1, 0],
  // then padding whose speaker (99) must not be read. window_past = 1, window_future = 2, M = 2:
  // target i receives from j in [i-1, i+2], relation = (s_j * 2 + s_i) * 2 + (j < i ? 0 : 1).
  //   i=0 (s0): j=0 (s0) 1, j=1 (s1) 5, j=2 (s0) 1
  //   i=1 (s1): j=0 (s0) 2, j=1 (s1) 7, j=2 (s0) 3, j=3 (s0) 3
  //   i=2 (s0): j=1 (s1) 4, j=2 (s0) 1, j=3 (s0) 1
  //   i=3 (s0): j=2 (s0) 0, j=3 (s0) 1
  // dialogue 1, nodes 4 and 5:
  //   i=4 (s1): j=4 (s1) 7, j=5 (s0) 3
  //   i=5 (s0): j=4 (s1) 4, j=5 (s0) 1
  const auto lengths = torch::tensor({4, 2}, torch::kInt64);
  const auto speaker = torch::tensor({0, 1, 0, 0, 1, 0, 99, 99}, torch::kInt64).view({2, 4});
  const WindowEdges e = window_edges(lengths, speaker, 1, 2, 2);
  EXPECT_EQ(to_vec(e.edge_index[0]), (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 3, 1, 2, 3, 2, 3, 4, 5, 4, 5}));
  EXPECT_EQ(to_vec(e.edge_index[1]), (std::vector<int64_t>{0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5}));
  EXPECT_EQ(to_vec(e.relation), (std::vector<int64_t>{1, 5, 1, 2, 7, 3, 3, 4, 1, 1, 0, 1, 7, 3, 4, 1}));
  EXPECT_EQ(num_window_relations(2), 8);
}

TEST(WindowEdges, UnboundedAndZeroWindows) {
  const auto lengths = torch::tensor({3, 1, 2}, torch::kInt64);
  const auto speaker = torch::tensor({0, 1, 2, 2, 0, 0, 1, 0, 0}, torch::kInt64).view({3, 3});
  // -1 / -1: every ordered pair inside a dialogue, 3^2 + 1^2 + 2^2.
  EXPECT_EQ(window_edges(lengths, speaker, -1, -1, 3).relation.size(0), 14);
  // Past only (future 0): 3*4/2 + 1 + 3 = 10 edges, and no source is after its target.
  const WindowEdges past = window_edges(lengths, speaker, -1, 0, 3);
  EXPECT_EQ(past.relation.size(0), 10);
  EXPECT_TRUE((past.edge_index[0] <= past.edge_index[1]).all().item<bool>());
  // 0 / 0: self-loops only, relation (s * M + s) * 2 + 1 for speakers 0, 1, 2 | 2 | 1, 0.
  const WindowEdges self = window_edges(lengths, speaker, 0, 0, 3);
  EXPECT_EQ(to_vec(self.edge_index[0]), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(to_vec(self.edge_index[1]), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(to_vec(self.relation), (std::vector<int64_t>{1, 9, 17, 17, 9, 1}));
}

TEST(WindowEdges, EmptyDialogueHasNoEdgesAndShiftsNothing) {
  const auto e = window_edges(torch::tensor({0, 2}, torch::kInt64), torch::zeros({2, 2}, torch::kInt64), 1, 1, 1);
  EXPECT_EQ(to_vec(e.edge_index[0]), (std::vector<int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(to_vec(e.edge_index[1]), (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST(WindowEdges, RejectsBadSpeakersAndLengths) {
  const auto speaker = torch::tensor({0, 2}, torch::kInt64).view({1, 2});
  try {
    window_edges(torch::tensor({2}, torch::kInt64), speaker, 1, 1, 2);
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("utterance 1 has speaker 2, expected [0, 2)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(window_edges(torch::tensor({3}, torch::kInt64), speaker, 1, 1, 3), c10::Error);     // length > T
  EXPECT_THROW(window_edges(torch::tensor({2, 2}, torch::kInt64), speaker, 1, 1, 3), c10::Error);  // B mismatch
  EXPECT_THROW(window_edges(torch::tensor({2}, torch::kInt64), speaker, 1, 1, 0), c10::Error);
}

TEST(NodeBatch, PositionsGatherAndScatterBack) {
  const auto lengths = torch::tensor({2, 0, 3}, torch::kInt64);
  const auto pos = node_positions(lengths, 3);
  EXPECT_EQ(to_vec(pos), (std::vector<int64_t>{0, 1, 6, 7, 8}));
  const auto padded = torch::arange(18, torch::kFloat32).view({3, 3, 2});
  const auto nodes = to_nodes(padded, pos);
  ASSERT_EQ(nodes.sizes(), (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(nodes[2][0].item<float>(), 12.0f);  // (b=2, t=0) -> flat 6 -> values 12, 13
  const auto back = to_padded(nodes, pos, 3, 3);
  auto expected = padded.clone();
  expected[0][2].zero_();
  expected[1].zero_();
  EXPECT_TRUE(torch::equal(back, expected));
  EXPECT_THROW(node_positions(torch::tensor({4}, torch::kInt64), 3), c10::Error);
}

}  // namespace
}  // namespace merc::nn
