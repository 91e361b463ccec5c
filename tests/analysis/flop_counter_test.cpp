// count_flops: analytic counts of hand-computable operators, each nest counted once (aten::linear
// and not the addmm/matmul it calls), elementwise ops apart, and the callback gone afterwards.
// Counts are integers computed from shapes: every comparison is exact.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/analysis/flop_counter.h"
#include "merc/core/error.h"

namespace merc::analysis {
namespace {

int64_t calls_of(const FlopCount& c, const std::string& op) {
  const auto it = c.per_op.find(op);
  return it == c.per_op.end() ? 0 : it->second.calls;
}

TEST(FlopCounter, LinearCountsBatchTimesInTimesOutMacsOnce) {
  const torch::Tensor x = torch::randn({4, 5}), w = torch::randn({3, 5}), b = torch::randn({3});
  const FlopCount c = count_flops([&] { torch::linear(x, w, b); });
  EXPECT_EQ(c.macs, 4 * 5 * 3);
  EXPECT_EQ(c.matmul_flops(), 2 * 4 * 5 * 3);  // torch's profiler convention: a multiply-add is 2
  EXPECT_EQ(calls_of(c, "aten::linear"), 1);
  // aten::linear runs aten::addmm inside: nested, so not counted a second time.
  EXPECT_EQ(calls_of(c, "aten::addmm"), 0);
  EXPECT_EQ(c.elementwise_flops, 0);  // the bias add inside addmm is not counted (as fvcore)
}

TEST(FlopCounter, LinearModuleCountsTheSameMacs) {
  torch::NoGradGuard no_grad;
  // LibTorch's C++ nn::Linear calls addmm itself (2-D input), not aten::linear: still one count.
  torch::nn::Linear linear(5, 3);
  const FlopCount c = count_flops([&] { linear->forward(torch::randn({4, 5})); });
  EXPECT_EQ(c.macs, 4 * 5 * 3);
  int64_t counted_calls = 0;
  for (const auto& [name, op] : c.per_op) counted_calls += op.macs > 0 ? op.calls : 0;
  EXPECT_EQ(counted_calls, 1);
}

TEST(FlopCounter, LinearOnASequenceCountsEveryRow) {
  torch::NoGradGuard no_grad;
  torch::nn::Linear linear(5, 3);
  // (2, 7, 5): the C++ module runs matmul (-> mm inside, not counted again), then adds the bias in
  // place, which counts as 2 * 7 * 3 elementwise FLOPs.
  const FlopCount c = count_flops([&] { linear->forward(torch::randn({2, 7, 5})); });
  EXPECT_EQ(c.macs, 2 * 7 * 5 * 3);
  EXPECT_EQ(calls_of(c, "aten::matmul"), 1);
  EXPECT_EQ(calls_of(c, "aten::mm"), 0);
  EXPECT_EQ(c.elementwise_flops, 2 * 7 * 3);
}

TEST(FlopCounter, BmmAndBroadcastMatmul) {
  const torch::Tensor a = torch::randn({2, 3, 4}), b = torch::randn({2, 4, 5});
  EXPECT_EQ(count_flops([&] { torch::bmm(a, b); }).macs, 2 * 3 * 4 * 5);
  // matmul broadcasts (3, 4) against the batch of b: 2 products of 3x4 by 4x5.
  const FlopCount c = count_flops([&] { torch::matmul(torch::randn({3, 4}), b); });
  EXPECT_EQ(c.macs, 2 * 3 * 4 * 5);
  EXPECT_EQ(calls_of(c, "aten::matmul"), 1);
  EXPECT_EQ(calls_of(c, "aten::bmm") + calls_of(c, "aten::mm"), 0);
}

TEST(FlopCounter, Conv1dCountsOutputElementsTimesWeightRow) {
  torch::NoGradGuard no_grad;
  // (N=2, C_in=4, L=10), C_out=6, k=3, no padding: output (2, 6, 8); each output element is a dot
  // product of C_in * k = 12 weights.
  torch::nn::Conv1d conv(torch::nn::Conv1dOptions(4, 6, 3));
  const torch::Tensor x = torch::randn({2, 4, 10});
  const FlopCount c = count_flops([&] { conv->forward(x); });
  EXPECT_EQ(c.macs, 2 * 6 * 8 * 4 * 3);
  // groups = 2: each output element sees C_in / 2 channels.
  torch::nn::Conv1d grouped(torch::nn::Conv1dOptions(4, 6, 3).groups(2).padding(1));
  EXPECT_EQ(count_flops([&] { grouped->forward(x); }).macs, 2 * 6 * 10 * 2 * 3);
}

TEST(FlopCounter, ElementwiseOpsCountOnePerOutputElementApartFromMacs) {
  const torch::Tensor x = torch::randn({3, 4});
  const FlopCount c = count_flops([&] {
    torch::relu(x);
    torch::softmax(x, -1);  // softmax -> _softmax inside: once
  });
  EXPECT_EQ(c.macs, 0);
  EXPECT_EQ(c.elementwise_flops, 12 + 12);
  EXPECT_EQ(calls_of(c, "aten::_softmax"), 0);
  EXPECT_EQ(c.total_flops(), 24);
}

TEST(FlopCounter, UncountedOperatorsAreListedAndTheCallbackIsRemoved) {
  const torch::Tensor x = torch::randn({3, 4});
  const FlopCount c = count_flops([&] { x.transpose(0, 1).contiguous(); });
  EXPECT_EQ(c.macs + c.elementwise_flops, 0);
  EXPECT_GE(c.uncounted.count("aten::transpose"), 1u);
  // Nothing counted outside: a second count of nothing is empty, and it may run again.
  torch::mm(x, x.t());
  const FlopCount empty = count_flops([] {});
  EXPECT_EQ(empty.macs, 0);
  EXPECT_TRUE(empty.per_op.empty());
}

TEST(FlopCounter, RefusesANestedCountAndRecoversFromIt) {
  EXPECT_THROW(count_flops([] { count_flops([] {}); }), merc::Error);
  const torch::Tensor a = torch::randn({2, 3});
  EXPECT_EQ(count_flops([&] { torch::mm(a, a.t()); }).macs, 2 * 3 * 2);
}

}  // namespace
}  // namespace merc::analysis
