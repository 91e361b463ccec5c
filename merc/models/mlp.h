#pragma once
// mlp: utterance-level early fusion without context, the baseline every contextual model must
// beat. Each utterance is classified from its own features only:
//
//   x = [x_text ; x_audio ; x_visual]   (used modalities, each times its modality mask)
//   h_0 = x,  h_l = Dropout(ReLU(W_l h_{l-1} + b_l))  for l = 1..num_layers,  y = W_o h_L + b_o
//
// No published paper; the defaults are merc's (configs/models/mlp.yaml).

#include <vector>

#include <torch/nn/modules/linear.h>

#include "merc/models/model.h"

namespace merc::models {

struct MlpConfig : ModelConfig {
  int64_t hidden_dim = 256;
  int64_t num_layers = 2;
  double dropout = 0.3;
  void visit(FieldVisitor& v) override;
};

class MlpModel : public Model {
 public:
  MlpModel(const MlpConfig& config, const ModelDims& dims);
  // Returns logits (B, T, C) or (B, T, 1) for regression, zeros at padding; features["fused"] is
  // the last hidden layer (B, T, hidden_dim) (the input itself when num_layers = 0).
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

 private:
  MlpConfig config_;
  ModelDims dims_;
  std::vector<torch::nn::Linear> hidden_;
  torch::nn::Linear output_{nullptr};
};

}  // namespace merc::models
