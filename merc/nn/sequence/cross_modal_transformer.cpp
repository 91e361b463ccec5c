#include "merc/nn/sequence/cross_modal_transformer.h"

#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <torch/nn/init.h>

#include "merc/core/error.h"
#include "merc/nn/dropout.h"

namespace merc::nn {

namespace cross_modal_transformer_detail {

// (L, N, d) -> (N*H, L, d/H), batch-major then head, as fairseq's view/transpose.
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  const int64_t head_dim = x.size(2) / heads;
  return x.contiguous().view({x.size(0), x.size(1) * heads, head_dim}).transpose(0, 1);
}

void check_time_major(const torch::Tensor& x, int64_t d, const char* what) {
  MERC_CHECK(x.dim() == 3 && x.size(2) == d && x.size(0) >= 1,
             "CrossModalTransformer: expected {} of shape (L >= 1, N, {}), got {}", what, d, x.sizes());
}

}  // namespace cross_modal_transformer_detail

torch::Tensor future_mask(int64_t l_q, int64_t l_k) {
  MERC_CHECK(l_q >= 0 && l_k >= 0, "future_mask: lengths must be >= 0, got ({}, {})", l_q, l_k);
  const int64_t offset = 1 + std::abs(l_k - l_q);
  return torch::triu(torch::full({l_q, l_k}, -std::numeric_limits<float>::infinity()), offset);
}

torch::Tensor mult_position_embedding(const torch::Tensor& x) {
  MERC_CHECK(x.dim() == 3 && x.size(2) >= 4, "mult_position_embedding: expected x (L, N, d >= 4), got {}",
             x.sizes());
  const int64_t length = x.size(0);
  const int64_t d = x.size(2);
  const int64_t half = d / 2;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
  // Frequencies and products in float32 like fairseq's get_embedding.
  const double step = std::log(10000.0) / static_cast<double>(half - 1);
  const torch::Tensor freq = torch::exp(torch::arange(half, f32) * -step);            // (half)
  // fairseq's make_positions: channel 0 == padding_idx (0) marks padding -> position 0.
  const torch::Tensor real = x.select(2, 0).ne(0).to(torch::kFloat);                 // (L, N)
  const torch::Tensor pos = torch::arange(1, length + 1, f32).unsqueeze(1) * real;    // (L, N)
  const torch::Tensor angle = pos.unsqueeze(-1) * freq;                               // (L, N, half)
  std::vector<torch::Tensor> parts{torch::sin(angle), torch::cos(angle)};
  if (d % 2 == 1) parts.push_back(torch::zeros({length, x.size(1), 1}, f32));
  // Row 0 of the table is zeroed (cos(0) would be 1), so padding steps add nothing.
  return (torch::cat(parts, -1) * real.unsqueeze(-1)).to(x.dtype());
}

// ---------------------------------------------------------------- CrossModalAttention

CrossModalAttentionImpl::CrossModalAttentionImpl(CrossModalAttentionOptions options_) : options(std::move(options_)) {
  reset();
}

void CrossModalAttentionImpl::reset() {
  const int64_t d = options.embed_dim();
  MERC_CHECK(d > 0 && options.num_heads() > 0 && d % options.num_heads() == 0,
             "CrossModalAttention: embed_dim ({}) must be a positive multiple of num_heads ({})", d,
             options.num_heads());
  MERC_CHECK(options.attn_dropout() >= 0.0 && options.attn_dropout() < 1.0,
             "CrossModalAttention: attn_dropout must be in [0, 1), got {}", options.attn_dropout());
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * d, d}));
  in_proj_bias = register_parameter("in_proj_bias", torch::empty({3 * d}));
  out_proj = register_module("out_proj", torch::nn::Linear(d, d));
  reset_parameters();
}

void CrossModalAttentionImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(in_proj_weight);
  torch::nn::init::xavier_uniform_(out_proj->weight);
  in_proj_bias.zero_();
  out_proj->bias.zero_();
}

void CrossModalAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::CrossModalAttention(embed_dim=" << options.embed_dim() << ", num_heads=" << options.num_heads()
         << ", attn_dropout=" << options.attn_dropout() << ")";
}

