#pragma once
// GcnetGraphNetwork: one of GCNet's two graph branches (Lian et al., TPAMI 2023, §3.2-3.3; public
// code zeroQiaoba/GCNet gcnet/model.py, class GraphNetwork). On the N utterance nodes of a batch
// (node_batch.h numbering) with features x (N, F):
//
//   h    = GraphConv( RGCNConv(x; relations) )     RGCN: per-relation mean + root weight + bias;
//                                                  GraphConv: sum aggregation; no nonlinearity
//   u    = [x ; h]                                 (N, D_h), D_h = F + G
//   s    = BiLSTM_2layers(u as (B, T, D_h))        (B, T, 2 D_h), dropout between the layers
//   out  = ReLU(W s + b)                           (B, T, D_h); with time_attn, s_t is first
//                                                  replaced by MatchingAttention('general2') over
//                                                  the dialogue's real steps with query s_t
//
// The output is NOT zeroed at padding: GCNet's reconstruction loss (its reference row layout)
// may read padded rows, so the caller decides.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/graph/graph_conv.h"
#include "merc/nn/graph/rgcn_conv.h"
#include "merc/nn/sequence/matching_attention.h"
#include "merc/nn/sequence/sequence_encoder.h"

namespace merc::models {

// Runs a SequenceEncoder either packed (its own forward: padding never read, outputs 0 there) or,
// as GCNet's code does, on the whole padded batch: the backward direction starts at the padding and
// the outputs at padding are whatever the recurrence computes there (the reference keeps them).
// x: (B, T, in_dim); lengths: (B) int64 (read only when packed).
torch::Tensor run_sequence_encoder(nn::SequenceEncoder& encoder, const torch::Tensor& x, const torch::Tensor& lengths,
                                   bool pack);

struct GcnetGraphNetworkOptions {
  GcnetGraphNetworkOptions(int64_t in_dim, int64_t graph_dim, int64_t num_relations)
      : in_dim_(in_dim), graph_dim_(graph_dim), num_relations_(num_relations) {}
  TORCH_ARG(int64_t, in_dim);         // F
  TORCH_ARG(int64_t, graph_dim);      // G
  TORCH_ARG(int64_t, num_relations);  // of the RGCN layer
  TORCH_ARG(nn::RnnCell, cell) = nn::RnnCell::kLstm;
  TORCH_ARG(double, dropout) = 0.5;   // between the two recurrent layers
  TORCH_ARG(bool, time_attn) = false;
  TORCH_ARG(bool, pack) = false;      // false = GCNet's unpacked recurrent layer
};

class GcnetGraphNetworkImpl : public torch::nn::Cloneable<GcnetGraphNetworkImpl> {
 public:
  explicit GcnetGraphNetworkImpl(GcnetGraphNetworkOptions options);
  void reset() override;

  int64_t out_dim() const { return options.in_dim() + options.graph_dim(); }  // D_h

  // x: (N, F) nodes; edge_index (2, E), relation (E); positions: node_positions(lengths, T);
  // lengths: (B); utterance_mask: (B, T) bool. Returns (B, T, D_h), padding not zeroed.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& edge_index, const torch::Tensor& relation,
                        const torch::Tensor& positions, const torch::Tensor& lengths,
                        const torch::Tensor& utterance_mask);

  GcnetGraphNetworkOptions options;
  nn::RgcnConv rgcn{nullptr};
  nn::GraphConv graph_conv{nullptr};
  nn::SequenceEncoder sequence{nullptr};
  nn::MatchingAttention attention{nullptr};  // only with time_attn
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(GcnetGraphNetwork);

}  // namespace merc::models
