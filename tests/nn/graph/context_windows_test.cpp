#include "merc/nn/graph/context_windows.h"

#include <gtest/gtest.h>

#include "merc/core/error.h"

namespace merc::nn {
namespace {

std::vector<int64_t> flat(const torch::Tensor& t) {
  const auto c = t.to(torch::kInt64).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(ContextWindows, HandListedWindowsWithShortStarts) {
  // Dialogues of 3 and 1 utterances (nodes 0-2 and 3), W = 2: S = 3 slots, oldest first.
  const ContextWindows w = context_windows(torch::tensor({3, 1}, torch::kInt64), 2);
  ASSERT_EQ(w.num_windows(), 4);
  ASSERT_EQ(w.slots(), 3);
  EXPECT_EQ(flat(w.size), (std::vector<int64_t>{1, 2, 3, 1}));
  EXPECT_EQ(flat(w.node), (std::vector<int64_t>{0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 0, 0}));
  EXPECT_EQ(flat(w.mask), (std::vector<int64_t>{1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0}));
  // W = 1: the third utterance's window drops the first.
  const ContextWindows w1 = context_windows(torch::tensor({3}, torch::kInt64), 1);
  EXPECT_EQ(flat(w1.node), (std::vector<int64_t>{0, 0, 0, 1, 1, 2}));
  EXPECT_EQ(flat(w1.size), (std::vector<int64_t>{1, 2, 2}));
  // W = 0: every window is its own utterance.
  EXPECT_EQ(flat(context_windows(torch::tensor({2}, torch::kInt64), 0).node), (std::vector<int64_t>{0, 1}));
  EXPECT_THROW(context_windows(torch::tensor({2}, torch::kInt64), -1), Error);
}

TEST(ContextWindows, GatherZerosEmptySlotsAndCurrentSlotIsTheTarget) {
  const ContextWindows w = context_windows(torch::tensor({3, 1}, torch::kInt64), 2);
  const torch::Tensor nodes = torch::arange(1, 5, torch::kFloat32).unsqueeze(1) * torch::ones({1, 2});  // rows 1..4
  const torch::Tensor slots = gather_windows(nodes, w);
  ASSERT_EQ(slots.sizes(), (std::vector<int64_t>{4, 3, 2}));
  EXPECT_TRUE(torch::equal(slots.select(2, 0),
                           torch::tensor({1, 0, 0, 1, 2, 0, 1, 2, 3, 4, 0, 0}, torch::kFloat32).view({4, 3})));
  // Each window's current node is its own target: node w.
  EXPECT_TRUE(torch::equal(current_slot(slots, w), nodes));
}

}  // namespace
}  // namespace merc::nn
