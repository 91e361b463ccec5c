#include "merc/nn/graph/dynamic_conversation_graph.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace merc::nn {
namespace dynamic_conversation_graph_test {

// Double inputs: the builder and the hand matrix differ only by rounding of a few exp/sum/divide
// operations (~1e-16 relative): 1e-12.
constexpr double kTolDouble = 1e-12;
// float32 output: a 5-term row sum and a divide, entries <= 1: a few float ulps, 1e-6.
constexpr double kTolFloat = 1e-6;

// Two dialogues, lengths 3 and 2 (T = 3). Nodes 0,1,2 = dialogue 0, nodes 3,4 = dialogue 1.
// speakers per node: 0 1 0 | 1 0 ; availability (a, v, t) per node: 111 101 001 | 111 011.
// The padding slot (dialogue 1, t = 2) holds speaker 5 and availability 0.7, which must not be read.
struct TinyBatch {
  torch::Tensor lengths = torch::tensor({3, 2}, torch::kInt64);
  torch::Tensor speakers = torch::tensor({0, 1, 0, 1, 0, 5}, torch::kInt64).view({2, 3});
  torch::Tensor availability = torch::tensor({1., 1., 1., 1., 0., 1., 0., 0., 1.,  //
                                              1., 1., 1., 0., 1., 1., .7, .7, .7},
                                             torch::kFloat64)
                                   .view({2, 3, 3});
};

torch::Tensor row_normalize(const torch::Tensor& A) { return A / (A.sum(1, true) + 1e-8); }

// Unnormalised A written out entry by entry from the definition. e(k) = exp(-0.1 k); same speaker
// 0.8 e(k); different speakers 0.5 e(k) * sim with sim = 1 - (#differing modalities) / 3:
// sim(0,1) = 2/3, sim(0,3) = 1, sim(0,4) = 2/3, sim(1,2) = 2/3, sim(1,4) = 1/3, sim(2,3) = 1/3,
// sim(3,4) = 2/3 (the other pairs have the same speaker).
torch::Tensor hand_matrix(bool per_dialogue) {
  auto e = [](double k) { return std::exp(-0.1 * k); };
  const double a = 2.0 / 3.0, b = 1.0 / 3.0;
  if (per_dialogue)
    return torch::tensor({1.0, 0.5 * e(1) * a, 0.8 * e(2), 0.0, 0.0,  //
                          0.5 * e(1) * a, 1.0, 0.5 * e(1) * a, 0.0, 0.0,  //
                          0.8 * e(2), 0.5 * e(1) * a, 1.0, 0.0, 0.0,  //
                          0.0, 0.0, 0.0, 1.0, 0.5 * e(1) * a,  //
                          0.0, 0.0, 0.0, 0.5 * e(1) * a, 1.0},
                         torch::kFloat64)
        .view({5, 5});
  return torch::tensor({1.0, 0.5 * e(1) * a, 0.8 * e(2), 0.5 * e(3) * 1.0, 0.8 * e(4),  //
                        0.5 * e(1) * a, 1.0, 0.5 * e(1) * a, 0.8 * e(2), 0.5 * e(3) * b,  //
                        0.8 * e(2), 0.5 * e(1) * a, 1.0, 0.5 * e(1) * b, 0.8 * e(2),  //
                        0.5 * e(3) * 1.0, 0.8 * e(2), 0.5 * e(1) * b, 1.0, 0.5 * e(1) * a,  //
                        0.8 * e(4), 0.5 * e(3) * b, 0.8 * e(2), 0.5 * e(1) * a, 1.0},
                       torch::kFloat64)
      .view({5, 5});
}

TEST(DynamicConversationGraph, PerDialogueMatchesTheHandComputedMatrix) {
  const TinyBatch in;
  const torch::Tensor A = dynamic_conversation_graph(in.lengths, in.speakers, in.availability);
  ASSERT_EQ(A.sizes(), (std::vector<int64_t>{5, 5}));
  EXPECT_EQ(A.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::allclose(A, row_normalize(hand_matrix(true)), 0, kTolDouble)) << A;
  // Dialogue 1 by hand (python): both rows are [1, c] / (1 + c + 1e-8), c = 0.5 e^-0.1 2/3 = e^-0.1 / 3.
  EXPECT_NEAR(A[3][3].item<double>(), 0.7682778194797658, kTolDouble);
  EXPECT_NEAR(A[4][3].item<double>(), 0.23172217283745608, kTolDouble);
  // No mass across dialogues: exactly zero.
  EXPECT_EQ(A.index({torch::indexing::Slice(0, 3), torch::indexing::Slice(3, 5)}).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(A.index({torch::indexing::Slice(3, 5), torch::indexing::Slice(0, 3)}).abs().sum().item<double>(), 0.0);
}

TEST(DynamicConversationGraph, WholeBatchQuirkMatchesTheHandComputedMatrix) {
  const TinyBatch in;
  DynamicConversationGraphOptions o;
  o.per_dialogue = false;
  const torch::Tensor A = dynamic_conversation_graph(in.lengths, in.speakers, in.availability, o);
  EXPECT_TRUE(torch::allclose(A, row_normalize(hand_matrix(false)), 0, kTolDouble)) << A;
  // Row 0 normalised by hand (python, with the draft's + 1e-8 in the row sum): the node-number distance runs across the dialogue boundary.
  const double row0[] = {0.34925197864014185, 0.10533875286556535, 0.2287546683888149, 0.12936611469287962,
                         0.18728848192007844};
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(A[0][j].item<double>(), row0[j], kTolDouble) << j;
}

TEST(DynamicConversationGraph, FloatAndBoolAvailabilityGiveTheSameFloatMatrix) {
  const TinyBatch in;
  const torch::Tensor avail_bool = in.availability == 1;  // the 0.7 padding becomes false (not read)
  for (const bool per_dialogue : {true, false}) {
    DynamicConversationGraphOptions o;
    o.per_dialogue = per_dialogue;
    const torch::Tensor expected = row_normalize(hand_matrix(per_dialogue));
    for (const torch::Tensor& avail : {avail_bool, in.availability.to(torch::kFloat32)}) {
      const torch::Tensor A = dynamic_conversation_graph(in.lengths, in.speakers, avail, o);
      EXPECT_EQ(A.scalar_type(), torch::kFloat32);
      EXPECT_TRUE(torch::allclose(A.to(torch::kFloat64), expected, 0, kTolFloat)) << per_dialogue << A;
      EXPECT_TRUE(torch::allclose(A.sum(1), torch::ones({5}), 0, kTolFloat));
    }
  }
}

TEST(DynamicConversationGraph, AvailabilitySimilarityFactor) {
  // One dialogue, two different speakers: Â[0][1] / Â[0][0] = A[0][1] = 0.5 e^-0.1 (1 - d / 3) with
  // d the number of modalities whose availability differs.
  const torch::Tensor lengths = torch::tensor({2}, torch::kInt64);
  const torch::Tensor speakers = torch::tensor({{3, 7}}, torch::kInt64);
  const double base = 0.5 * std::exp(-0.1);
  const float rows[4][6] = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 1}, {1, 0, 1, 0, 1, 1}, {1, 1, 0, 0, 0, 1}};
  for (int d = 0; d < 4; ++d) {
    const torch::Tensor avail = torch::from_blob(const_cast<float*>(rows[d]), {1, 2, 3}).to(torch::kFloat64);
    const torch::Tensor A = dynamic_conversation_graph(lengths, speakers, avail);
    EXPECT_NEAR((A[0][1] / A[0][0]).item<double>(), base * (1.0 - d / 3.0), kTolDouble) << d;
    EXPECT_NEAR((A[1][0] / A[1][1]).item<double>(), base * (1.0 - d / 3.0), kTolDouble) << d;
  }
  // Same speaker: availability does not matter.
  const torch::Tensor same = torch::tensor({{4, 4}}, torch::kInt64);
  const torch::Tensor avail = torch::tensor({1., 1., 0., 0., 0., 1.}, torch::kFloat64).view({1, 2, 3});
  const torch::Tensor A = dynamic_conversation_graph(lengths, same, avail);
  EXPECT_NEAR((A[0][1] / A[0][0]).item<double>(), 0.8 * std::exp(-0.1), kTolDouble);
  // Options are used: weights and decay.
  DynamicConversationGraphOptions o;
  o.same_weight = 0.3;
  o.decay = 0.5;
  const torch::Tensor B = dynamic_conversation_graph(lengths, same, avail, o);
  EXPECT_NEAR((B[0][1] / B[0][0]).item<double>(), 0.3 * std::exp(-0.5), kTolDouble);
}

