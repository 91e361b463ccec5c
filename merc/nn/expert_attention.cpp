#include "merc/nn/expert_attention.h"

#include <cmath>
#include <limits>
#include <ostream>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/linear.h>
#include <torch/torch.h>

namespace merc::nn {

ExpertAttentionImpl::ExpertAttentionImpl(ExpertAttentionOptions options_) : options(std::move(options_)) { reset(); }

void ExpertAttentionImpl::reset() {
  const int64_t d = options.dim();
  TORCH_CHECK(d > 0 && options.num_heads() > 0 && d % options.num_heads() == 0,
              "ExpertAttention: expected dim > 0 divisible by num_heads, got dim ", d, ", num_heads ",
              options.num_heads());
  const auto hidden = static_cast<int64_t>(static_cast<double>(d) * options.mlp_ratio());
  TORCH_CHECK(hidden > 0, "ExpertAttention: mlp hidden width int(dim * mlp_ratio) must be > 0, got ", hidden);
  TORCH_CHECK(options.drop() >= 0 && options.drop() < 1 && options.attn_drop() >= 0 && options.attn_drop() < 1,
              "ExpertAttention: dropout rates must be in [0, 1)");
  // Default Linear initialisation (kaiming-uniform weights, uniform bias), as nn.Linear in the reference.
  q = register_module("q", torch::nn::Linear(d, d));
  k = register_module("k", torch::nn::Linear(d, d));
  v = register_module("v", torch::nn::Linear(d, d));
  fc1 = register_module("fc1", torch::nn::Linear(d, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, d));
  attn_dropout = register_module("attn_dropout", Dropout(options.attn_drop()));
  mlp_dropout = register_module("mlp_dropout", Dropout(options.drop()));
}

void ExpertAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::ExpertAttention(dim=" << options.dim() << ", num_heads=" << options.num_heads()
         << ", mlp_ratio=" << options.mlp_ratio() << ", drop=" << options.drop()
         << ", attn_drop=" << options.attn_drop() << ")";
}

torch::Tensor ExpertAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& key_mask) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options.dim(), "ExpertAttention: expected x (B, T, ", options.dim(),
              "), got ", x.sizes());
  const int64_t b = x.size(0), t = x.size(1), h = options.num_heads(), hd = options.dim() / h;
  TORCH_CHECK(key_mask.dim() == 2 && key_mask.size(0) == b && key_mask.size(1) == t &&
                  key_mask.scalar_type() == torch::kBool,
              "ExpertAttention: expected bool key_mask (", b, ", ", t, "), got ", key_mask.scalar_type(), " ",
              key_mask.sizes());
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  // q, k and v as ONE (B, T, 3D) product with the three Linears' weights stacked: one GEMM (and in
  // backward one for the input gradient, no sum of three) instead of three. The parameters stay
  // the three Linears' (checkpoints and names unchanged); the stacking copies 3 D^2 floats.
  const auto qkv = torch::nn::functional::linear(x, torch::cat({q->weight, k->weight, v->weight}),
                                                 torch::cat({q->bias, k->bias, v->bias}));
  // (B, T, D) slice of qkv -> (B, H, T, hd)
  auto split = [&](int64_t i) {
    return qkv.narrow(2, i * options.dim(), options.dim()).view({b, t, h, hd}).permute({0, 2, 1, 3});
  };
  const auto qh = split(0) * scale, kh = split(1), vh = split(2);
  auto scores = torch::matmul(qh, kh.transpose(-2, -1));  // (B, H, T_query, T_key)

  // A dialogue with no available key at all would give softmax over -inf only (NaN). Such rows are
  // computed unmasked (finite) and then zeroed, which equals the reference's NaN -> 0 replacement.
  const auto has_key = key_mask.any(1);                                   // (B)
  const bool every_row_has_keys = has_key.all().item<bool>();
  const auto effective = every_row_has_keys ? key_mask : key_mask.logical_or(has_key.logical_not().unsqueeze(1));
  scores = scores.masked_fill(effective.logical_not().view({b, 1, 1, t}), -std::numeric_limits<double>::infinity());
  auto attn = attn_dropout(torch::softmax(scores, -1));
  if (!every_row_has_keys) attn = attn * has_key.view({b, 1, 1, 1}).to(attn.scalar_type());

  const auto y = torch::matmul(attn, vh).permute({0, 2, 1, 3}).reshape({b, t, options.dim()});
  const auto mlp = mlp_dropout(fc2(mlp_dropout(torch::gelu(fc1(y)))));
  return y + mlp;
}

ExpertStackImpl::ExpertStackImpl(ExpertAttentionOptions options_, int64_t depth_)
    : options(std::move(options_)), depth(depth_) {
  reset();
}

void ExpertStackImpl::reset() {
  TORCH_CHECK(depth > 0, "ExpertStack: expected depth > 0, got ", depth);
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i) layers->push_back(ExpertAttention(options));
}

void ExpertStackImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::ExpertStack(dim=" << options.dim() << ", depth=" << depth
         << ", num_heads=" << options.num_heads() << ")";
}

torch::Tensor ExpertStackImpl::forward(const torch::Tensor& x, const torch::Tensor& key_mask) {
  auto y = x;
  for (const auto& layer : *layers) y = y + layer->as<ExpertAttentionImpl>()->forward(y, key_mask);
  return y;
}

}  // namespace merc::nn
