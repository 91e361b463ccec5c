#include "merc/nn/graph/multimodal_edges.h"

#include <gtest/gtest.h>

#include "graph_test_util.h"

namespace merc::nn {
namespace {

using testing::Pairs;
using testing::sorted;
using testing::sorted_pairs;

TEST(TemporalWindowEdges, ReferenceMultiplicitiesOnLengthFive) {
  // One block, L = 5, window_dir = 1, window_dir_f = 2: m(1) = 2, m(2) = 1, m(3) = m(4) = 0,
  // each in both directions.
  const BlockLayout l = make_block_layout(torch::tensor({5}, torch::kInt64), 1);
  EdgeList e;
  add_temporal_window_edges(e, l, {0}, 1, 2, TemporalMultiplicity::kReference);
  const Pairs expected = {{1, 0}, {1, 0}, {0, 1}, {0, 1}, {2, 1}, {2, 1}, {1, 2}, {1, 2}, {3, 2}, {3, 2}, {2, 3},
                          {2, 3}, {4, 3}, {4, 3}, {3, 4}, {3, 4}, {2, 0}, {0, 2}, {3, 1}, {1, 3}, {4, 2}, {2, 4}};
  EXPECT_EQ(sorted_pairs(e), sorted(expected));
}

TEST(TemporalWindowEdges, UnboundedWindowsAndModesOnLengthsTwoAndOne) {
  // lengths 2, 1; K = 2 blocks. Dialogue 0: block 0 = {0, 1}, block 1 = {2, 3}; dialogue 1:
  // {4}, {5} (no pair). window_dir = 1, window_dir_f = -1: the one pair (gap 1) has m = 2.
  const BlockLayout l = make_block_layout(torch::tensor({2, 1}, torch::kInt64), 2);
  EdgeList ref, dir, single;
  add_temporal_window_edges(ref, l, {0, 1}, 1, -1, TemporalMultiplicity::kReference);
  add_temporal_window_edges(dir, l, {0, 1}, 1, -1, TemporalMultiplicity::kDirectional);
  add_temporal_window_edges(single, l, {0, 1}, 1, -1, TemporalMultiplicity::kSingle);
  EXPECT_EQ(sorted_pairs(ref), sorted({{1, 0}, {1, 0}, {0, 1}, {0, 1}, {3, 2}, {3, 2}, {2, 3}, {2, 3}}));
  EXPECT_EQ(sorted_pairs(single), sorted({{1, 0}, {0, 1}, {3, 2}, {2, 3}}));
  EXPECT_EQ(sorted_pairs(dir), sorted({{1, 0}, {0, 1}, {3, 2}, {2, 3}}));
  // Directional: window_dir = 0 forbids later -> earlier, window_dir_f = -1 allows earlier -> later.
  EdgeList dir0;
  add_temporal_window_edges(dir0, l, {1}, 0, -1, TemporalMultiplicity::kDirectional);
  EXPECT_EQ(sorted_pairs(dir0), sorted({{2, 3}}));
  // Both unbounded, reference: every pair twice each way (L = 3: 3 pairs * 2 dirs * 2).
  EdgeList all;
  add_temporal_window_edges(all, make_block_layout(torch::tensor({3}, torch::kInt64), 1), {0}, -1, -1,
                            TemporalMultiplicity::kReference);
  EXPECT_EQ(all.size(), 12);
}

TEST(AllPairsEdges, EveryOrderedPairOnce) {
  const BlockLayout l = make_block_layout(torch::tensor({3, 1}, torch::kInt64), 2);
  EdgeList e;
  add_all_pairs_edges(e, l, {0, 1});
  // Dialogue 0: block 0 = {0,1,2}, block 1 = {3,4,5}; dialogue 1 alone nodes: none.
  EXPECT_EQ(sorted_pairs(e), sorted({{0, 1}, {0, 2}, {1, 0}, {1, 2}, {2, 0}, {2, 1},
                                     {3, 4}, {3, 5}, {4, 3}, {4, 5}, {5, 3}, {5, 4}}));
}

TEST(SpeakerWindowEdges, RepeatedSpeakersWindowsAndTheFirstSenderQuirk) {
  // Dialogue 0: L = 5, speakers 0, 1, 0, 0, 1 (speaker 0 at 0, 2, 3; speaker 1 at 1, 4);
  // dialogue 1: L = 2, speakers 1, 1 (offset 5); dialogue 2: L = 1. K = 1.
  const auto speaker = torch::tensor({0, 1, 0, 0, 1, 1, 1, 7, 7, 7, 0, 7, 7, 7, 7}, torch::kInt64).view({3, 5});
  const BlockLayout l = make_block_layout(torch::tensor({5, 2, 1}, torch::kInt64), 1);
  // window_spk = 1, window_spk_f = -1, reference (j starts at 1):
  //   speaker 0: j=1 (utt 2) -> 0 (past), -> 3 (future); j=2 (utt 3) -> 2 (past)
  //   speaker 1: j=1 (utt 4) -> 1;  dialogue 1: j=1 (utt 1, node 6) -> node 5
  EdgeList ref;
  add_speaker_window_edges(ref, l, {0}, speaker, 1, -1, true);
  const Pairs expected = {{2, 0}, {2, 3}, {3, 2}, {4, 1}, {6, 5}};
  EXPECT_EQ(sorted_pairs(ref), sorted(expected));
  // Corrected: the first utterances (0, 1 and node 5, 7) now send too; exactly their edges are added.
  EdgeList fixed;
  add_speaker_window_edges(fixed, l, {0}, speaker, 1, -1, false);
  Pairs with_first = expected;
  for (auto p : Pairs{{0, 2}, {0, 3}, {1, 4}, {5, 6}}) with_first.push_back(p);
  EXPECT_EQ(sorted_pairs(fixed), sorted(with_first));
  // window_spk = -1, window_spk_f = 0: past only, unbounded.
  EdgeList past;
  add_speaker_window_edges(past, l, {0}, speaker, -1, 0, true);
  EXPECT_EQ(sorted_pairs(past), sorted({{2, 0}, {3, 2}, {3, 0}, {4, 1}, {6, 5}}));
}

TEST(SpeakerWindowEdges, AppliedIdenticallyToEveryListedBlock) {
  // L = 2, speakers 1, 1, K = 3 blocks: block k nodes {2k, 2k+1}; blocks {0, 2} only.
  const BlockLayout l = make_block_layout(torch::tensor({2}, torch::kInt64), 3);
  EdgeList e;
  add_speaker_window_edges(e, l, {0, 2}, torch::tensor({{1, 1}}, torch::kInt64), 10, -1, true);
  EXPECT_EQ(sorted_pairs(e), sorted({{1, 0}, {5, 4}}));
  EXPECT_THROW(add_speaker_window_edges(e, l, {0}, torch::tensor({1, 1}, torch::kInt64), 1, 1, true), c10::Error);
}

TEST(IntraUtteranceEdges, AllOrderedPairsTwiceOrOnce) {
  // lengths 1, 2; K = 3. Dialogue 0: utterance 0 = {0, 1, 2}. Dialogue 1 (offset 1, base 3):
  // block k node 3 + 2k + t: t = 0 -> {3, 5, 7}, t = 1 -> {4, 6, 8}.
  const BlockLayout l = make_block_layout(torch::tensor({1, 2}, torch::kInt64), 3);
  Pairs once;
  for (const auto& u : std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 5, 7}, {4, 6, 8}})
    for (int64_t i : u)
      for (int64_t j : u)
        if (i != j) once.emplace_back(i, j);
  EdgeList e1, e2;
  add_intra_utterance_edges(e1, l, {0, 1, 2}, 1);
  add_intra_utterance_edges(e2, l, {0, 1, 2}, 2);
  EXPECT_EQ(sorted_pairs(e1), sorted(once));
  Pairs twice = once;
  twice.insert(twice.end(), once.begin(), once.end());
  EXPECT_EQ(sorted_pairs(e2), sorted(twice));
  EXPECT_EQ(e1.size(), 18);
}

