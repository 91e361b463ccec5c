#pragma once
// moed: MoED, "Fusing Modalities and Emotional Dynamics: A Two-Stage Graph-based Framework for
// ERC" (public code edm-anonymous/MoED, model.py, model_graph.py, gcn.py, utils.py; no paper
// text was available, see method_reference.md §4):
//
//   1. Encoders (m3net_encoder.h): per used modality h_m (B, T, D_g); the multimodal node
//      u = linear_u([h_l ; h_a ; h_v]) (Linear(M * D_g, D_g) over the used modalities).
//   2. Speaker embedding s = Embedding(num_speakers, D_g)(speaker), added to node blocks by the
//      use_speaker letters: b/c/d/e -> l/a/v/u of ECGNN, f/g/h/i -> l/a/v/u of EIGNN.
//   3. ECGNN (context graph, moed_graph.h edges): h^0 = fc2(nodes),
//      h <- GatedEdgeConv_k(h) + epsilon * h^0 for k = 1..num_K.
//   4. EIGNN (interaction graph): g^0 = fc1(nodes), g <- norm_conv(g) + epsilon2 * g^0 for
//      l = 1..num_L (nn/graph/gated_edge_conv.h).
//   5. Fusion: z = [EIGNN u rows ; ECGNN u rows] (multimodal_node = graph_type = both);
//      graph_type EIG / ECG keeps one graph's u rows; multimodal_node EIG / ECG builds u in one
//      graph only and concatenates the other graph's modality rows with it; multimodal_node ''
//      ("w/o multimodal node") builds no u block at all.
//   6. logits = smax_fc(z) (no dropout, no nonlinearity: the reference's dropout_ is unused; its
//      only dropout is between the text GRU layers).
//
// Any subset of modalities: a missing modality has no block (the graphs have M or M + 1 blocks),
// u is built from the used ones, intra-utterance edges join the used modality blocks.
//
// Reproduced code quirks (default) and their switches (docs/models/moed.md):
//   speaker_in_place   b/c/d/e also reach EIGNN (the reference adds in place)
//   skip_first_sender  each speaker's first utterance sends no EIGNN speaker edge
//   temporal_duplicates  ECGNN temporal edges carry the released code's multiplicities
//   directed_edge_letter_quirk  partial directed_edge letters are looked up by position
//   fusion_row_quirk   multimodal_node ECG/EIG/'': u rows read from the start of the batch
//   norm_padding / pack_text  (encoder, m3net_encoder.h)

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "merc/models/m3net_encoder.h"
#include "merc/models/model.h"
#include "merc/models/moed_graph.h"
#include "merc/nn/graph/gated_edge_conv.h"

namespace merc::models {

struct MoedConfig : ModelConfig {
  M3netEncoderOptions encoder;
  int64_t graph_hidden_dim = 512;
  std::string modals;  // letter order of --modals for the directed_edge quirk ("" = avl order)
  int64_t num_L = 6;
  int64_t num_K = 3;
  int64_t window_spk = 10;
  int64_t window_spk_f = -1;
  int64_t window_dir = 1;
  int64_t window_dir_f = -1;
  double epsilon = 1.0;
  double epsilon2 = 1.0;
  std::string use_speaker = "bh";
  std::string multimodal_node = "both";
  std::string graph_type = "both";
  std::string directed_edge = "avl";
  std::string single_edge;
  bool speaker_in_place = true;
  bool skip_first_sender = true;
  bool temporal_duplicates = true;
  bool directed_edge_letter_quirk = true;
  bool fusion_row_quirk = true;
  void visit(FieldVisitor& v) override;
  MoedGraphOptions graph_options() const;
};

class MoedModel : public Model {
 public:
  MoedModel(const MoedConfig& config, const ModelDims& dims);
  // logits (B, T, C) or (B, T, 1), zeros at padding; features["fused"] = z (B, T, head width).
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

  // The two graphs' edge lists for a batch (for tests and the benchmark).
  struct Graphs {
    nn::BlockLayout ecg_layout, eig_layout;
    nn::EdgeList ecg, eig;
  };
  Graphs build_graphs(const data::DialogueBatch& batch) const;
  int64_t head_dim() const { return head_dim_; }

 private:
  MoedConfig config_;
  ModelDims dims_;
  int64_t M_ = 0;             // used modalities
  bool u_in_ecg_ = true, u_in_eig_ = true;
  std::vector<int64_t> sources_;  // directed-edge source blocks
  int64_t head_dim_ = 0;
  M3netEncoder encoder_{nullptr};
  torch::nn::Linear linear_u_{nullptr}, fc1_{nullptr}, fc2_{nullptr}, smax_fc_{nullptr};
  torch::nn::Embedding speaker_embedding_{nullptr};
  std::vector<nn::GatedEdgeConv> ecg_convs_;
};

}  // namespace merc::models
