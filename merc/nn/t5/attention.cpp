#include "merc/nn/t5/attention.h"

#include <ostream>

#include "merc/core/error.h"

namespace merc::nn::t5 {

AttentionImpl::AttentionImpl(const AttentionOptions& o) : options(o) { reset(); }

void AttentionImpl::reset() {
  const AttentionOptions& opt = options;
  MERC_CHECK(opt.d_model >= 1 && opt.d_kv >= 1 && opt.num_heads >= 1,
             "t5 Attention: sizes must be >= 1 (d_model {}, d_kv {}, heads {})", opt.d_model, opt.d_kv, opt.num_heads);
  const int64_t inner = opt.d_kv * opt.num_heads;
  auto linear = [](int64_t in, int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  q = register_module("q", linear(opt.d_model, inner));
  k = register_module("k", linear(opt.d_model, inner));
  v = register_module("v", linear(opt.d_model, inner));
  o = register_module("o", linear(inner, opt.d_model));
  if (opt.has_relative_attention_bias) {
    const RelativePositionBiasOptions bias{opt.num_heads, opt.num_buckets, opt.max_distance, opt.bidirectional};
    relative_attention_bias = register_module("relative_attention_bias", RelativePositionBias(bias));
  }
  dropout = register_module("dropout", torch::nn::Dropout(opt.dropout));
}

void AttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::t5::Attention(d_model=" << options.d_model << ", heads=" << options.num_heads
         << ", d_kv=" << options.d_kv << ", relative_bias=" << options.has_relative_attention_bias << ")";
}

torch::Tensor AttentionImpl::split_heads(const torch::Tensor& x) const {
  return x.view({x.size(0), x.size(1), options.num_heads, options.d_kv}).transpose(1, 2);
}

AttentionOutput AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& key_value_states,
                                       const torch::Tensor& mask, const torch::Tensor& position_bias,
                                       const std::optional<KeyValueCache>& past) {
  MERC_CHECK(x.dim() == 3 && x.size(2) == options.d_model, "t5 Attention: x must be (N, L, {}), got {}",
             options.d_model, x.sizes());
  const bool cross = key_value_states.defined();
  const torch::Tensor source = cross ? key_value_states : x;
  const torch::Tensor query = split_heads(q(x));
  torch::Tensor key, value;
  int64_t past_length = 0;
  if (cross && past && past->key.defined()) {
    key = past->key;  // the memory's projections: the same at every step
    value = past->value;
  } else {
    key = split_heads(k(source));
    value = split_heads(v(source));
    if (!cross && past) {
      past_length = past->key.size(2);
      key = torch::cat({past->key, key}, 2);
      value = torch::cat({past->value, value}, 2);
    }
  }
  const int64_t lq = x.size(1), lk = key.size(2);
  torch::Tensor scores = torch::matmul(query, key.transpose(2, 3));  // (N, H, Lq, Lk), unscaled
  torch::Tensor bias = position_bias;
  if (!bias.defined()) {
    bias = relative_attention_bias && !cross
               ? relative_attention_bias->forward(lq, lk, past_length).to(scores.dtype())
               : torch::zeros({1, options.num_heads, lq, lk}, scores.options());
    if (mask.defined()) bias = bias + mask.to(scores.dtype());
  }
  scores = scores + bias;
  // Softmax in at least float32 (the reference: float32 for half inputs); double stays double.
  const auto acc = scores.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const torch::Tensor weights = dropout(torch::softmax(scores.to(acc), -1).to(scores.dtype()));
  const torch::Tensor context = torch::matmul(weights, value).transpose(1, 2).reshape({x.size(0), lq, -1});
  return {o(context), bias, KeyValueCache{key, value, {}, {}, {}, {}}};
}

}  // namespace merc::nn::t5