TEST(DynamicConversationGraph, RowsSumToOneAndNoCrossDialogueMassOnARandomBatch) {
  torch::manual_seed(5);
  const torch::Tensor lengths = torch::tensor({4, 1, 6, 0, 3}, torch::kInt64);
  const torch::Tensor speakers = torch::randint(0, 3, {5, 6}, torch::kInt64);
  const torch::Tensor avail = torch::rand({5, 6, 3}) < 0.6;
  const torch::Tensor A = dynamic_conversation_graph(lengths, speakers, avail);
  ASSERT_EQ(A.sizes(), (std::vector<int64_t>{14, 14}));
  EXPECT_TRUE(torch::allclose(A.sum(1), torch::ones({14}), 0, kTolFloat));
  const int64_t start[] = {0, 4, 5, 11, 11}, len[] = {4, 1, 6, 0, 3};
  torch::Tensor inside = torch::zeros({14, 14}, torch::kBool);
  for (int b = 0; b < 5; ++b)
    inside.index_put_({torch::indexing::Slice(start[b], start[b] + len[b]),
                       torch::indexing::Slice(start[b], start[b] + len[b])},
                      true);
  EXPECT_EQ(A.masked_select(~inside).abs().sum().item<double>(), 0.0);
  EXPECT_TRUE((A.diagonal() > 0).all().item<bool>());
  // The single-utterance dialogue is an isolated self loop: Â = 1 there.
  EXPECT_NEAR(A[4][4].item<double>(), 1.0, kTolFloat);

  DynamicConversationGraphOptions o;
  o.per_dialogue = false;
  const torch::Tensor W = dynamic_conversation_graph(lengths, speakers, avail, o);
  EXPECT_TRUE(torch::allclose(W.sum(1), torch::ones({14}), 0, kTolFloat));
  EXPECT_GT(W.masked_select(~inside).abs().sum().item<double>(), 0.0);

  EXPECT_EQ(dynamic_conversation_graph(torch::zeros({2}, torch::kInt64), torch::zeros({2, 3}, torch::kInt64),
                                       torch::zeros({2, 3, 3}))
                .sizes(),
            (std::vector<int64_t>{0, 0}));
}

