#pragma once
// bc_lstm: bidirectional contextual LSTM with hierarchical fusion (Poria, Cambria, Hazarika,
// Mazumder, Zadeh, Morency, ACL 2017, "Context-Dependent Sentiment Analysis in User-Generated
// Videos", Figure 2 / §3.3). For each used modality m, over the utterances of one video/dialogue
// (packed, so padding is never read):
//
//   c^m_t = BiLSTM_m(InputDropout(x^m))_t                         (2 * hidden_dim)
//   u^m_t = tanh(W_m Dropout(c^m_t) + b_m)                         (unimodal_dim)
//
// then hierarchical fusion of the unimodal contextual features:
//
//   c_t = BiLSTM_f(InputDropout_f([u^text_t ; u^audio_t ; u^visual_t]))_t
//   z_t = ReLU(W_f Dropout(c_t) + b_f)                             (fusion_dim)
//   y_t = W_o Dropout(z_t) + b_o                                   (C logits, or 1 score)
//
// With a single modality there is nothing to fuse and the head sits on u^m directly
// (y_t = W_o Dropout(u^m_t) + b_o), which is the paper's unimodal network.
//
// Sizes and dropouts follow the authors' Keras code (declare-lab/contextual-utterance-level-
// multimodal-sentiment-analysis, lstm.py): Bidirectional(LSTM(300, dropout=0.6)) -> Dropout(0.9)
// -> Dense(100, tanh) -> Dropout(0.9) per modality; Bidirectional(LSTM(300, dropout=0.4)) ->
// Dropout(0.9) -> Dense(500, relu) -> Dropout(0.9) -> Dense(2) for fusion. Keras' LSTM `dropout`
// is input dropout with one mask per sequence (SequenceEncoder's input_dropout).
//
// Difference from the paper: trained end to end (one model, one optimizer, the task loss on the
// fused output) instead of first training each unimodal network with its own softmax and then
// the fusion network on their frozen penultimate features. Keras' LSTM uses a hard sigmoid for
// its gates and Glorot/orthogonal initialisation; this uses torch's LSTM (sigmoid, uniform).

#include <array>

#include <torch/nn/modules/linear.h>

#include "merc/models/model.h"
#include "merc/nn/sequence/sequence_encoder.h"

namespace merc::models {

struct BcLstmConfig : ModelConfig {
  std::string rnn = "lstm";
  int64_t hidden_dim = 300;
  int64_t unimodal_dim = 100;
  int64_t fusion_dim = 500;
  double input_dropout = 0.6;
  double fusion_input_dropout = 0.4;
  double dropout = 0.9;
  void visit(FieldVisitor& v) override;
};

class BcLstmModel : public Model {
 public:
  BcLstmModel(const BcLstmConfig& config, const ModelDims& dims);
  // Returns logits (B, T, C) or (B, T, 1), zeros at padding. features: "fused" (B, T, fusion_dim)
  // (or the unimodal feature with one modality), "<modality>" (B, T, unimodal_dim) per used one.
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

 private:
  BcLstmConfig config_;
  ModelDims dims_;
  std::array<nn::SequenceEncoder, data::kNumModalities> encoders_{nullptr, nullptr, nullptr};
  std::array<torch::nn::Linear, data::kNumModalities> unimodal_{nullptr, nullptr, nullptr};
  nn::SequenceEncoder fusion_encoder_{nullptr};  // only with >= 2 modalities
  torch::nn::Linear fusion_{nullptr};
  torch::nn::Linear output_{nullptr};
};

}  // namespace merc::models
