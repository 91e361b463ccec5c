#pragma once
// MulT's cross-modal TransformerEncoder (Tsai et al., ACL 2019; fairseq-derived code), exactly as
// RoHyDR ships it (Siowllience/RoHyDR trains/subNets_adv/transformers_encoder/{transformer,
// multihead_attention,position_embedding}.py) and uses it for its six cross-modal and three memory
// encoders (trains/mainNets/model/rohydr.py get_network). Time-major, like the reference:
//
//   x   = dropout_embed( sqrt(d) * x_q  [+ pos(x_q)] )                       (L_q, N, d)
//   kv  = dropout_embed( sqrt(d) * x_kv [+ pos(x_kv)] ), drawn twice in training: the reference
//         embeds key and value separately, so they get independent dropout masks  (L_k, N, d)
//   per layer (pre-LayerNorm; the SAME LayerNorm normalises the query and the key/value input):
//     a   = MHA( LN0(x), LN0(k), LN0(v), mask )          self-attention: MHA(LN0(x), LN0(x), LN0(x))
//     x   = x + dropout_res(a)
//     x   = x + dropout_res( fc2( dropout_relu( relu( fc1( LN1(x) ) ) ) ) )        d -> 4d -> d
//   out = LN_final(x)                                                            (L_q, N, d)
//
// MHA (fairseq): one packed in-projection W_in (3d, d), b_in (3d) whose row blocks [0, d), [d, 2d),
// [2d, 3d) project query, key and value; q is scaled by head_dim^-0.5 AFTER the bias is added;
// scores (N*H, L_q, L_k) + mask, softmax over keys (in float32 at least), attention dropout, then
// out_proj (Linear d -> d). Heads split the channel axis in order (head h owns channels
// [h*d/H, (h+1)*d/H)). The key/value input is the embedded x_kv of the encoder input, the same for
// every layer (it is not updated layer by layer).
//
// attn_mask (the reference's flag): future_mask(L_q, L_k) is added to the scores; for L_q == L_k
// this is causal (query t sees keys <= t), otherwise the diagonal is shifted by |L_k - L_q| and a
// row never loses key 0, so no row is empty.
//
// Position embedding (flag, off in RoHyDR and MulT's configs): fairseq's sinusoidal embedding with
// padding_idx 0. Position of step t of sample n is t + 1, except that fairseq reads the FIRST
// CHANNEL of the unscaled input as a token id: where x[t, n, 0] == 0 exactly, the step counts as
// padding and gets position 0, whose embedding is all zeros. Embedding of position p >= 1, with
// half = d / 2 and f_j = exp(-j ln(10000) / (half - 1)):  [sin(p f_0..p f_{half-1}),
// cos(p f_0..p f_{half-1})] (+ one zero channel when d is odd); computed in float32 like the
// reference. Needs d >= 4 (the reference divides by half - 1). (The reference itself raises for
// N > 1 in torch >= 1.5: its make_positions clones a non-contiguous view and calls view(-1) on it;
// here any N works and gives what it computes for each sample alone.)
//
// key_padding_mask (not in the reference; MulT's callers never pad): (N, L_k) bool, true = padded
// key position, whose scores are set to -inf before the softmax, so padded keys never reach the
// output. A query row must keep at least one key (combined with attn_mask too), otherwise the
// softmax is 0/0 and that row of the output is NaN (as torch::nn::MultiheadAttention does).
//
// Parameter names (named_parameters) are the reference state_dict keys one to one:
//   layers.{i}.self_attn.in_proj_weight (3d, d), layers.{i}.self_attn.in_proj_bias (3d),
//   layers.{i}.self_attn.out_proj.{weight (d, d), bias (d)}, layers.{i}.fc1.{weight (4d, d), bias},
//   layers.{i}.fc2.{weight (d, 4d), bias}, layers.{i}.layer_norms.{0,1}.{weight, bias} (d),
//   layer_norm.{weight, bias} (d).
// The reference's buffers `version` (the constant [2.]) and `embed_positions._float_tensor` (a
// dtype marker) carry no values that the computation reads and have no counterpart here.
// Initialisation as the reference: xavier_uniform in_proj_weight, out_proj, fc1 and fc2 weights,
// zero biases, LayerNorms (1, 0).
//
// Dropout uses merc::nn::counter_dropout (same distribution as torch's dropout, other masks).

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

// (L_q, L_k) float: 0 on and below the shifted diagonal, -inf above it (MulT buffered_future_mask:
// triu(-inf, 1 + |L_k - L_q|)): entry (i, j) is -inf iff j - i >= 1 + |L_k - L_q|.
torch::Tensor future_mask(int64_t l_q, int64_t l_k);

// fairseq's sinusoidal position embedding as MulT adds it (see the header comment): x (L, N, d)
// -> (L, N, d) in x's dtype and device; zero rows where x[t, n, 0] == 0. d must be >= 4.
torch::Tensor mult_position_embedding(const torch::Tensor& x);

