#pragma once
// dialogue_gcn: DialogueGCN (Ghosal, Majumder, Poria, Chhaya, Gelbukh, EMNLP 2019, "DialogueGCN:
// A Graph Convolutional Neural Network for Emotion Recognition in Conversation", §3):
//
//   1. u_i = W_p [x_text ; x_audio ; x_visual]_i + b_p       early fusion of the used, masked
//                                                             modalities (proj_dim; 0 = none)
//   2. g_i = BiGRU(u)_i                                       sequential context (2 * hidden_dim)
//   3. graph: utterance i receives edges from j in [i - window_past, i + window_future] of its
//      dialogue, relation = (speaker(j), speaker(i), j before i or not) (nn/graph/window_edges.h),
//      weights alpha_{j->i} = softmax_j(g_i^T W_e g_j) (Eq. 1, nn/graph/edge_attention.h)
//   4. h^1 = RGCN(g; alpha, relations), basis decomposition, self term (Eq. 2)
//      h^2 = GraphConv(h^1), unweighted sum over the same edges (Eq. 3)
//   5. y_i = W_o Dropout(ReLU(W_h [g_i ; h^2_i] + b_h)) + b_o  (Eq. 7-9; no nodal attention)
//
// Details from the public code (declare-lab/conv-emotion DialogueGCN, model.py and
// train_IEMOCAP.py): 2-layer bidirectional recurrent encoder with dropout between layers, 30
// bases, no nonlinearity between the two graph layers (the paper writes sigma; the code has
// none), GraphConv without edge weights, the classifier's ReLU + dropout, nodal attention off by
// default. Differences: the edge attention is normalised over each target's neighbourhood as in
// Eq. 1 (the code normalises over each source's window with position-indexed weights), and the
// input projection of step 1 is merc's addition so any modality mix has one input size.

#include <torch/nn/modules/linear.h>

#include "merc/models/model.h"
#include "merc/nn/graph/edge_attention.h"
#include "merc/nn/graph/graph_conv.h"
#include "merc/nn/graph/rgcn_conv.h"
#include "merc/nn/sequence/sequence_encoder.h"

namespace merc::models {

struct DialogueGcnConfig : ModelConfig {
  int64_t proj_dim = 100;
  std::string rnn = "gru";
  int64_t hidden_dim = 100;
  int64_t num_layers = 2;
  int64_t window_past = 10;
  int64_t window_future = 10;
  int64_t graph_hidden_dim = 100;
  int64_t num_bases = 30;
  int64_t classifier_hidden_dim = 100;
  double dropout = 0.5;
  void visit(FieldVisitor& v) override;
};

class DialogueGcnModel : public Model {
 public:
  DialogueGcnModel(const DialogueGcnConfig& config, const ModelDims& dims);
  // Returns logits (B, T, C) or (B, T, 1), zeros at padding; features["fused"] is [g ; h^2]
  // (B, T, 2 * hidden_dim + graph_hidden_dim), zeros at padding.
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

 private:
  DialogueGcnConfig config_;
  ModelDims dims_;
  torch::nn::Linear proj_{nullptr};  // absent when proj_dim = 0
  nn::SequenceEncoder context_{nullptr};
  nn::EdgeAttention edge_attention_{nullptr};
  nn::RgcnConv rgcn_{nullptr};
  nn::GraphConv graph_conv_{nullptr};
  torch::nn::Linear classifier_hidden_{nullptr};
  torch::nn::Linear output_{nullptr};
};

}  // namespace merc::models
