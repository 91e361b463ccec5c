#pragma once
// mmgcn: MMGCN (Hu, Liu, Zhao, Jin, ACL 2021, "MMGCN: Multimodal Fusion via Deep Graph Convolution
// Network for Emotion Recognition in Conversation"; public code hujingwen6666/MMGCN model.py
// DialogueGCNModel with base_model LSTM, graph_type MMGCN, mm_fusion_mthd concat_subsequently,
// model_mm.py MM_GCN, model_GCN.py GCNII_lyc, read for this port):
//
//   1. text: u = LSTM(W_l x_text + b_l) (2-layer bidirectional, rnn_hidden_dim per direction);
//      audio, visual: u = W_m x_m + b_m  (2 * rnn_hidden_dim); every modality gives (N, D) nodes,
//      D = 2 * rnn_hidden_dim
//   2. speaker embedding added to the text nodes: u_text += E[speaker]
//   3. graph over the K used modality blocks (nn/graph/mmgcn_graph.h): intra-modal fully connected
//      per dialogue (self loops included), inter-modal edges between the copies of one utterance,
//      angular-similarity weights, Â = D^-1/2 A D^-1/2
//   4. GCNII (nn/graph/gcnii_conv.h): x = Dropout([u_a ; u_v ; u_t]); h0 = ReLU(W_0 x + b_0);
//      h <- ReLU(GCNII_l(Dropout(h), Â, h0)) for l = 1..num_layers; g = [x ; Dropout(h)]
//      (residual concat, D + graph_hidden_dim per node)
//   5. per utterance: the K copies concatenated (block order audio, visual, text, as the public
//      code), y = W_o ReLU(Dropout(.)) + b_o
//
// Modality subsets: the graph simply has fewer blocks (one modality: only the intra-modal graph;
// the public code refuses fewer than two). Without text there is no speaker embedding.
//
// Code details: the public run.sh passes --Deep_GCN_nlayers 4 but the MMGCN branch hard-codes 64
// layers (num_layers = 64 here); the residual concat uses the dropped-out input x; gradients flow
// through the similarity weights of the graph. Quirk with a switch: packed_rnn = false runs the text
// LSTM over the padded batch like the public code (the backward direction starts on padding, so a
// dialogue's output depends on the batch's longest dialogue); true packs each dialogue.

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include "merc/models/model.h"
#include "merc/nn/graph/gcnii_conv.h"
#include "merc/nn/sequence/sequence_encoder.h"

namespace merc::models {

struct MmgcnConfig : ModelConfig {
  int64_t text_proj_dim = 200;
  int64_t rnn_hidden_dim = 100;
  std::string rnn = "lstm";
  int64_t rnn_layers = 2;
  bool packed_rnn = false;
  int64_t graph_hidden_dim = 100;
  int64_t num_layers = 64;
  double lambda = 0.5;
  double alpha = 0.1;
  bool variant = true;
  bool use_speaker = true;
  double dropout = 0.4;
  void visit(FieldVisitor& v) override;
};

class MmgcnModel : public Model {
 public:
  MmgcnModel(const MmgcnConfig& config, const ModelDims& dims);
  // logits (B, T, C) or (B, T, 1), zeros at padding; features["fused"] = the concatenated node
  // outputs (B, T, K (D + graph_hidden_dim)).
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

 private:
  torch::Tensor text_context(const data::DialogueBatch& batch);

  MmgcnConfig config_;
  ModelDims dims_;
  std::vector<int> blocks_;  // used modalities in block order audio, visual, text
  torch::nn::Linear text_proj_{nullptr};
  torch::nn::LSTM text_lstm_{nullptr};       // packed_rnn = false, rnn = lstm
  torch::nn::GRU text_gru_{nullptr};         // packed_rnn = false, rnn = gru
  nn::SequenceEncoder text_encoder_{nullptr};  // packed_rnn = true
  std::array<torch::nn::Linear, data::kNumModalities> proj_{nullptr, nullptr, nullptr};
  torch::nn::Embedding speaker_{nullptr};
  torch::nn::Linear graph_input_{nullptr};
  std::vector<nn::GcniiConv> convs_;
  torch::nn::Linear output_{nullptr};
};

}  // namespace merc::models
