// T5 block: Hugging Face's layer layout and names, the encoder block as the composition of its
// pre-norm residual sublayers, the decoder block's cached step-by-step pass equal to its full
// causal pass, and the decoder's need for encoder states.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "merc/core/error.h"
#include "merc/nn/t5/block.h"

namespace merc::nn::t5 {
namespace block_test_detail {

BlockOptions small_block(bool decoder, bool first) {
  BlockOptions o;
  o.attention = AttentionOptions{/*d_model=*/6, /*d_kv=*/3, /*num_heads=*/2, /*dropout=*/0.0, first};
  o.feed_forward = FeedForwardOptions{/*d_model=*/6, /*d_ff=*/10, "relu", /*dropout=*/0.0};
  o.is_decoder = decoder;
  return o;
}

bool has_name(const torch::nn::Module& m, const std::string& name) {
  const auto names = m.named_parameters().keys();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Several dozen double products per element in another grouping: 1e-12.
constexpr double kBlockTol = 1e-12;

}  // namespace block_test_detail

namespace {

using namespace block_test_detail;

TEST(T5Block, HuggingFaceLayout) {
  Block encoder(small_block(/*decoder=*/false, /*first=*/true));
  Block decoder(small_block(/*decoder=*/true, /*first=*/true));
  for (const char* n : {"layer.0.SelfAttention.q.weight", "layer.0.SelfAttention.o.weight", "layer.0.layer_norm.weight",
                        "layer.0.SelfAttention.relative_attention_bias.embedding.weight",
                        "layer.1.DenseReluDense.wi.weight", "layer.1.layer_norm.weight"})
    EXPECT_TRUE(has_name(*encoder, n)) << n;
  for (const char* n :
       {"layer.1.EncDecAttention.k.weight", "layer.1.layer_norm.weight", "layer.2.DenseReluDense.wo.weight"})
    EXPECT_TRUE(has_name(*decoder, n)) << n;
  EXPECT_FALSE(has_name(*decoder, "layer.1.EncDecAttention.relative_attention_bias.embedding.weight"));
  Block later(small_block(false, /*first=*/false));
  EXPECT_FALSE(has_name(*later, "layer.0.SelfAttention.relative_attention_bias.embedding.weight"));
}

TEST(T5Block, EncoderBlockIsItsSublayersInOrder) {
  torch::manual_seed(11);
  Block block(small_block(false, true));
  block->to(torch::kDouble);
  const torch::Tensor x = torch::randn({2, 4, 6}, torch::kDouble);
  const BlockOutput out = block->forward(BlockInput{x});
  // By hand from the parts: x1 = x + SA(norm0(x)), y = x1 + wo(relu(wi(norm1(x1)))).
  AttentionLayer sa = block->self_attention;
  const torch::Tensor x1 = x + sa->attention->forward(sa->layer_norm->forward(x)).output;
  FeedForward ff = block->feed_forward;
  const torch::Tensor y = x1 + ff->dense->wo(torch::relu(ff->dense->wi(ff->layer_norm->forward(x1))));
  EXPECT_TRUE(torch::allclose(out.x, y, 0.0, kBlockTol));
  EXPECT_EQ(out.self_bias.sizes(), (std::vector<int64_t>{1, 2, 4, 4}));  // handed to the next block
}

TEST(T5Block, DecoderCachedStepsEqualTheFullCausalPass) {
  torch::manual_seed(12);
  Block block(small_block(true, true));
  block->to(torch::kDouble);
  const torch::Tensor x = torch::randn({1, 4, 6}, torch::kDouble);
  const torch::Tensor memory = torch::randn({1, 3, 6}, torch::kDouble);
  const torch::Tensor causal = torch::triu(torch::full({4, 4}, -1e9, torch::kDouble), 1).view({1, 1, 4, 4});
  BlockInput full_in{x, causal};
  full_in.memory = memory;
  const torch::Tensor full = block->forward(full_in).x;
  std::optional<KeyValueCache> cache;
  for (int64_t t = 0; t < 4; ++t) {
    BlockInput step_in{x.narrow(1, t, 1)};
    step_in.memory = memory;
    step_in.past = cache;
    const BlockOutput step = block->forward(step_in);
    cache = step.cache;
    EXPECT_TRUE(torch::allclose(step.x.squeeze(1), full.select(1, t), 0.0, kBlockTol)) << "step " << t;
  }
  EXPECT_THROW(block->forward(BlockInput{x}), Error);  // no encoder states
}

TEST(T5Block, ExtraCrossAttentionIsLayer3AndRunsBeforeTheFeedForward) {
  torch::manual_seed(13);
  BlockOptions o = small_block(/*decoder=*/true, /*first=*/false);
  o.extra_cross_attention = true;
  Block block(o);
  block->to(torch::kDouble);
  for (const char* n : {"layer.3.EncDecAttention.q.weight", "layer.3.layer_norm.weight", "layer.2.DenseReluDense.wi.weight"})
    EXPECT_TRUE(has_name(*block, n)) << n;
  const torch::Tensor x = torch::randn({2, 3, 6}, torch::kDouble);
  BlockInput in;
  in.x = x;
  in.memory = torch::randn({2, 4, 6}, torch::kDouble);
  in.extra_memory = torch::randn({2, 5, 6}, torch::kDouble);
  in.extra_mask = torch::zeros({2, 1, 1, 5}, torch::kDouble);
  in.extra_mask.index_put_({1, 0, 0, 4}, -1e300);  // the last node of row 1 is padding
  // By hand, in the release's order: self, cross, extra cross, then the feed-forward.
  auto sub = [](AttentionLayer& l, const torch::Tensor& h, const torch::Tensor& kv, const torch::Tensor& mask) {
    return h + l->attention->forward(l->layer_norm->forward(h), kv, mask).output;
  };
  const torch::Tensor x1 = sub(block->self_attention, x, {}, {});
  const torch::Tensor x2 = sub(block->cross_attention, x1, in.memory, {});
  const torch::Tensor x3 = sub(block->extra_cross_attention, x2, in.extra_memory, in.extra_mask);
  EXPECT_TRUE(torch::allclose(block->forward(in).x, block->feed_forward->forward(x3), 0.0, kBlockTol));
  // Without extra memory the block skips it (as the release does): plain T5.
  BlockInput plain = in;
  plain.extra_memory = torch::Tensor();
  EXPECT_TRUE(torch::allclose(block->forward(plain).x, block->feed_forward->forward(x2), 0.0, kBlockTol));
  // The padded node is not attended to: changing it changes nothing for row 1.
  BlockInput changed = in;
  changed.extra_memory = in.extra_memory.clone();
  changed.extra_memory[1][4].fill_(7.0);
  EXPECT_TRUE(torch::allclose(block->forward(changed).x[1], block->forward(in).x[1], 0.0, kBlockTol));
  o.is_decoder = false;
  EXPECT_THROW(Block{o}, Error);  // an encoder block has no cross-attention to extend
}

TEST(T5Block, ExtraCrossAttentionCachedStepsEqualTheFullPass) {
  torch::manual_seed(14);
  BlockOptions o = small_block(true, true);
  o.extra_cross_attention = true;
  Block block(o);
  block->to(torch::kDouble);
  const torch::Tensor x = torch::randn({1, 4, 6}, torch::kDouble);
  const torch::Tensor causal = torch::triu(torch::full({4, 4}, -1e9, torch::kDouble), 1).view({1, 1, 4, 4});
  BlockInput full_in;
  full_in.x = x;
  full_in.self_mask = causal;
  full_in.memory = torch::randn({1, 3, 6}, torch::kDouble);
  full_in.extra_memory = torch::randn({1, 2, 6}, torch::kDouble);
  const torch::Tensor full = block->forward(full_in).x;
  std::optional<KeyValueCache> cache;
  for (int64_t t = 0; t < 4; ++t) {
    BlockInput step_in;
    step_in.x = x.narrow(1, t, 1);
    step_in.memory = full_in.memory;
    step_in.extra_memory = full_in.extra_memory;
    step_in.past = cache;
    const BlockOutput step = block->forward(step_in);
    cache = step.cache;
    EXPECT_TRUE(torch::allclose(step.x.squeeze(1), full.select(1, t), 0.0, kBlockTol)) << "step " << t;
  }
}

}  // namespace
}  // namespace merc::nn::t5