TEST(DynamicConversationGraph, BlocksAreTheDiagonalBlocksOfThePerDialogueGraph) {
  torch::manual_seed(11);
  const torch::Tensor lengths = torch::tensor({4, 1, 6, 0, 3}, torch::kInt64);
  const torch::Tensor speakers = torch::randint(0, 3, {5, 6}, torch::kInt64);
  // Padding availability 0.5 would be rejected if it were read.
  torch::Tensor avail = (torch::rand({5, 6, 3}) < 0.6).to(torch::kFloat64);
  const int64_t start[] = {0, 4, 5, 11, 11}, len[] = {4, 1, 6, 0, 3};
  for (int b = 0; b < 5; ++b) avail.index_put_({b, torch::indexing::Slice(len[b], 6)}, 0.5);
  for (const int64_t window : {0, 1, 2}) {
    DynamicConversationGraphOptions o;
    o.window = window;
    const torch::Tensor A = dynamic_conversation_graph(lengths, speakers, avail, o);
    const torch::Tensor blocks = dynamic_conversation_graph_blocks(lengths, speakers, avail, o);
    ASSERT_EQ(blocks.sizes(), (std::vector<int64_t>{5, 6, 6}));
    torch::Tensor expected = torch::zeros({5, 6, 6}, torch::kFloat64);
    for (int b = 0; b < 5; ++b)
      expected[b].index_put_({torch::indexing::Slice(0, len[b]), torch::indexing::Slice(0, len[b])},
                             A.index({torch::indexing::Slice(start[b], start[b] + len[b]),
                                      torch::indexing::Slice(start[b], start[b] + len[b])}));
    // Same formula evaluated on other index tensors: exact up to double rounding.
    EXPECT_TRUE(torch::allclose(blocks, expected, 0, kTolDouble)) << window;
  }
  DynamicConversationGraphOptions whole;
  whole.per_dialogue = false;
  EXPECT_THROW(dynamic_conversation_graph_blocks(lengths, speakers, avail, whole), c10::Error);
}

