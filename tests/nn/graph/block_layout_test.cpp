#include "merc/nn/graph/block_layout.h"

#include <gtest/gtest.h>

#include "merc/nn/graph/node_batch.h"

namespace merc::nn {
namespace {

TEST(BlockLayout, NodeNumberingMatchesTheFormula) {
  // lengths 2, 0, 3 with K = 2: dialogue 0 -> nodes 0..3 (block 0: 0, 1; block 1: 2, 3);
  // dialogue 1 is empty; dialogue 2 -> offset 2, nodes 4..9 (block 0: 4, 5, 6; block 1: 7, 8, 9).
  const BlockLayout l = make_block_layout(torch::tensor({2, 0, 3}, torch::kInt64), 2);
  EXPECT_EQ(l.num_utterances, 5);
  EXPECT_EQ(l.num_nodes(), 10);
  EXPECT_EQ(l.node(0, 1, 1), 3);
  EXPECT_EQ(l.node(2, 0, 0), 4);
  EXPECT_EQ(l.node(2, 1, 2), 9);
  const auto idx = block_node_index(l, 1);
  EXPECT_TRUE(torch::equal(idx, torch::tensor({2, 3, 7, 8, 9}, torch::kInt64)));
}

TEST(BlockLayout, PaddedBlocksRoundTripThroughNodes) {
  // Two blocks of padded (B=2, T=3, D=1) features: block k, dialogue b, step t holds 100k+10b+t.
  const auto lengths = torch::tensor({3, 1}, torch::kInt64);
  std::vector<torch::Tensor> padded;
  for (int k = 0; k < 2; ++k) {
    auto p = torch::zeros({2, 3, 1});
    for (int b = 0; b < 2; ++b)
      for (int t = 0; t < 3; ++t) p[b][t][0] = 100 * k + 10 * b + t;
    padded.push_back(p);
  }
  const BlockLayout l = make_block_layout(lengths, 2);
  const auto pos = node_positions(lengths, 3);
  const auto nodes = padded_blocks_to_nodes(padded, pos, l);
  // Layout: d0 block0 (0,1,2), d0 block1 (100,101,102), d1 block0 (10), d1 block1 (110).
  EXPECT_TRUE(torch::equal(nodes.view({-1}), torch::tensor({0.f, 1.f, 2.f, 100.f, 101.f, 102.f, 10.f, 110.f})));
  const auto back = to_padded(block_rows(nodes, l, 1), pos, 2, 3);
  EXPECT_TRUE(torch::equal(back.view({-1}), torch::tensor({100.f, 101.f, 102.f, 110.f, 0.f, 0.f})));
}

TEST(BlockLayout, BadInputIsAnError) {
  EXPECT_THROW(make_block_layout(torch::tensor({2, -1}, torch::kInt64), 2), c10::Error);
  EXPECT_THROW(make_block_layout(torch::tensor({2}, torch::kInt64), 0), c10::Error);
  const BlockLayout l = make_block_layout(torch::tensor({2}, torch::kInt64), 2);
  EXPECT_THROW(block_rows(torch::zeros({3, 1}), l, 0), c10::Error);
  EXPECT_THROW(block_node_index(l, 2), c10::Error);
  EXPECT_THROW(interleave_blocks({torch::zeros({2, 1})}, l), c10::Error);
}

}  // namespace
}  // namespace merc::nn
