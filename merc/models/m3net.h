#pragma once
// m3net: M3Net, "Multivariate, Multi-frequency and Multimodal: Rethinking Graph Neural Networks
// for Emotion Recognition in Conversation" (Chen et al., CVPR 2023; public code feiyuchen7/M3NET
// model.py, model_hyper.py, HypergraphConv.py, high_fre_conv.py; method_reference.md §3.1):
//
//   1. Encoders (m3net_encoder.h): per used modality h_m (B, T, D_g) -> node blocks (N, D_g);
//      the speaker embedding Embedding(num_speakers, D_g) is added to the text block (use_speaker).
//   2. x1 = fc1(nodes), Linear(D_g, graph_hidden_dim), nodes in block_layout.h order (l, a, v).
//   3. Hypergraph branch: per dialogue one hyperedge per modality block and one per utterance
//      ({l_t, a_t, v_t}); num_L HypergraphConv layers (nn/graph/hypergraph_conv.h) sharing the
//      learnable hyperedge weights w and EW weights.
//   4. Graph branch: edges = all ordered pairs inside each block of a dialogue + all ordered pairs
//      among the blocks of each utterance; g <- g + GatedEdgeConv_k(g), k = 1..num_K, g = x1.
//   5. Per utterance [hyper_l ; graph_l ; hyper_a ; graph_a ; hyper_v ; graph_v]
//      (M * 2 * graph_hidden_dim) -> dropout -> ReLU -> smax_fc.
//
// Any subset of modalities: M blocks instead of 3, M modality hyperedges, M-node utterance
// hyperedges; the head width follows M.
//
// Learnable hyperedge/EW weights: the reference allocates 1000 and 5200 ones and slices them by
// global hyperedge id / incidence count, which bounds a batch (<= 1000 hyperedges). Here their
// sizes are max_hyperedges / max_incidences (defaults well above IEMOCAP batches of 32); a batch
// beyond them is a clear error naming the option. Quirk (default, switch ew_by_node_id = false to
// correct): B_e sums EW_weight indexed by the NODE id of each incidence, not by the incidence.

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "merc/models/m3net_encoder.h"
#include "merc/models/model.h"
#include "merc/nn/graph/gated_edge_conv.h"
#include "merc/nn/graph/hypergraph_conv.h"

namespace merc::models {

struct M3netConfig : ModelConfig {
  M3netEncoderOptions encoder;
  int64_t graph_hidden_dim = 512;
  int64_t num_L = 3;
  int64_t num_K = 4;
  bool use_speaker = true;
  double head_dropout = 0.5;
  int64_t max_hyperedges = 8192;
  int64_t max_incidences = 32768;
  bool ew_by_node_id = true;
  void visit(FieldVisitor& v) override;
};

class M3netModel : public Model {
 public:
  M3netModel(const M3netConfig& config, const ModelDims& dims);
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

 private:
  M3netConfig config_;
  ModelDims dims_;
  int64_t M_ = 0;
  M3netEncoder encoder_{nullptr};
  torch::nn::Embedding speaker_embedding_{nullptr};
  torch::nn::Linear fc1_{nullptr}, smax_fc_{nullptr};
  torch::Tensor hyperedge_weight_, ew_weight_;
  std::vector<nn::HypergraphConv> hyper_convs_;
  std::vector<nn::GatedEdgeConv> graph_convs_;
};

}  // namespace merc::models
