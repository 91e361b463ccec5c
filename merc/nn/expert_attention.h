#pragma once
// ExpertAttention / ExpertStack: the modality "knowledge expert" of MoMKE (Xu et al., ACM MM 2024),
// also reused by ComP (AAAI 2026). One layer is a multi-head self-attention over the utterances of
// a dialogue whose KEYS are restricted to the positions where one modality is available, followed
// by a residual MLP:
//
//   q, k, v = Linear(D, D)(x)                     split into H heads of D/H
//   A       = softmax_keys( (q * (D/H)^-1/2) k^T   with unavailable keys -> -inf )
//   A       = Dropout_attn(A);   rows whose keys are ALL unavailable -> 0
//   y       = A v                                  heads concatenated back to (B, T, D)
//   layer(x) = y + Mlp(y)                          Mlp = Linear(D, D*r) -> GELU -> Dropout -> Linear(D*r, D) -> Dropout
//
// and a stack of `depth` layers applies the outer residual x <- x + layer(x, mask) after every layer.
//
// As in the public code (wxxv/MoMKE: MoMKE/modules/Attention_softmoe.py, classes Attention and
// Block): there is NO output projection after the heads and NO LayerNorm anywhere; the scale is
// applied to q before the product; attention dropout is applied to the normalised weights; the
// queries are not masked (an unavailable query position still attends to the available keys: the
// model zeroes such positions afterwards). Differences from the public code, none of which changes a
// value where the reference's is finite:
//  * all-masked rows: the reference takes softmax over an all -inf row (NaN) and then replaces NaN
//    by 0. Here such rows are computed with no key masked (finite) and multiplied by 0, so the
//    output is the same 0 and the backward pass has no 0 * NaN products anywhere.
//  * the reference only masks (and only applies attention dropout) when a mask is given; the model
//    always gives one, so `key_mask` is required here.
//  * the reference computes the scores in float32 even under autocast (q.float()); LibTorch CPU has
//    no autocast, so the scores are in the input dtype.

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/dropout.h"

namespace merc::nn {

struct ExpertAttentionOptions {
  explicit ExpertAttentionOptions(int64_t dim) : dim_(dim) {}
  TORCH_ARG(int64_t, dim);           // D: input = output width; must be divisible by num_heads
  TORCH_ARG(int64_t, num_heads) = 2;  // H (MoMKE/ComP scripts: --num_heads 2)
  TORCH_ARG(double, mlp_ratio) = 1.0;  // Mlp hidden = int(D * mlp_ratio) (the models pass 1)
  TORCH_ARG(double, drop) = 0.0;       // dropout inside the Mlp (the models pass --drop_rate)
  TORCH_ARG(double, attn_drop) = 0.0;  // dropout on the attention weights (--attn_drop_rate)
};

class ExpertAttentionImpl : public torch::nn::Cloneable<ExpertAttentionImpl> {
 public:
  explicit ExpertAttentionImpl(ExpertAttentionOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // x: (B, T, D); key_mask: (B, T) bool, true where the key position may be attended to (the
  // modality is available and the utterance is real). Returns layer(x): (B, T, D), WITHOUT the
  // outer residual (ExpertStack adds it).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_mask);

  ExpertAttentionOptions options;
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};  // the Mlp
  Dropout attn_dropout{nullptr}, mlp_dropout{nullptr};  // merc::nn::Dropout (nn/dropout.h)
};
TORCH_MODULE(ExpertAttention);

class ExpertStackImpl : public torch::nn::Cloneable<ExpertStackImpl> {
 public:
  ExpertStackImpl(ExpertAttentionOptions options, int64_t depth);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // x: (B, T, D), key_mask: (B, T) bool. For each layer: x <- x + layer(x, key_mask). (B, T, D).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_mask);

  ExpertAttentionOptions options;
  int64_t depth;
  torch::nn::ModuleList layers{nullptr};  // `depth` ExpertAttention modules
};
TORCH_MODULE(ExpertStack);

}  // namespace merc::nn
