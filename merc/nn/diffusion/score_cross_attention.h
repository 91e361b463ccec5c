#pragma once
// ScoreCrossAttention: the MulT-style TransformerEncoder that RoHyDR's older ScoreNet uses at every
// U-Net level to let the feature map attend to the condition (f125382:
// trains/subNets_diffusion/transformers_encoder/transformer.py, called as attention(h, cond, cond)
// with all dropouts 0 and attn_mask=True). Per call, with D = embed_dim:
//   x  = sqrt(D) q + P(q),   kv = sqrt(D) cond + P(cond)          P: fairseq sinusoidal positions
//   repeat `layers` times (pre-LayerNorm, one LayerNorm ln0 shared by query and key/value):
//     x = x + MHA(ln0(x), ln0(kv), ln0(kv), mask)
//     x = x + fc2(ReLU(fc1(ln1(x))))                              fc1: D -> 4D, fc2: 4D -> D
//   return LayerNorm(x)
// mask: -inf above the diagonal offset 1 + |L_k - L_q| (MulT's buffered_future_mask), so query i
// sees keys j <= i + |L_k - L_q|; no row is fully masked.
// P: position p in 1..L gets [sin(p w) | cos(p w)], w_i = exp(-ln(10000) i / (D/2 - 1)); as in
// fairseq, a position whose first channel is exactly 0 counts as padding and gets a zero vector.
// MHA: fairseq's MultiheadAttention (packed in_proj (3D, D) xavier_uniform, zero biases, q scaled by
// d_h^-1/2, out_proj Linear(D, D) xavier/zero); fc1/fc2 xavier_uniform with zero bias; LayerNorms
// affine, eps 1e-5. Dropouts are omitted because ScoreNet sets them all to 0.

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

// fairseq sinusoidal table for positions 0..num_positions-1 (row 0, the padding row, is zero):
// (num_positions, dim). dim >= 4 (the frequencies divide by dim/2 - 1).
torch::Tensor fairseq_sinusoidal_table(int64_t num_positions, int64_t dim, torch::Dtype dtype = torch::kFloat32);

struct ScoreCrossAttentionOptions {
  ScoreCrossAttentionOptions(int64_t embed_dim, int64_t heads) : embed_dim_(embed_dim), heads_(heads) {}
  TORCH_ARG(int64_t, embed_dim);  // D, >= 4
  TORCH_ARG(int64_t, heads);      // must divide D
  TORCH_ARG(int64_t, layers) = 2;
};

// One pre-LayerNorm layer: x + MHA(ln0(x), ln0(kv)), then x + fc2(ReLU(fc1(ln1(x)))).
class ScoreCrossAttentionLayerImpl : public torch::nn::Cloneable<ScoreCrossAttentionLayerImpl> {
 public:
  ScoreCrossAttentionLayerImpl(int64_t embed_dim, int64_t heads);
  void reset() override;
  // x: (N, L_q, D), kv: (N, L_k, D), mask: (L_q, L_k) additive -> (N, L_q, D).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& kv, const torch::Tensor& mask);

  int64_t embed_dim, heads;
  torch::Tensor in_proj_weight, in_proj_bias;  // (3D, D), (3D): rows [q | k | v]
  torch::nn::Linear out_proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm ln0{nullptr}, ln1{nullptr};
};
TORCH_MODULE(ScoreCrossAttentionLayer);

class ScoreCrossAttentionImpl : public torch::nn::Cloneable<ScoreCrossAttentionImpl> {
 public:
  explicit ScoreCrossAttentionImpl(ScoreCrossAttentionOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // query: (N, L_q, D), cond: (N, L_k, D) -> (N, L_q, D). Batch-first (upstream is time-first).
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& cond);

  ScoreCrossAttentionOptions options;
  torch::nn::ModuleList layers{nullptr};  // of ScoreCrossAttentionLayer
  torch::nn::LayerNorm final_norm{nullptr};
};
TORCH_MODULE(ScoreCrossAttention);

}  // namespace merc::nn
