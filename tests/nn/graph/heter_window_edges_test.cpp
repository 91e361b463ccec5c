#include "merc/nn/graph/heter_window_edges.h"

#include <gtest/gtest.h>

#include "merc/nn/graph/chunk_pairs.h"

namespace merc::nn {
namespace heter_window_edges_test {

std::vector<int64_t> to_vec(const torch::Tensor& t) {
  auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// Each case lists the public code's (row, column) pairs (m_j, n_k) as target / source here.

TEST(HeterWindowEdges, DialogueOfLengthOne) {
  // N = 1: t_0 <-> v_0 only (node 0 in block 0, node 1 in block 1).
  const torch::Tensor e = heter_window_edges(torch::tensor({1}, torch::kInt64), 2, 1, 1);
  EXPECT_EQ(to_vec(e[0]), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(to_vec(e[1]), (std::vector<int64_t>{0, 1}));
}

TEST(HeterWindowEdges, DialogueOfLengthTwoWithFutureOnlyWindow) {
  // N = 2, window_past 0, window_future 1: j = 0 links k = 0, 1; j = 1 links k = 1.
  // (0,1): (0<-2) (0<-3) (1<-3); (1,0): (2<-0) (2<-1) (3<-1).
  const torch::Tensor e = heter_window_edges(torch::tensor({2}, torch::kInt64), 2, 0, 1);
  EXPECT_EQ(to_vec(e[0]), (std::vector<int64_t>{2, 3, 3, 0, 1, 1}));
  EXPECT_EQ(to_vec(e[1]), (std::vector<int64_t>{0, 0, 1, 2, 2, 3}));
}

TEST(HeterWindowEdges, DialogueOfLengthFive) {
  // N = 5, window_past 1, window_future 2: j links k in [j-1, j+2] clipped to 0..4.
  const torch::Tensor e = heter_window_edges(torch::tensor({5}, torch::kInt64), 2, 1, 2);
  const std::vector<int64_t> k_of_j = {0, 1, 2, /*j=1*/ 0, 1, 2, 3, /*j=2*/ 1, 2, 3, 4, /*j=3*/ 2, 3, 4, /*j=4*/ 3, 4};
  const std::vector<int64_t> j_rep = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4};
  std::vector<int64_t> source, target;
  for (size_t i = 0; i < k_of_j.size(); ++i) source.push_back(5 + k_of_j[i]), target.push_back(j_rep[i]);
  for (size_t i = 0; i < k_of_j.size(); ++i) source.push_back(k_of_j[i]), target.push_back(5 + j_rep[i]);
  EXPECT_EQ(to_vec(e[0]), source);
  EXPECT_EQ(to_vec(e[1]), target);
}

TEST(HeterWindowEdges, ThreeBlocksTwoDialoguesUnboundedFollowPermutationOrder) {
  // Lengths {2, 1}, N = 3, blocks at 0, 3, 6; windows -1 (all). Dialogue 0 (utterances 0, 1) for the
  // pairs (0,1), (0,2), (1,0), (1,2), (2,0), (2,1), then dialogue 1 (utterance 2).
  const torch::Tensor e = heter_window_edges(torch::tensor({2, 1}, torch::kInt64), 3, -1, -1);
  const std::vector<int64_t> target = {0, 0, 1, 1, 0, 0, 1, 1, 3, 3, 4, 4, 3, 3, 4, 4, 6, 6, 7, 7, 6, 6, 7, 7,
                                       2, 2, 5, 5, 8, 8};
  const std::vector<int64_t> source = {3, 4, 3, 4, 6, 7, 6, 7, 0, 1, 0, 1, 6, 7, 6, 7, 0, 1, 0, 1, 3, 4, 3, 4,
                                       5, 8, 2, 8, 2, 5};
  EXPECT_EQ(to_vec(e[1]), target);
  EXPECT_EQ(to_vec(e[0]), source);
}

TEST(HeterWindowEdges, OnlyInterModalEdgesInsideOneDialogue) {
  const torch::Tensor lengths = torch::tensor({3, 1, 4, 2}, torch::kInt64);
  const int64_t N = 10;
  const std::vector<int64_t> dialogue_of = {0, 0, 0, 1, 2, 2, 2, 2, 3, 3};
  const torch::Tensor e = heter_window_edges(lengths, 2, 1, 0);
  const auto src = to_vec(e[0]), dst = to_vec(e[1]);
  ASSERT_FALSE(src.empty());
  for (size_t i = 0; i < src.size(); ++i) {
    EXPECT_NE(src[i] / N, dst[i] / N) << "intra-modal edge " << src[i] << " -> " << dst[i];
    EXPECT_EQ(dialogue_of[src[i] % N], dialogue_of[dst[i] % N]);
    const int64_t j = dst[i] % N, k = src[i] % N;  // target utterance j, source k
    EXPECT_TRUE(k >= j - 1 && k <= j) << "k " << k << " outside [j-1, j] for j " << j;
  }
}

TEST(HeterWindowEdges, BadArgumentsAreErrors) {
  EXPECT_THROW(heter_window_edges(torch::tensor({2}, torch::kInt64), 1, 1, 1), c10::Error);
  EXPECT_THROW(heter_window_edges(torch::tensor({-1}, torch::kInt64), 2, 1, 1), c10::Error);
  EXPECT_THROW(heter_window_edges(torch::tensor({2.0}), 2, 1, 1), c10::Error);
}

TEST(ChunkPairs, WindowsOfTwoWithRemainder) {
  // Lengths {5, 2}, window 2: chunks [0,1], [2,3], [4] and [5,6]; all ordered pairs incl. i = j.
  const ChunkPairs p = chunk_pairs(torch::tensor({5, 2}, torch::kInt64), 2);
  EXPECT_EQ(to_vec(p.first), (std::vector<int64_t>{0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6}));
  EXPECT_EQ(to_vec(p.second), (std::vector<int64_t>{0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 6, 5, 6}));
}

TEST(ChunkPairs, WholeDialogueAndErrors) {
  const ChunkPairs p = chunk_pairs(torch::tensor({3}, torch::kInt64), -1);
  EXPECT_EQ(to_vec(p.first), (std::vector<int64_t>{0, 0, 0, 1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(to_vec(p.second), (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0, 1, 2}));
  // A window longer than the dialogue is one chunk.
  EXPECT_EQ(chunk_pairs(torch::tensor({2}, torch::kInt64), 19).first.size(0), 4);
  EXPECT_THROW(chunk_pairs(torch::tensor({3}, torch::kInt64), 0), c10::Error);
  EXPECT_THROW(chunk_pairs(torch::tensor({3}, torch::kInt64), -2), c10::Error);
}

}  // namespace heter_window_edges_test
}  // namespace merc::nn
