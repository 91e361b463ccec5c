#pragma once
// Double-precision recomputations for the momke and comp value pins, written from the
// definitions in docs/models/momke.md and docs/models/comp.md (not from merc's modules): Linear,
// exact GELU, the timm Mlp and MoMKE's expert attention stack, on ONE dialogue (rows = time).
// Parameters are read by name from the model (model.named_parameters()) and cast to double.
//
// tests/nn/expert_attention_test.cpp pins ExpertAttention itself against scalar loops; this
// header is the torch-op version the model tests share.

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include <torch/torch.h>

namespace merc::models::expert_reference {

using Params = std::map<std::string, torch::Tensor>;

// Every parameter of `module`, detached and in double.
inline Params params_of(const torch::nn::Module& module) {
  Params p;
  for (const auto& item : module.named_parameters()) p[item.key()] = item.value().detach().to(torch::kFloat64);
  return p;
}

inline const torch::Tensor& param(const Params& p, const std::string& name) {
  const auto it = p.find(name);
  TORCH_CHECK(it != p.end(), "expert_reference: no parameter ", name);
  return it->second;
}

// x W^T + b for the Linear `name`, over the last axis.
inline torch::Tensor linear(const Params& p, const std::string& name, const torch::Tensor& x) {
  return torch::matmul(x, param(p, name + ".weight").t()) + param(p, name + ".bias");
}

inline torch::Tensor gelu_exact(const torch::Tensor& x) { return 0.5 * x * (1.0 + torch::erf(x / std::sqrt(2.0))); }

// Mlp (eval): fc2(gelu(fc1(x))).
inline torch::Tensor mlp(const Params& p, const std::string& name, const torch::Tensor& x) {
  return linear(p, name + ".fc2", gelu_exact(linear(p, name + ".fc1", x)));
}

// One ExpertAttention layer WITHOUT the outer residual, on one dialogue: x (T, D) double, keys
// (T) bool. Heads = consecutive column blocks of q, k, v; scores (q_h / sqrt(D/H)) k_h^T with
// unavailable keys removed; no key at all -> attention output 0; layer = y + Mlp(y).
inline torch::Tensor expert_layer(const Params& p, const std::string& name, const torch::Tensor& x,
                                  const torch::Tensor& keys, int64_t heads) {
  const int64_t T = x.size(0), D = x.size(1), hd = D / heads;
  const auto q = linear(p, name + ".q", x), k = linear(p, name + ".k", x), v = linear(p, name + ".v", x);
  std::vector<torch::Tensor> per_head;
  for (int64_t h = 0; h < heads; ++h) {
    const auto qh = q.narrow(1, h * hd, hd) / std::sqrt(static_cast<double>(hd));
    const auto kh = k.narrow(1, h * hd, hd), vh = v.narrow(1, h * hd, hd);
    if (!keys.any().item<bool>()) {
      per_head.push_back(torch::zeros({T, hd}, x.options()));
      continue;
    }
    const auto scores = qh.mm(kh.t()).masked_fill(keys.logical_not().unsqueeze(0),
                                                  -std::numeric_limits<double>::infinity());
    per_head.push_back(torch::softmax(scores, 1).mm(vh));
  }
  const auto y = torch::cat(per_head, 1);
  return y + mlp(p, name, y);
}

// ExpertStack: x <- x + layer_l(x) for l < depth.
inline torch::Tensor expert_stack(const Params& p, const std::string& name, torch::Tensor x, const torch::Tensor& keys,
                                  int64_t depth, int64_t heads) {
  for (int64_t l = 0; l < depth; ++l) x = x + expert_layer(p, name + ".layers." + std::to_string(l), x, keys, heads);
  return x;
}

}  // namespace merc::models::expert_reference
