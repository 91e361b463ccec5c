#pragma once
// gcnet: GCNet, Graph Completion Network (Lian, Chen, Sun, Liu, Tao, TPAMI 2023, "GCNet: Graph
// Completion Network for Incomplete Multimodal Learning in Conversation", §3), the incomplete-
// modality baseline that ComP builds on:
//
//   1. x_i = [x_audio ; x_text ; x_visual]_i       the used modalities, masked (missing -> 0), in
//                                                  the reference's order a, t, v
//   2. c = BiLSTM_2layers(x)                       (B, T, 2 D_e), dropout between the layers; by
//                                                  default on the padded batch as the code does
//   3. on the N real utterances, two graphs with the same window edges (nn/graph/gcnet_edges.h):
//      temporal (3 relations: past / now / future) and speaker (M^2 relations), each through its
//      own GraphNetwork (models/gcnet_graph_network.h: RGCN -> GraphConv -> [c ; h] -> BiLSTM ->
//      optional MatchingAttention -> ReLU(Linear)), each giving (B, T, D_h), D_h = 2 D_e + G
//   4. hidden = hidden_temporal + hidden_speaker   (the code adds the two branches)
//   5. logits = smax_fc(hidden)                    (C classes, or 1 for regression)
//      recon  = linear_rec(hidden)                 (B, T, dim of x): the completed input
//   6. aux loss "recon" = recon_weight * L_rec      (nn/loss/masked_reconstruction_loss.h): squared
//      error on the entries the missing-modality protocol dropped, per modality / its dim, summed,
//      / real utterances. The targets are the batch's unmasked_features (set by apply_missing);
//      without a protocol nothing is missing and the loss is 0.
//
// Public code read: zeroQiaoba/GCNet gcnet/model.py, graph.py, module.py, loss.py,
// train_gcnet.py. Every reproduced quirk has a switch (docs/models/gcnet.md): pack (the unpacked
// recurrent layers), recon_reference_rows (the loss's utterance mask read in the wrong row order),
// reccls (classify from the reconstruction), window direction (gcnet_edges.h).

#include <torch/nn/modules/linear.h>

#include "merc/models/gcnet_graph_network.h"
#include "merc/models/model.h"
#include "merc/nn/sequence/sequence_encoder.h"

namespace merc::models {

struct GcnetConfig : ModelConfig {
  std::string rnn = "lstm";
  int64_t hidden_dim = 200;
  int64_t graph_hidden_dim = 0;
  int64_t window_past = 2;
  int64_t window_future = 2;
  bool time_attn = false;
  double dropout = 0.5;
  bool pack = false;
  bool loss_recon = true;
  double recon_weight = 1.0;
  bool recon_reference_rows = false;
  bool reccls = false;
  // Importing the reference's checkpoints only (merc/models/upstream/gcnet_names.cpp); the model
  // itself never reads these. GCNet numbers the relations by iterating a Python set of type names,
  // so the ids in a checkpoint depend on the PYTHONHASHSEED of the run that wrote it.
  std::vector<std::string> upstream_temporal_relations = {"past", "now", "future"};  // the reference's id order
  std::vector<std::string> upstream_speaker_relations;  // e.g. 01,00,11,10; empty = merc's order 00,01,10,11
  std::string upstream_graph_conv = "lin_rel";  // PyG GraphConv names: lin_rel (>= 2.0.2) | lin_l (older)
  void visit(FieldVisitor& v) override;
};

class GcnetModel : public Model {
 public:
  GcnetModel(const GcnetConfig& config, const ModelDims& dims);
  // logits (B, T, C) or (B, T, 1), zeros at padding; aux_losses["recon"] when loss_recon;
  // features["fused"] = hidden (B, T, D_h) and features["reconstruction"] (B, T, input_dim()),
  // zeros at padding.
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

  int64_t input_dim() const;  // width of x (used modalities in the order a, t, v)

 private:
  // hidden (B, T, D_h), padding not zeroed, from the input x (B, T, input_dim()).
  torch::Tensor encode(const torch::Tensor& x, const data::DialogueBatch& batch, const torch::Tensor& positions);

  GcnetConfig config_;
  ModelDims dims_;
  std::vector<data::Modality> order_;  // used modalities in the order a, t, v
  nn::SequenceEncoder encoder_{nullptr};
  GcnetGraphNetwork temporal_{nullptr};
  GcnetGraphNetwork speaker_{nullptr};
  torch::nn::Linear smax_fc_{nullptr};
  torch::nn::Linear linear_rec_{nullptr};
};

}  // namespace merc::models
