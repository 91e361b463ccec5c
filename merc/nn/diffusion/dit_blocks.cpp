#include "merc/nn/diffusion/dit_blocks.h"

#include <cmath>
#include <ostream>

#include <torch/nn/init.h>
#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::nn {
namespace dit_detail {

// DiT's _basic_init for a Linear: xavier_uniform weight, zero bias.
void xavier_zero_bias(torch::nn::Linear& linear) {
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(linear->weight);
  if (linear->bias.defined()) linear->bias.zero_();
}

void zero_linear(torch::nn::Linear& linear) {
  torch::NoGradGuard no_grad;
  linear->weight.zero_();
  if (linear->bias.defined()) linear->bias.zero_();
}

// LayerNorm over the last axis without affine parameters, eps 1e-6 (DiT's norm1/norm2/norm_final).
torch::Tensor plain_layer_norm(const torch::Tensor& x) {
  return torch::layer_norm(x, {x.size(-1)}, {}, {}, 1e-6);
}

void check_tokens(const char* who, const torch::Tensor& x, const torch::Tensor& c, int64_t hidden) {
  MERC_CHECK(x.dim() == 3 && x.size(2) == hidden, "{}: x must be (N, L, H = {}), got {}", who, hidden, x.sizes());
  MERC_CHECK(c.dim() == 2 && c.size(0) == x.size(0) && c.size(1) == hidden, "{}: c must be (N = {}, H = {}), got {}",
             who, x.size(0), hidden, c.sizes());
}

}  // namespace dit_detail

torch::Tensor timestep_embedding(const torch::Tensor& t, int64_t dim, double max_period, torch::Dtype dtype) {
  MERC_CHECK(t.dim() == 1, "timestep_embedding: t must be (N), got {}", t.sizes());
  MERC_CHECK(dim >= 2, "timestep_embedding: dim must be >= 2, got {}", dim);
  const int64_t half = dim / 2;
  const auto opts = torch::TensorOptions().dtype(dtype).device(t.device());
  const auto freqs = torch::exp(-std::log(max_period) * torch::arange(half, opts) / static_cast<double>(half));
  const auto args = t.to(dtype).unsqueeze(1) * freqs.unsqueeze(0);
  auto embedding = torch::cat({torch::cos(args), torch::sin(args)}, -1);
  if (dim % 2 != 0) embedding = torch::cat({embedding, torch::zeros_like(embedding.narrow(1, 0, 1))}, -1);
  return embedding;
}

torch::Tensor modulate(const torch::Tensor& x, const torch::Tensor& shift, const torch::Tensor& scale) {
  return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1);
}

// ---- TimestepEmbedder ------------------------------------------------------------------------

TimestepEmbedderImpl::TimestepEmbedderImpl(TimestepEmbedderOptions options_) : options(options_) { reset(); }

void TimestepEmbedderImpl::reset() {
  MERC_CHECK(options.hidden() > 0 && options.frequency_embedding_size() >= 2,
             "TimestepEmbedder: hidden must be > 0 and frequency_embedding_size >= 2, got {} and {}", options.hidden(),
             options.frequency_embedding_size());
  fc1 = register_module("fc1", torch::nn::Linear(options.frequency_embedding_size(), options.hidden()));
  fc2 = register_module("fc2", torch::nn::Linear(options.hidden(), options.hidden()));
  reset_parameters();
}

void TimestepEmbedderImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  for (auto* linear : {&fc1, &fc2}) {
    torch::nn::init::normal_((*linear)->weight, 0.0, 0.02);
    (*linear)->bias.zero_();
  }
}

void TimestepEmbedderImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::TimestepEmbedder(frequencies=" << options.frequency_embedding_size()
         << ", hidden=" << options.hidden() << ", max_period=" << options.max_period() << ")";
}

torch::Tensor TimestepEmbedderImpl::forward(const torch::Tensor& t) {
  const auto dtype = fc1->weight.scalar_type();
  const auto t_freq = timestep_embedding(t, options.frequency_embedding_size(), options.max_period(), dtype);
  return fc2(torch::silu(fc1(t_freq)));
}

// ---- DitAttention ----------------------------------------------------------------------------

DitAttentionImpl::DitAttentionImpl(int64_t hidden_, int64_t heads_) : hidden(hidden_), heads(heads_) { reset(); }