TEST(DynamicConversationGraph, WindowKeepsOnlyEdgesUpToThatDistance) {
  // Dialogue 0 of TinyBatch with window 1: the distance-2 edge 0-2 (same speaker) is cut, so rows 0
  // and 2 are [1, c] and [c, 1] over their two neighbours, c = 0.5 e^-0.1 2/3; row 1 is unchanged.
  const TinyBatch in;
  DynamicConversationGraphOptions o;
  o.window = 1;
  const torch::Tensor A = dynamic_conversation_graph(in.lengths, in.speakers, in.availability, o);
  torch::Tensor hand = hand_matrix(true);
  hand[0][2] = 0.0;
  hand[2][0] = 0.0;
  EXPECT_TRUE(torch::allclose(A, row_normalize(hand), 0, kTolDouble)) << A;
  EXPECT_EQ(A[0][2].item<double>(), 0.0);
  o.window = -1;
  EXPECT_THROW(dynamic_conversation_graph(in.lengths, in.speakers, in.availability, o), c10::Error);
}

TEST(DynamicConversationGraph, BadInputThrows) {
  const TinyBatch in;
  EXPECT_THROW(dynamic_conversation_graph(in.lengths.to(torch::kInt32), in.speakers, in.availability), c10::Error);
  EXPECT_THROW(dynamic_conversation_graph(in.lengths, in.speakers.view({-1}), in.availability), c10::Error);
  EXPECT_THROW(dynamic_conversation_graph(in.lengths, in.speakers.to(torch::kFloat32), in.availability), c10::Error);
  EXPECT_THROW(dynamic_conversation_graph(in.lengths, in.speakers, in.availability.view({2, 9})), c10::Error);
  EXPECT_THROW(dynamic_conversation_graph(in.lengths, in.speakers, in.availability.slice(1, 0, 2)), c10::Error);
  EXPECT_THROW(dynamic_conversation_graph(in.lengths, in.speakers, in.availability.to(torch::kInt64)), c10::Error);
  EXPECT_THROW(dynamic_conversation_graph(torch::tensor({3, 4}, torch::kInt64), in.speakers, in.availability),
               c10::Error);
  EXPECT_THROW(dynamic_conversation_graph(torch::tensor({3, -1}, torch::kInt64), in.speakers, in.availability),
               c10::Error);
  // A real utterance with availability 0.5.
  torch::Tensor avail = in.availability.clone();
  avail[0][1][2] = 0.5;
  EXPECT_THROW(dynamic_conversation_graph(in.lengths, in.speakers, avail), c10::Error);
  try {
    dynamic_conversation_graph(in.lengths, in.speakers, in.availability.view({2, 9}));
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("availability (B, T, M)"), std::string::npos) << e.what();
  }
}

}  // namespace dynamic_conversation_graph_test
}  // namespace merc::nn
