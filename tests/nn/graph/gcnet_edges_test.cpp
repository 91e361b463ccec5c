#include "merc/nn/graph/gcnet_edges.h"

#include <gtest/gtest.h>

namespace merc::nn {
namespace {

std::vector<int64_t> gcnet_to_vec(const torch::Tensor& t) {
  auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(GcnetEdges, HandListedEdgesForDialoguesOfLengthOneTwoFive) {
  // Dialogue 0: length 1, speaker [1]; dialogue 1: length 2, alternating speakers [0, 1];
  // dialogue 2: length 5, repeated speakers [0, 0, 1, 1, 0]; padding speakers 7 must not be read.
  // window_past = 1, window_future = 2 (asymmetric, so the direction is pinned down): source j
  // sends to targets k in [j - 1, j + 2]. temporal = 0 past (k > j), 1 now, 2 future (k < j);
  // speaker = s(k) * 2 + s(j).
  //   d0 (node 0):      j=0 -> k=0 (now, s 1,1 -> 3)
  //   d1 (nodes 1, 2):  j=0 -> k=0 (now, 0), k=1 (past, s(k)=1, s(j)=0 -> 2)
  //                     j=1 -> k=0 (future, s(k)=0, s(j)=1 -> 1), k=1 (now, 3)
  //   d2 (nodes 3..7):  j=0 (s0) -> k=0,1,2: temporal 1,0,0; speaker 0,0,2
  //                     j=1 (s0) -> k=0..3:  temporal 2,1,0,0; speaker 0,0,2,2
  //                     j=2 (s1) -> k=1..4:  temporal 2,1,0,0; speaker 1,3,3,1
  //                     j=3 (s1) -> k=2..4:  temporal 2,1,0; speaker 3,3,1
  //                     j=4 (s0) -> k=3,4:   temporal 2,1; speaker 2,0
  const auto lengths = torch::tensor({1, 2, 5}, torch::kInt64);
  const auto speaker =
      torch::tensor({1, 7, 7, 7, 7, 0, 1, 7, 7, 7, 0, 0, 1, 1, 0}, torch::kInt64).view({3, 5});
  const GcnetEdges e = gcnet_edges(lengths, speaker, 1, 2, 2);
  EXPECT_EQ(gcnet_to_vec(e.edge_index[0]),
            (std::vector<int64_t>{0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 7, 7}));
  EXPECT_EQ(gcnet_to_vec(e.edge_index[1]),
            (std::vector<int64_t>{0, 1, 2, 1, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 6, 7}));
  EXPECT_EQ(gcnet_to_vec(e.temporal_relation),
            (std::vector<int64_t>{1, 1, 0, 2, 1, 1, 0, 0, 2, 1, 0, 0, 2, 1, 0, 0, 2, 1, 0, 2, 1}));
  EXPECT_EQ(gcnet_to_vec(e.speaker_relation),
            (std::vector<int64_t>{3, 0, 2, 1, 3, 0, 0, 2, 0, 0, 2, 2, 1, 3, 3, 1, 3, 3, 1, 2, 0}));
  EXPECT_EQ(kGcnetTemporalRelations, 3);
  EXPECT_EQ(num_gcnet_speaker_relations(2), 4);
}

TEST(GcnetEdges, SymmetricWindowsAndOneSpeaker) {
  // One speaker (CMU-MOSI): every speaker relation is 0. Length 5 with windows 2 / 2: each source
  // reaches min(j, 2) earlier and min(4 - j, 2) later targets: 3 + 4 + 5 + 4 + 3 = 19 edges.
  const GcnetEdges e = gcnet_edges(torch::tensor({5}, torch::kInt64), torch::zeros({1, 5}, torch::kInt64), 2, 2, 1);
  EXPECT_EQ(e.edge_index.size(1), 19);
  EXPECT_TRUE((e.speaker_relation == 0).all().item<bool>());
  // "now" exactly on the self edges, "past" exactly when the target is later.
  EXPECT_TRUE(((e.temporal_relation == 1) == (e.edge_index[0] == e.edge_index[1])).all().item<bool>());
  EXPECT_TRUE(((e.temporal_relation == 0) == (e.edge_index[1] > e.edge_index[0])).all().item<bool>());
}

TEST(GcnetEdges, UnboundedWindowsAndEmptyDialogue) {
  // -1 / -1: every ordered pair inside each dialogue (0 + 3^2 + 1 edges); the empty dialogue
  // shifts no node number.
  const auto lengths = torch::tensor({0, 3, 1}, torch::kInt64);
  const GcnetEdges all = gcnet_edges(lengths, torch::zeros({3, 3}, torch::kInt64), -1, -1, 1);
  EXPECT_EQ(all.edge_index.size(1), 10);
  EXPECT_EQ(all.edge_index.max().item<int64_t>(), 3);
  // Only future targets (window_past 0): j -> k >= j, so no "future" relation.
  const GcnetEdges fwd = gcnet_edges(lengths, torch::zeros({3, 3}, torch::kInt64), 0, -1, 1);
  EXPECT_EQ(fwd.edge_index.size(1), 6 + 1);
  EXPECT_TRUE((fwd.temporal_relation != 2).all().item<bool>());
  // Nothing at all.
  const GcnetEdges none = gcnet_edges(torch::tensor({0}, torch::kInt64), torch::zeros({1, 2}, torch::kInt64), 2, 2, 1);
  EXPECT_EQ(none.edge_index.sizes(), (std::vector<int64_t>{2, 0}));
}

TEST(GcnetEdges, RejectsBadSpeakersAndLengths) {
  const auto speaker = torch::tensor({0, 2}, torch::kInt64).view({1, 2});
  try {
    gcnet_edges(torch::tensor({2}, torch::kInt64), speaker, 1, 1, 2);
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dialogue 0 utterance 1 has speaker 2, expected [0, 2)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(gcnet_edges(torch::tensor({3}, torch::kInt64), speaker, 1, 1, 3), c10::Error);  // length > T
  EXPECT_THROW(gcnet_edges(torch::tensor({2, 1}, torch::kInt64), speaker, 1, 1, 3), c10::Error);  // B mismatch
  EXPECT_THROW(gcnet_edges(torch::tensor({2}, torch::kInt64), speaker, 1, 1, 0), c10::Error);
}

}  // namespace
}  // namespace merc::nn