torch::Tensor CrossModalAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                               const torch::Tensor& value, const torch::Tensor& attn_mask,
                                               const torch::Tensor& key_padding_mask) {
  using cross_modal_transformer_detail::split_heads;
  const int64_t d = options.embed_dim();
  const int64_t heads = options.num_heads();
  const int64_t l_q = query.size(0);
  const int64_t batch = query.size(1);
  const int64_t l_k = key.size(0);
  MERC_CHECK(key.sizes() == value.sizes() && key.dim() == 3 && key.size(1) == batch,
             "CrossModalAttention: key {} and value {} must both be (L_k, {}, {})", key.sizes(), value.sizes(), batch,
             d);
  // One matmul where the reference does one (in_proj_qkv / in_proj_kv): same values either way.
  torch::Tensor q, k, v;
  if (query.is_same(key) && key.is_same(value)) {
    auto qkv = torch::linear(query, in_proj_weight, in_proj_bias).chunk(3, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = torch::linear(query, in_proj_weight.narrow(0, 0, d), in_proj_bias.narrow(0, 0, d));
    if (key.is_same(value)) {
      auto kv = torch::linear(key, in_proj_weight.narrow(0, d, 2 * d), in_proj_bias.narrow(0, d, 2 * d)).chunk(2, -1);
      k = kv[0], v = kv[1];
    } else {
      k = torch::linear(key, in_proj_weight.narrow(0, d, d), in_proj_bias.narrow(0, d, d));
      v = torch::linear(value, in_proj_weight.narrow(0, 2 * d, d), in_proj_bias.narrow(0, 2 * d, d));
    }
  }
  q = q * std::pow(static_cast<double>(d / heads), -0.5);  // after the bias, as fairseq
  torch::Tensor scores = torch::bmm(split_heads(q, heads), split_heads(k, heads).transpose(1, 2));  // (N*H, L_q, L_k)
  if (attn_mask.defined()) {
    MERC_CHECK(attn_mask.dim() == 2 && attn_mask.size(0) == l_q && attn_mask.size(1) == l_k,
               "CrossModalAttention: attn_mask must be ({}, {}), got {}", l_q, l_k, attn_mask.sizes());
    scores = scores + attn_mask.to(scores.dtype()).unsqueeze(0);
  }
  if (key_padding_mask.defined()) {
    MERC_CHECK(key_padding_mask.dim() == 2 && key_padding_mask.size(0) == batch && key_padding_mask.size(1) == l_k &&
                   key_padding_mask.scalar_type() == torch::kBool,
               "CrossModalAttention: key_padding_mask must be bool ({}, {}), got {} {}", batch, l_k,
               key_padding_mask.sizes(), std::string(c10::toString(key_padding_mask.scalar_type())));
    scores = scores.view({batch, heads, l_q, l_k})
                 .masked_fill(key_padding_mask.view({batch, 1, 1, l_k}), -std::numeric_limits<double>::infinity())
                 .view({batch * heads, l_q, l_k});
  }
  // Softmax in float32 at least (the reference's .float() for half precision); double stays double.
  const auto softmax_type = scores.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  torch::Tensor weights = torch::softmax(scores, -1, softmax_type).to(scores.dtype());
  weights = counter_dropout(weights, options.attn_dropout(), is_training());
  const torch::Tensor attn = torch::bmm(weights, split_heads(v, heads));  // (N*H, L_q, d/H)
  return out_proj(attn.transpose(0, 1).contiguous().view({l_q, batch, d}));
}

// ---------------------------------------------------------------- CrossModalTransformerLayer

CrossModalTransformerLayerImpl::CrossModalTransformerLayerImpl(CrossModalTransformerOptions options_)
    : options(std::move(options_)) {
  reset();
}

void CrossModalTransformerLayerImpl::reset() {
  const int64_t d = options.embed_dim();
  for (const double p : {options.relu_dropout(), options.res_dropout()})
    MERC_CHECK(p >= 0.0 && p < 1.0, "CrossModalTransformerLayer: dropout must be in [0, 1), got {}", p);
  self_attn = register_module(
      "self_attn",
      CrossModalAttention(CrossModalAttentionOptions(d, options.num_heads()).attn_dropout(options.attn_dropout())));
  fc1 = register_module("fc1", torch::nn::Linear(d, 4 * d));
  fc2 = register_module("fc2", torch::nn::Linear(4 * d, d));
  layer_norms = register_module("layer_norms", torch::nn::ModuleList(torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})),
                                                                     torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}))));
  torch::NoGradGuard no_grad;  // the reference's Linear(): xavier_uniform weight, zero bias
  for (auto& fc : {fc1, fc2}) {
    torch::nn::init::xavier_uniform_(fc->weight);
    fc->bias.zero_();
  }
}

void CrossModalTransformerLayerImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::CrossModalTransformerLayer(embed_dim=" << options.embed_dim()
         << ", num_heads=" << options.num_heads() << ")";
}

torch::Tensor CrossModalTransformerLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& x_k,
                                                      const torch::Tensor& x_v, const torch::Tensor& attn_mask,
                                                      const torch::Tensor& key_padding_mask) {
  MERC_CHECK(x_k.defined() == x_v.defined(), "CrossModalTransformerLayer: give both x_k and x_v or neither");
  const bool train = is_training();
  torch::nn::LayerNormImpl& norm_attn = norm(0);
  const torch::Tensor h = norm_attn.forward(x);
  torch::Tensor a;
  if (!x_k.defined()) {
    a = self_attn(h, h, h, attn_mask, key_padding_mask);
  } else {
    const torch::Tensor k = norm_attn.forward(x_k);
    const torch::Tensor v = x_v.is_same(x_k) ? k : norm_attn.forward(x_v);
    a = self_attn(h, k, v, attn_mask, key_padding_mask);
  }
  const torch::Tensor y = x + counter_dropout(a, options.res_dropout(), train);
  torch::Tensor f = counter_dropout(torch::relu(fc1(norm(1).forward(y))), options.relu_dropout(), train);
  return y + counter_dropout(fc2(f), options.res_dropout(), train);
}

// ---------------------------------------------------------------- CrossModalTransformer

CrossModalTransformerImpl::CrossModalTransformerImpl(CrossModalTransformerOptions options_)
    : options(std::move(options_)) {
  reset();
}

void CrossModalTransformerImpl::reset() {
  MERC_CHECK(options.layers() >= 0, "CrossModalTransformer: layers must be >= 0, got {}", options.layers());
  MERC_CHECK(options.embed_dropout() >= 0.0 && options.embed_dropout() < 1.0,
             "CrossModalTransformer: embed_dropout must be in [0, 1), got {}", options.embed_dropout());
  MERC_CHECK(!options.position_embedding() || options.embed_dim() >= 4,
             "CrossModalTransformer: the sinusoidal position embedding needs embed_dim >= 4, got {}",
             options.embed_dim());
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers(); ++i) layers->push_back(CrossModalTransformerLayer(options));
  layer_norm = register_module("layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.embed_dim()})));
}

void CrossModalTransformerImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::CrossModalTransformer(embed_dim=" << options.embed_dim() << ", num_heads=" << options.num_heads()
         << ", layers=" << options.layers() << ", attn_mask=" << options.attn_mask()
         << ", position_embedding=" << options.position_embedding() << ")";
}

torch::Tensor CrossModalTransformerImpl::embed(const torch::Tensor& x) const {
  const torch::Tensor scaled = x * std::sqrt(static_cast<double>(options.embed_dim()));
  return options.position_embedding() ? scaled + mult_position_embedding(x) : scaled;
}

torch::Tensor CrossModalTransformerImpl::forward(const torch::Tensor& x_q, const torch::Tensor& x_kv,
                                                 const torch::Tensor& key_padding_mask) {
  using cross_modal_transformer_detail::check_time_major;
  const int64_t d = options.embed_dim();
  check_time_major(x_q, d, "x_q");
  const bool train = is_training();
  const double p = options.embed_dropout();
  torch::Tensor x = counter_dropout(embed(x_q), p, train);
  torch::Tensor x_k, x_v;
  int64_t l_k = x_q.size(0);
  if (x_kv.defined()) {
    check_time_major(x_kv, d, "x_kv");
    MERC_CHECK(x_kv.size(1) == x_q.size(1), "CrossModalTransformer: x_q {} and x_kv {} differ in batch size",
               x_q.sizes(), x_kv.sizes());
    l_k = x_kv.size(0);
    const torch::Tensor e = embed(x_kv);
    // Two draws like the reference (x_k and x_v are embedded separately); outside training both
    // are `e` itself, so each layer normalises and projects it once.
    x_k = counter_dropout(e, p, train);
    x_v = counter_dropout(e, p, train);
  }
  const torch::Tensor mask =
      options.attn_mask() ? future_mask(x_q.size(0), l_k).to(x.device()) : torch::Tensor();
  for (const auto& layer : *layers)
    x = layer->as<CrossModalTransformerLayerImpl>()->forward(x, x_k, x_v, mask, key_padding_mask);
  return layer_norm(x);
}

}  // namespace merc::nn