TEST(DirectedEdges, ModalityToFusionNode) {
  // K = 4 (l, a, v, u), L = 2: node(0, k, t) = 2k + t.
  const BlockLayout l = make_block_layout(torch::tensor({2}, torch::kInt64), 4);
  EdgeList e;
  add_directed_edges(e, l, {0, 1, 2}, 3);
  EXPECT_EQ(sorted_pairs(e), sorted({{0, 6}, {2, 6}, {4, 6}, {1, 7}, {3, 7}, {5, 7}}));
  EXPECT_THROW(add_directed_edges(e, l, {4}, 3), c10::Error);
  const auto t = e.to_tensor();
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{2, 6}));
}

TEST(M3netHyperedges, ModalityThenUtteranceHyperedges) {
  // lengths 2, 1; K = 3. Dialogue 0 nodes 0..5 (l: 0 1, a: 2 3, v: 4 5): hyperedges 0 = {0, 1},
  // 1 = {2, 3}, 2 = {4, 5}, 3 = {0, 2, 4}, 4 = {1, 3, 5}; dialogue 1 nodes 6, 7, 8:
  // 5 = {6}, 6 = {7}, 7 = {8}, 8 = {6, 7, 8}.
  const HyperIncidence h = m3net_hyperedges(make_block_layout(torch::tensor({2, 1}, torch::kInt64), 3));
  EXPECT_EQ(h.num_hyperedges, 9);
  EXPECT_TRUE(torch::equal(h.node, torch::tensor({0, 1, 2, 3, 4, 5, 0, 2, 4, 1, 3, 5, 6, 7, 8, 6, 7, 8}, torch::kInt64)));
  EXPECT_TRUE(
      torch::equal(h.hyperedge, torch::tensor({0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 6, 7, 8, 8, 8}, torch::kInt64)));
}

}  // namespace
}  // namespace merc::nn
