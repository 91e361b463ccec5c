#include "merc/models/bc_lstm.h"

#include <string>
#include <vector>

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"

namespace merc::models {

void BcLstmConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("rnn", rnn, "recurrent cell of the contextual layers: lstm (ACL 2017 code) or gru (later TF code)");
  v.field("hidden_dim", hidden_dim, "units per direction of every contextual BiLSTM");
  v.field("unimodal_dim", unimodal_dim, "width of each modality's tanh dense layer (its contextual feature)");
  v.field("fusion_dim", fusion_dim, "width of the fusion ReLU dense layer");
  v.field("input_dropout", input_dropout, "input dropout of each unimodal BiLSTM (one mask per sequence)");
  v.field("fusion_input_dropout", fusion_input_dropout, "input dropout of the fusion BiLSTM (one mask per sequence)");
  v.field("dropout", dropout, "dropout after each BiLSTM and each dense layer");
}

BcLstmModel::BcLstmModel(const BcLstmConfig& config, const ModelDims& dims)
    : Model("bc_lstm"), config_(config), dims_(dims) {
  check_dims(dims, "bc_lstm");
  const nn::RnnCell cell = nn::parse_rnn_cell(config.rnn);
  MERC_CHECK(config.hidden_dim > 0 && config.unimodal_dim > 0 && config.fusion_dim > 0,
             "bc_lstm: hidden_dim, unimodal_dim and fusion_dim must be positive, got {}, {}, {}", config.hidden_dim,
             config.unimodal_dim, config.fusion_dim);
  for (double p : {config.input_dropout, config.fusion_input_dropout, config.dropout})
    MERC_CHECK(p >= 0 && p < 1, "bc_lstm: dropouts must be in [0, 1), got {}", p);

  for (data::Modality m : data::kAllModalities) {
    const int i = data::index_of(m);
    if (!dims.use[i]) continue;
    const std::string name = data::modality_name(m);
    encoders_[i] = register_module(
        name + "_encoder", nn::SequenceEncoder(nn::SequenceEncoderOptions(dims.input_dims[i], config.hidden_dim)
                                                   .cell(cell)
                                                   .input_dropout(config.input_dropout)));
    unimodal_[i] = register_module(name + "_dense", torch::nn::Linear(encoders_[i]->out_dim(), config.unimodal_dim));
  }
  int64_t head_in = config.unimodal_dim;
  if (dims.num_used() > 1) {
    fusion_encoder_ = register_module(
        "fusion_encoder", nn::SequenceEncoder(nn::SequenceEncoderOptions(dims.num_used() * config.unimodal_dim,
                                                                         config.hidden_dim)
                                                  .cell(cell)
                                                  .input_dropout(config.fusion_input_dropout)));
    fusion_ = register_module("fusion_dense", torch::nn::Linear(fusion_encoder_->out_dim(), config.fusion_dim));
    head_in = config.fusion_dim;
  }
  output_ = register_module("output", torch::nn::Linear(head_in, dims.output_dim()));
}

ModelOutput BcLstmModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "bc_lstm");
  const double p = config_.dropout;
  const bool train = is_training();
  ModelOutput out;
  // 1. Contextual unimodal features: BiLSTM over each video's utterances, then tanh dense.
  std::vector<torch::Tensor> unimodal;
  for (data::Modality m : data::kAllModalities) {
    const int i = data::index_of(m);
    if (!dims_.use[i]) continue;
    auto context = encoders_[i](masked_modality(batch, m), batch.lengths);
    auto u = torch::tanh(unimodal_[i](torch::dropout(context, p, train)));
    out.features[data::modality_name(m)] = zero_padding(u, batch.utterance_mask);
    unimodal.push_back(u);
  }
  // 2. Hierarchical fusion: a second contextual BiLSTM over the concatenated unimodal features.
  torch::Tensor z = unimodal.front();
  if (fusion_encoder_) {
    auto context = fusion_encoder_(torch::cat(unimodal, 2), batch.lengths);
    z = torch::relu(fusion_(torch::dropout(context, p, train)));
  }
  // 3. Output layer.
  out.logits = zero_padding(output_(torch::dropout(z, p, train)), batch.utterance_mask);
  out.features["fused"] = zero_padding(z, batch.utterance_mask);
  return out;
}

}  // namespace merc::models