// ---- multi-head attention (fairseq's, as MulT ships it) ----

struct CrossModalAttentionOptions {
  CrossModalAttentionOptions(int64_t embed_dim, int64_t num_heads) : embed_dim_(embed_dim), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, embed_dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(double, attn_dropout) = 0.0;
};

class CrossModalAttentionImpl : public torch::nn::Cloneable<CrossModalAttentionImpl> {
 public:
  explicit CrossModalAttentionImpl(CrossModalAttentionOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  // query (L_q, N, d); key, value (L_k, N, d); attn_mask: undefined or (L_q, L_k) additive float;
  // key_padding_mask: undefined or (N, L_k) bool, true = ignored key. Returns (L_q, N, d).
  // When query, key and value are the same tensor (or key and value are), the projection is done
  // in one matmul as the reference does.
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                        const torch::Tensor& attn_mask = {}, const torch::Tensor& key_padding_mask = {});

  CrossModalAttentionOptions options;
  torch::Tensor in_proj_weight;  // (3d, d): rows [0,d) query, [d,2d) key, [2d,3d) value
  torch::Tensor in_proj_bias;    // (3d)
  torch::nn::Linear out_proj{nullptr};
};
TORCH_MODULE(CrossModalAttention);

// ---- one pre-LayerNorm encoder layer ----

struct CrossModalTransformerOptions {
  CrossModalTransformerOptions(int64_t embed_dim, int64_t num_heads, int64_t layers)
      : embed_dim_(embed_dim), num_heads_(num_heads), layers_(layers) {}
  TORCH_ARG(int64_t, embed_dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, layers);
  TORCH_ARG(double, attn_dropout) = 0.0;
  TORCH_ARG(double, relu_dropout) = 0.0;
  TORCH_ARG(double, res_dropout) = 0.0;
  TORCH_ARG(double, embed_dropout) = 0.0;
  TORCH_ARG(bool, attn_mask) = false;
  TORCH_ARG(bool, position_embedding) = false;
};

class CrossModalTransformerLayerImpl : public torch::nn::Cloneable<CrossModalTransformerLayerImpl> {
 public:
  // Reads embed_dim, num_heads and the attn/relu/res dropouts (layers, embed_dropout, attn_mask and
  // position_embedding belong to the encoder).
  explicit CrossModalTransformerLayerImpl(CrossModalTransformerOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // x (L_q, N, d). Cross-modal: x_k, x_v (L_k, N, d) (the same tensor is normalised once);
  // self-attention: both undefined. attn_mask / key_padding_mask as CrossModalAttention.
  // Returns (L_q, N, d).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& x_k = {}, const torch::Tensor& x_v = {},
                        const torch::Tensor& attn_mask = {}, const torch::Tensor& key_padding_mask = {});

  CrossModalTransformerOptions options;
  CrossModalAttention self_attn{nullptr};
  torch::nn::Linear fc1{nullptr};  // d -> 4d
  torch::nn::Linear fc2{nullptr};  // 4d -> d
  // layer_norms.0 before attention (query and key/value), layer_norms.1 before the FFN. Reached
  // through the list, not typed copies: clone() replaces the list's modules.
  torch::nn::ModuleList layer_norms{nullptr};
  torch::nn::LayerNormImpl& norm(int64_t i) { return *layer_norms[i]->as<torch::nn::LayerNormImpl>(); }
};
TORCH_MODULE(CrossModalTransformerLayer);

// ---- the encoder ----

class CrossModalTransformerImpl : public torch::nn::Cloneable<CrossModalTransformerImpl> {
 public:
  explicit CrossModalTransformerImpl(CrossModalTransformerOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // Time-major like MulT: x_q (L_q, N, d); x_kv (L_k, N, d) or undefined for self-attention
  // (then L_k = L_q). key_padding_mask: optional (N, L_k) bool, true = padded key position
  // (ignored by attention). Returns (L_q, N, d). L_q, L_k >= 1. Bad shapes -> merc::Error.
  torch::Tensor forward(const torch::Tensor& x_q, const torch::Tensor& x_kv = {},
                        const torch::Tensor& key_padding_mask = {});

  CrossModalTransformerOptions options;
  torch::nn::ModuleList layers{nullptr};     // `layers` CrossModalTransformerLayer modules, layers.{i}
  torch::nn::LayerNorm layer_norm{nullptr};  // final LayerNorm
  CrossModalTransformerLayerImpl& layer(int64_t i) { return *layers[i]->as<CrossModalTransformerLayerImpl>(); }

 private:
  torch::Tensor embed(const torch::Tensor& x) const;  // sqrt(d) x [+ pos(x)], before dropout
};
TORCH_MODULE(CrossModalTransformer);

}  // namespace merc::nn
