// T5 stack: the additive masks, Hugging Face's names with the bias table in block 0 only, padding
// that leaves the real positions unchanged, and the decoder's cached steps equal to its full pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "merc/core/error.h"
#include "merc/nn/t5/stack.h"

namespace merc::nn::t5 {
namespace stack_test_detail {

StackOptions small_stack(bool decoder) {
  StackOptions o;
  o.block.attention = AttentionOptions{/*d_model=*/6, /*d_kv=*/3, /*num_heads=*/2, /*dropout=*/0.0};
  o.block.feed_forward = FeedForwardOptions{/*d_model=*/6, /*d_ff=*/10, "gated-gelu", /*dropout=*/0.0};
  o.block.is_decoder = decoder;
  o.num_layers = 2;
  return o;
}

// Two blocks of double products regrouped (padding rows, 1-row steps): 1e-12.
constexpr double kStackTol = 1e-12;

}  // namespace stack_test_detail

namespace {

using namespace stack_test_detail;

TEST(T5Stack, AdditiveMasks) {
  const double low = std::numeric_limits<double>::lowest();
  const torch::Tensor pad = additive_padding_mask(torch::tensor({{1, 1, 0}}), torch::kDouble);
  EXPECT_TRUE(torch::equal(pad, torch::tensor({0.0, 0.0, low}, torch::kDouble).view({1, 1, 1, 3})));
  const torch::Tensor causal = additive_causal_mask(3, torch::tensor({{1, 1, 0}}), torch::kDouble, torch::kCPU);
  // Row t allows keys <= t that are tokens: key 2 is padding, so never allowed.
  const torch::Tensor want = torch::tensor({{0.0, low, low}, {0.0, 0.0, low}, {0.0, 0.0, low}}, torch::kDouble);
  EXPECT_TRUE(torch::equal(causal[0][0], want)) << causal;
}

TEST(T5Stack, BiasTableOnlyInBlockZero) {
  Stack stack(small_stack(false));
  const auto names = stack->named_parameters().keys();
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  EXPECT_TRUE(has("block.0.layer.0.SelfAttention.relative_attention_bias.embedding.weight"));
  EXPECT_FALSE(has("block.1.layer.0.SelfAttention.relative_attention_bias.embedding.weight"));
  EXPECT_TRUE(has("block.1.layer.1.DenseReluDense.wi_1.weight"));
  EXPECT_TRUE(has("final_layer_norm.weight"));
}

TEST(T5Stack, PaddingLeavesRealPositionsUnchanged) {
  torch::manual_seed(21);
  Stack stack(small_stack(false));
  stack->to(torch::kDouble);
  const torch::Tensor x = torch::randn({1, 3, 6}, torch::kDouble);
  const torch::Tensor padded = torch::cat({x, torch::randn({1, 2, 6}, torch::kDouble)}, 1);
  const torch::Tensor plain = stack->forward(StackInput{x}).states;
  StackInput in{padded};
  in.padding_mask = torch::tensor({{1, 1, 1, 0, 0}});
  const torch::Tensor masked = stack->forward(in).states.narrow(1, 0, 3);
  // The masked keys get weight exp(lowest) = 0 exactly; the rest differs only by summation order.
  EXPECT_TRUE(torch::allclose(masked, plain, 0.0, kStackTol));
  // Without the mask the padding would change them: the test can tell.
  EXPECT_FALSE(torch::allclose(stack->forward(StackInput{padded}).states.narrow(1, 0, 3), plain, 0.0, 1e-6));
}

TEST(T5Stack, DecoderCachedStepsEqualTheFullPass) {
  torch::manual_seed(22);
  Stack stack(small_stack(true));
  stack->to(torch::kDouble);
  const torch::Tensor x = torch::randn({1, 4, 6}, torch::kDouble);
  StackInput full_in{x};
  full_in.memory = torch::randn({1, 5, 6}, torch::kDouble);
  full_in.memory_mask = torch::tensor({{1, 1, 1, 1, 0}});
  const torch::Tensor full = stack->forward(full_in).states;
  std::vector<KeyValueCache> cache;
  for (int64_t t = 0; t < 4; ++t) {
    StackInput step{x.narrow(1, t, 1)};
    step.memory = full_in.memory;
    step.memory_mask = full_in.memory_mask;
    step.past = cache;
    const StackOutput out = stack->forward(step);
    cache = out.cache;
    EXPECT_TRUE(torch::allclose(out.states.squeeze(1), full.select(1, t), 0.0, kStackTol)) << "step " << t;
  }
  EXPECT_THROW(stack->forward(StackInput{torch::zeros({1, 2, 5}, torch::kDouble)}), Error);
}

TEST(T5Stack, ExtraCrossAttentionInTheUpperBlocks) {
  // The release: blocks i >= num_layers / 2 (true division), i.e. from ceil(num_layers / 2).
  EXPECT_EQ(extra_cross_attention_start(12), 6);
  EXPECT_EQ(extra_cross_attention_start(3), 2);
  EXPECT_EQ(extra_cross_attention_start(1), 1);
  torch::manual_seed(23);
  StackOptions o = small_stack(true);
  o.extra_cross_attention_from = extra_cross_attention_start(o.num_layers);
  Stack stack(o);
  stack->to(torch::kDouble);
  const auto names = stack->named_parameters().keys();
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  EXPECT_FALSE(has("block.0.layer.3.EncDecAttention.q.weight"));
  EXPECT_TRUE(has("block.1.layer.3.EncDecAttention.q.weight"));
  // Padded extra memory with its (N, L_x) mask = the unpadded memory.
  StackInput in;
  in.embeddings = torch::randn({1, 3, 6}, torch::kDouble);
  in.memory = torch::randn({1, 4, 6}, torch::kDouble);
  in.extra_memory = torch::randn({1, 2, 6}, torch::kDouble);
  const torch::Tensor plain = stack->forward(in).states;
  StackInput padded = in;
  padded.extra_memory = torch::cat({in.extra_memory, torch::randn({1, 3, 6}, torch::kDouble)}, 1);
  padded.extra_mask = torch::tensor({{1, 1, 0, 0, 0}});
  EXPECT_TRUE(torch::allclose(stack->forward(padded).states, plain, 0.0, kStackTol));
  // The extra memory matters (the test can tell), and a stack without the layers refuses it.
  StackInput none = in;
  none.extra_memory = torch::Tensor();
  EXPECT_FALSE(torch::allclose(stack->forward(none).states, plain, 0.0, 1e-6));
  Stack plain_stack(small_stack(true));
  plain_stack->to(torch::kDouble);
  EXPECT_THROW(plain_stack->forward(in), Error);
}

}  // namespace
}  // namespace merc::nn::t5