void DitAttentionImpl::reset() {
  MERC_CHECK(hidden > 0 && heads > 0 && hidden % heads == 0,
             "DitAttention: heads ({}) must be positive and divide hidden ({})", heads, hidden);
  qkv = register_module("qkv", torch::nn::Linear(hidden, 3 * hidden));
  proj = register_module("proj", torch::nn::Linear(hidden, hidden));
  reset_parameters();
}

void DitAttentionImpl::reset_parameters() {
  dit_detail::xavier_zero_bias(qkv);
  dit_detail::xavier_zero_bias(proj);
}

torch::Tensor DitAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t N = x.size(0), L = x.size(1), head_dim = hidden / heads;
  // (N, L, 3, heads, d) -> (3, N, heads, L, d), as timm's Attention.
  const auto qkv_ = qkv(x).reshape({N, L, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
  const auto q = qkv_[0] * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  const auto attn = torch::softmax(torch::matmul(q, qkv_[1].transpose(-2, -1)), -1);
  return proj(torch::matmul(attn, qkv_[2]).transpose(1, 2).reshape({N, L, hidden}));
}

// ---- DitBlock --------------------------------------------------------------------------------

DitBlockImpl::DitBlockImpl(DitBlockOptions options_) : options(options_) { reset(); }

void DitBlockImpl::reset() {
  const int64_t H = options.hidden();
  const auto mlp_hidden = static_cast<int64_t>(static_cast<double>(H) * options.mlp_ratio());  // int() as DiT
  MERC_CHECK(mlp_hidden > 0, "DitBlock: hidden * mlp_ratio must be >= 1, got {} * {}", H, options.mlp_ratio());
  attn = register_module("attn", DitAttention(H, options.heads()));
  fc1 = register_module("fc1", torch::nn::Linear(H, mlp_hidden));
  fc2 = register_module("fc2", torch::nn::Linear(mlp_hidden, H));
  ada_ln = register_module("ada_ln", torch::nn::Linear(H, 6 * H));
  reset_parameters();
}

void DitBlockImpl::reset_parameters() {
  attn->reset_parameters();
  dit_detail::xavier_zero_bias(fc1);
  dit_detail::xavier_zero_bias(fc2);
  dit_detail::zero_linear(ada_ln);  // adaLN-Zero
}

void DitBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::DitBlock(hidden=" << options.hidden() << ", heads=" << options.heads()
         << ", mlp_ratio=" << options.mlp_ratio() << ")";
}

torch::Tensor DitBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& c) {
  dit_detail::check_tokens("DitBlock", x, c, options.hidden());
  const auto mod = ada_ln(torch::silu(c)).chunk(6, 1);  // shift/scale/gate for attention, then MLP
  auto h = x + mod[2].unsqueeze(1) * attn(modulate(dit_detail::plain_layer_norm(x), mod[0], mod[1]));
  const auto mlp_in = modulate(dit_detail::plain_layer_norm(h), mod[3], mod[4]);
  return h + mod[5].unsqueeze(1) * fc2(torch::gelu(fc1(mlp_in), "tanh"));
}

// ---- DitFinalLayer ---------------------------------------------------------------------------

DitFinalLayerImpl::DitFinalLayerImpl(int64_t hidden_, int64_t out_channels_)
    : hidden(hidden_), out_channels(out_channels_) {
  reset();
}

void DitFinalLayerImpl::reset() {
  MERC_CHECK(hidden > 0 && out_channels > 0, "DitFinalLayer: hidden and out_channels must be > 0, got {} and {}",
             hidden, out_channels);
  linear = register_module("linear", torch::nn::Linear(hidden, out_channels));
  ada_ln = register_module("ada_ln", torch::nn::Linear(hidden, 2 * hidden));
  reset_parameters();
}

void DitFinalLayerImpl::reset_parameters() {
  dit_detail::zero_linear(linear);
  dit_detail::zero_linear(ada_ln);
}

torch::Tensor DitFinalLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& c) {
  dit_detail::check_tokens("DitFinalLayer", x, c, hidden);
  const auto mod = ada_ln(torch::silu(c)).chunk(2, 1);  // shift, scale
  return linear(modulate(dit_detail::plain_layer_norm(x), mod[0], mod[1]));
}

}  // namespace merc::nn
