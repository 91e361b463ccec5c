#include "merc/nn/diffusion/score_cross_attention.h"

#include <cmath>
#include <limits>
#include <ostream>

#include <torch/nn/init.h>
#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::nn {
namespace score_attention_detail {

// MulT's Linear(): xavier_uniform weight, zero bias.
torch::nn::Linear xavier_linear(int64_t in, int64_t out) {
  torch::nn::Linear linear(in, out);
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(linear->weight);
  linear->bias.zero_();
  return linear;
}

// sqrt(D) x + P(x): positions 1..L, or 0 (zero row) where x's first channel is exactly 0.
torch::Tensor embed(const torch::Tensor& x) {
  const int64_t L = x.size(1), D = x.size(2);
  const auto table = fairseq_sinusoidal_table(L + 1, D, x.scalar_type()).to(x.device());
  const auto positions = torch::arange(1, L + 1, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
  const auto pos = torch::where(x.select(2, 0).ne(0), positions.unsqueeze(0), torch::zeros_like(positions));
  return std::sqrt(static_cast<double>(D)) * x + table.index_select(0, pos.reshape({-1})).view({x.size(0), L, D});
}

torch::Tensor future_mask(int64_t Lq, int64_t Lk, const torch::TensorOptions& opts) {
  const int64_t offset = 1 + std::abs(Lk - Lq);
  return torch::full({Lq, Lk}, -std::numeric_limits<double>::infinity(), opts).triu(offset);
}

}  // namespace score_attention_detail

torch::Tensor fairseq_sinusoidal_table(int64_t num_positions, int64_t dim, torch::Dtype dtype) {
  MERC_CHECK(dim >= 4, "fairseq_sinusoidal_table: dim must be >= 4, got {}", dim);
  const int64_t half = dim / 2;
  const double step = std::log(10000.0) / static_cast<double>(half - 1);
  const auto freqs = torch::exp(torch::arange(half, torch::kFloat32) * -step);
  const auto args = torch::arange(num_positions, torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  auto table = torch::cat({torch::sin(args), torch::cos(args)}, 1);
  if (dim % 2 == 1) table = torch::cat({table, torch::zeros({num_positions, 1})}, 1);
  table[0].zero_();
  return table.to(dtype);
}

// ---- one layer -------------------------------------------------------------------------------

ScoreCrossAttentionLayerImpl::ScoreCrossAttentionLayerImpl(int64_t embed_dim_, int64_t heads_)
    : embed_dim(embed_dim_), heads(heads_) {
  reset();
}

void ScoreCrossAttentionLayerImpl::reset() {
  const int64_t D = embed_dim;
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * D, D}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * D}));
  {
    torch::NoGradGuard no_grad;
    torch::nn::init::xavier_uniform_(in_proj_weight);
  }
  out_proj = register_module("out_proj", score_attention_detail::xavier_linear(D, D));
  fc1 = register_module("fc1", score_attention_detail::xavier_linear(D, 4 * D));
  fc2 = register_module("fc2", score_attention_detail::xavier_linear(4 * D, D));
  ln0 = register_module("ln0", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
}

torch::Tensor ScoreCrossAttentionLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& kv,
                                                    const torch::Tensor& mask) {
  const int64_t N = x.size(0), Lq = x.size(1), Lk = kv.size(1), D = embed_dim, d = D / heads;
  const auto w = in_proj_weight.chunk(3, 0);
  const auto b = in_proj_bias.chunk(3, 0);
  const auto xn = ln0(x), kvn = ln0(kv);
  // (N, L, D) -> (N, heads, L, d)
  const auto split = [&](const torch::Tensor& t, int64_t L) { return t.view({N, L, heads, d}).transpose(1, 2); };
  const auto q = split(torch::nn::functional::linear(xn, w[0], b[0]) * (1.0 / std::sqrt(double(d))), Lq);
  const auto k = split(torch::nn::functional::linear(kvn, w[1], b[1]), Lk);
  const auto v = split(torch::nn::functional::linear(kvn, w[2], b[2]), Lk);
  const auto attn = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) + mask, -1);
  auto h = x + out_proj(torch::matmul(attn, v).transpose(1, 2).reshape({N, Lq, D}));
  return h + fc2(torch::relu(fc1(ln1(h))));
}

// ---- encoder ---------------------------------------------------------------------------------

ScoreCrossAttentionImpl::ScoreCrossAttentionImpl(ScoreCrossAttentionOptions options_) : options(options_) {
  reset();
}

void ScoreCrossAttentionImpl::reset() {
  const int64_t D = options.embed_dim();
  MERC_CHECK(D >= 4 && options.heads() > 0 && D % options.heads() == 0 && options.layers() >= 1,
             "ScoreCrossAttention: need embed_dim >= 4 divisible by heads > 0 and layers >= 1, got D={}, heads={}, "
             "layers={}",
             D, options.heads(), options.layers());
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers(); ++i) layers->push_back(ScoreCrossAttentionLayer(D, options.heads()));
  final_norm = register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
}

void ScoreCrossAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::ScoreCrossAttention(embed_dim=" << options.embed_dim() << ", heads=" << options.heads()
         << ", layers=" << options.layers() << ")";
}

torch::Tensor ScoreCrossAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& cond) {
  const int64_t D = options.embed_dim();
  MERC_CHECK(query.dim() == 3 && query.size(2) == D && cond.dim() == 3 && cond.size(2) == D &&
                 cond.size(0) == query.size(0) && query.size(1) >= 1 && cond.size(1) >= 1,
             "ScoreCrossAttention: query (N, L_q, D = {}) and cond (N, L_k, D) expected, got {} and {}", D,
             query.sizes(), cond.sizes());
  auto x = score_attention_detail::embed(query);
  const auto kv = score_attention_detail::embed(cond);
  const auto mask = score_attention_detail::future_mask(query.size(1), cond.size(1), query.options());
  for (const auto& layer : *layers) x = layer->as<ScoreCrossAttentionLayerImpl>()->forward(x, kv, mask);
  return final_norm(x);
}

}  // namespace merc::nn
