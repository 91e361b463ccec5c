#include "merc/nn/t5/stack.h"

#include <limits>
#include <ostream>

#include "merc/core/error.h"

namespace merc::nn::t5 {

namespace stack_detail {
// The reference's torch.finfo(dtype).min: what a masked position adds to its logits.
double lowest_value(torch::ScalarType dtype) {
  return dtype == torch::kDouble ? std::numeric_limits<double>::lowest()
                                 : static_cast<double>(std::numeric_limits<float>::lowest());
}
}  // namespace stack_detail

torch::Tensor additive_padding_mask(const torch::Tensor& padding_mask, torch::ScalarType dtype) {
  MERC_CHECK(padding_mask.dim() == 2, "t5 padding mask must be (N, L), got {}", padding_mask.sizes());
  const torch::Tensor additive = (1.0 - padding_mask.to(dtype)) * stack_detail::lowest_value(dtype);
  return additive.view({padding_mask.size(0), 1, 1, padding_mask.size(1)});
}

torch::Tensor additive_causal_mask(int64_t length, const torch::Tensor& padding_mask, torch::ScalarType dtype,
                                   const torch::Device& device) {
  const auto opts = torch::TensorOptions().dtype(dtype).device(device);
  const torch::Tensor allowed = torch::tril(torch::ones({length, length}, opts)).view({1, 1, length, length});
  const torch::Tensor keep = padding_mask.defined()
                                 ? allowed * padding_mask.to(dtype).view({padding_mask.size(0), 1, 1, length})
                                 : allowed;
  return (1.0 - keep) * stack_detail::lowest_value(dtype);
}

int64_t extra_cross_attention_start(int64_t num_layers) { return (num_layers + 1) / 2; }

StackImpl::StackImpl(const StackOptions& o) : options(o) { reset(); }

void StackImpl::reset() {
  MERC_CHECK(options.num_layers >= 1, "t5 Stack: num_layers must be >= 1, got {}", options.num_layers);
  const int64_t extra = options.extra_cross_attention_from;
  MERC_CHECK(extra < 0 || options.block.is_decoder, "t5 Stack: extra cross-attention needs a decoder stack");
  block = register_module("block", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.num_layers; ++i) {
    BlockOptions b = options.block;
    b.attention.has_relative_attention_bias = i == 0;  // computed once, reused by every block
    b.extra_cross_attention = extra >= 0 && i >= extra;
    block->push_back(Block(b));
  }
  final_layer_norm = register_module(
      "final_layer_norm", RmsNorm(options.block.attention.d_model, options.block.feed_forward.layer_norm_epsilon));
  dropout = register_module("dropout", torch::nn::Dropout(options.block.attention.dropout));
}

void StackImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::t5::Stack(" << (options.block.is_decoder ? "decoder" : "encoder") << ", " << options.num_layers
         << " blocks)";
}

StackOutput StackImpl::forward(const StackInput& in) {
  const torch::Tensor& e = in.embeddings;
  MERC_CHECK(e.dim() == 3 && e.size(2) == options.block.attention.d_model,
             "t5 Stack: embeddings must be (N, L, {}), got {}", options.block.attention.d_model, e.sizes());
  const bool decoder = options.block.is_decoder;
  MERC_CHECK(in.past.empty() || static_cast<int64_t>(in.past.size()) == options.num_layers,
             "t5 Stack: {} caches for {} blocks", in.past.size(), options.num_layers);
  MERC_CHECK(!in.extra_memory.defined() || (decoder && options.extra_cross_attention_from >= 0),
             "t5 Stack: extra memory given but no block has the extra cross-attention");
  MERC_CHECK(!in.extra_memory.defined() ||
                 (in.extra_memory.dim() == 3 && in.extra_memory.size(0) == e.size(0) && in.extra_memory.size(2) == e.size(2)),
             "t5 Stack: extra memory must be (N={}, L_x, {}), got {}", e.size(0), e.size(2), in.extra_memory.sizes());
  BlockInput b;
  b.x = dropout(e);
  if (decoder) {
    // A cached step attends to every earlier position: no causal mask needed for its one query.
    if (in.past.empty()) b.self_mask = additive_causal_mask(e.size(1), in.padding_mask, e.scalar_type(), e.device());
    b.memory = in.memory;
    if (in.memory_mask.defined()) b.cross_mask = additive_padding_mask(in.memory_mask, e.scalar_type());
    b.extra_memory = in.extra_memory;
    if (in.extra_mask.defined()) b.extra_mask = additive_padding_mask(in.extra_mask, e.scalar_type());
  } else if (in.padding_mask.defined()) {
    b.self_mask = additive_padding_mask(in.padding_mask, e.scalar_type());
  }
  StackOutput out;
  for (size_t i = 0; i < block->size(); ++i) {
    if (!in.past.empty()) b.past = in.past[i];
    const BlockOutput o = block->at<BlockImpl>(i).forward(b);
    b.x = o.x;
    b.self_bias = o.self_bias;  // block 0's bias (mask folded in) for the rest
    b.cross_bias = o.cross_bias;
    if (decoder) out.cache.push_back(o.cache);
  }
  out.states = dropout(final_layer_norm(b.x));
  return out;
}

}  // namespace merc::nn::t5
