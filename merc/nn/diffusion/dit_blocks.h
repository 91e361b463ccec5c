#pragma once
// The building blocks of DiT (Peebles & Xie 2023, "Scalable Diffusion Models with Transformers";
// facebookresearch/DiT models.py, vendored by RoHyDR as trains/mainNets/DiT/models.py), each
// initialised as DiT's initialize_weights leaves it:
//   TimestepEmbedder  t -> sinusoidal (cos first, max_period 10000, 256 frequencies) -> Linear -> SiLU
//                     -> Linear; Linear weights N(0, 0.02^2), biases 0.
//   DitAttention      timm's Attention: qkv = Linear(H, 3H) (bias), softmax(q k^T / sqrt(d_h)) v per
//                     head, proj = Linear(H, H). xavier_uniform weights, zero biases.
//   DitBlock          adaLN-Zero: (shift1, scale1, gate1, shift2, scale2, gate2) = Linear(SiLU(c))
//                     x += gate1 * Attn(LN(x) (1 + scale1) + shift1)
//                     x += gate2 * MLP(LN(x) (1 + scale2) + shift2)
//                     LN without affine, eps 1e-6; MLP = Linear(H, int(H mlp_ratio)) -> tanh-GELU ->
//                     Linear; the modulation Linear starts at zero, so a fresh block is the identity.
//   DitFinalLayer     Linear(LN(x) (1 + scale) + shift), (shift, scale) = Linear(SiLU(c)); the
//                     modulation and the output Linear start at zero.
// Shapes: tokens x (N, L, H), conditioning c (N, H). Any L >= 1.

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

// DiT's timestep_embedding: t (N) (integer or fractional) -> (N, dim) [cos(t f) | sin(t f)] with
// f_i = exp(-ln(max_period) i / (dim / 2)), i < dim / 2, and a zero column when dim is odd.
// Computed in `dtype` (DiT: float32).
torch::Tensor timestep_embedding(const torch::Tensor& t, int64_t dim, double max_period = 10000.0,
                                 torch::Dtype dtype = torch::kFloat32);

// x (N, L, H) * (1 + scale (N, H)) + shift (N, H), the scale/shift broadcast over L.
torch::Tensor modulate(const torch::Tensor& x, const torch::Tensor& shift, const torch::Tensor& scale);

struct TimestepEmbedderOptions {
  explicit TimestepEmbedderOptions(int64_t hidden) : hidden_(hidden) {}
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(int64_t, frequency_embedding_size) = 256;
  TORCH_ARG(double, max_period) = 10000.0;
};

class TimestepEmbedderImpl : public torch::nn::Cloneable<TimestepEmbedderImpl> {
 public:
  explicit TimestepEmbedderImpl(TimestepEmbedderOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  // t: (N) timesteps (any numeric dtype) -> (N, hidden) in the weights' dtype.
  torch::Tensor forward(const torch::Tensor& t);

  TimestepEmbedderOptions options;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};  // DiT's mlp[0], mlp[2]
};
TORCH_MODULE(TimestepEmbedder);

struct DitBlockOptions {
  DitBlockOptions(int64_t hidden, int64_t heads) : hidden_(hidden), heads_(heads) {}
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(int64_t, heads);  // must divide hidden
  TORCH_ARG(double, mlp_ratio) = 4.0;
};

class DitAttentionImpl : public torch::nn::Cloneable<DitAttentionImpl> {
 public:
  DitAttentionImpl(int64_t hidden, int64_t heads);
  void reset() override;
  void reset_parameters();
  // x: (N, L, H) -> (N, L, H), full (unmasked) self-attention.
  torch::Tensor forward(const torch::Tensor& x);

  int64_t hidden, heads;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(DitAttention);

class DitBlockImpl : public torch::nn::Cloneable<DitBlockImpl> {
 public:
  explicit DitBlockImpl(DitBlockOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  // x: (N, L, H), c: (N, H) -> (N, L, H).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c);

  DitBlockOptions options;
  DitAttention attn{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};  // timm Mlp
  torch::nn::Linear ada_ln{nullptr};             // adaLN_modulation[1]: H -> 6H
};
TORCH_MODULE(DitBlock);

class DitFinalLayerImpl : public torch::nn::Cloneable<DitFinalLayerImpl> {
 public:
  DitFinalLayerImpl(int64_t hidden, int64_t out_channels);
  void reset() override;
  void reset_parameters();
  // x: (N, L, H), c: (N, H) -> (N, L, out_channels).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c);

  int64_t hidden, out_channels;
  torch::nn::Linear linear{nullptr};  // H -> out_channels
  torch::nn::Linear ada_ln{nullptr};  // adaLN_modulation[1]: H -> 2H
};
TORCH_MODULE(DitFinalLayer);

}  // namespace merc::nn
