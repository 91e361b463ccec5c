#include "merc/nn/t5/block.h"

#include <ostream>

#include "merc/core/error.h"

namespace merc::nn::t5 {

AttentionLayerImpl::AttentionLayerImpl(const AttentionOptions& o, double eps, bool cross_)
    : options(o), layer_norm_epsilon(eps), cross(cross_) {
  reset();
}

void AttentionLayerImpl::reset() {
  AttentionOptions o = options;
  if (cross) o.has_relative_attention_bias = false;  // cross-attention never has the table
  attention = register_module(cross ? "EncDecAttention" : "SelfAttention", Attention(o));
  layer_norm = register_module("layer_norm", RmsNorm(options.d_model, layer_norm_epsilon));
  dropout = register_module("dropout", torch::nn::Dropout(options.dropout));
}

AttentionOutput AttentionLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& memory,
                                            const torch::Tensor& mask, const torch::Tensor& position_bias,
                                            const std::optional<KeyValueCache>& past) {
  AttentionOutput a = attention->forward(layer_norm(x), memory, mask, position_bias, past);
  a.output = x + dropout(a.output);
  return a;
}

BlockImpl::BlockImpl(const BlockOptions& o) : options(o) { reset(); }

void BlockImpl::reset() {
  AttentionOptions self = options.attention;
  self.bidirectional = !options.is_decoder;
  const double eps = options.feed_forward.layer_norm_epsilon;
  MERC_CHECK(options.attention.d_model == options.feed_forward.d_model,
             "t5 Block: attention d_model {} != feed-forward d_model {}", options.attention.d_model,
             options.feed_forward.d_model);
  layer = register_module("layer", torch::nn::ModuleList());
  self_attention = AttentionLayer(self, eps, /*cross=*/false);
  layer->push_back(self_attention);
  if (options.is_decoder) {
    cross_attention = AttentionLayer(options.attention, eps, /*cross=*/true);
    layer->push_back(cross_attention);
  }
  feed_forward = FeedForward(options.feed_forward);
  layer->push_back(feed_forward);
  MERC_CHECK(!options.extra_cross_attention || options.is_decoder,
             "t5 Block: the extra cross-attention is for decoder blocks only");
  if (options.extra_cross_attention) {
    extra_cross_attention = AttentionLayer(options.attention, eps, /*cross=*/true);
    layer->push_back(extra_cross_attention);  // after the feed-forward: layer.3, as the release registers it
  }
}

void BlockImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::t5::Block(" << (options.is_decoder ? "decoder" : "encoder")
         << (options.extra_cross_attention ? ", extra cross-attention" : "") << ")";
}

BlockOutput BlockImpl::forward(const BlockInput& in) {
  MERC_CHECK(!options.is_decoder || in.memory.defined(), "t5 Block: a decoder block needs the encoder states");
  BlockOutput out;
  AttentionOutput s = self_attention->forward(in.x, {}, in.self_mask, in.self_bias, in.past);
  out.self_bias = s.position_bias;
  out.cache = s.cache;
  torch::Tensor x = s.output;
  // Cross-attentions reuse the memory's keys/values a cached step brings along.
  auto memory_past = [&](const torch::Tensor& key, const torch::Tensor& value) -> std::optional<KeyValueCache> {
    if (!in.past || !key.defined()) return std::nullopt;
    return KeyValueCache{key, value, {}, {}, {}, {}};
  };
  if (options.is_decoder) {
    AttentionOutput c = cross_attention->forward(x, in.memory, in.cross_mask, in.cross_bias,
                                                 memory_past(in.past ? in.past->cross_key : torch::Tensor(),
                                                             in.past ? in.past->cross_value : torch::Tensor()));
    out.cross_bias = c.position_bias;
    out.cache.cross_key = c.cache.key;
    out.cache.cross_value = c.cache.value;
    x = c.output;
  }
  if (extra_cross_attention && in.extra_memory.defined()) {
    // No position bias: undefined -> zeros + the extra mask inside Attention.
    AttentionOutput e = extra_cross_attention->forward(
        x, in.extra_memory, in.extra_mask, {},
        memory_past(in.past ? in.past->extra_key : torch::Tensor(), in.past ? in.past->extra_value : torch::Tensor()));
    out.cache.extra_key = e.cache.key;
    out.cache.extra_value = e.cache.value;
    x = e.output;
  }
  out.x = feed_forward->forward(x);
  return out;
}

}  // namespace merc::nn::t5
