#include "merc/models/mlp.h"

#include <string>

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"

namespace merc::models {

void MlpConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("hidden_dim", hidden_dim, "width of each hidden layer");
  v.field("num_layers", num_layers, "number of Linear -> ReLU -> Dropout layers before the output (0 = linear model)");
  v.field("dropout", dropout, "dropout after each hidden layer");
}

MlpModel::MlpModel(const MlpConfig& config, const ModelDims& dims) : Model("mlp"), config_(config), dims_(dims) {
  check_dims(dims, "mlp");
  MERC_CHECK(config.hidden_dim > 0, "mlp: hidden_dim must be positive, got {}", config.hidden_dim);
  MERC_CHECK(config.num_layers >= 0, "mlp: num_layers must be >= 0, got {}", config.num_layers);
  MERC_CHECK(config.dropout >= 0 && config.dropout < 1, "mlp: dropout must be in [0, 1), got {}", config.dropout);
  int64_t in = fused_dim(dims);
  for (int64_t l = 0; l < config.num_layers; ++l) {
    hidden_.push_back(register_module("hidden" + std::to_string(l), torch::nn::Linear(in, config.hidden_dim)));
    in = config.hidden_dim;
  }
  output_ = register_module("output", torch::nn::Linear(in, dims.output_dim()));
}

ModelOutput MlpModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "mlp");
  // 1. Early fusion of the used, masked modalities.
  torch::Tensor h = fused_input(batch, dims_);
  // 2. Hidden layers, each utterance on its own.
  for (auto& layer : hidden_) h = torch::dropout(torch::relu(layer(h)), config_.dropout, is_training());
  // 3. Output layer.
  ModelOutput out;
  out.logits = zero_padding(output_(h), batch.utterance_mask);
  out.features["fused"] = zero_padding(h, batch.utterance_mask);
  return out;
}

}  // namespace merc::models
