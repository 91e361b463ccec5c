#include "merc/models/m3net_encoder.h"

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"

namespace merc::models {

void visit_encoder_fields(FieldVisitor& v, M3netEncoderOptions& o) {
  v.field("hidden_dim", o.hidden_dim, "D_g: width of every utterance encoding (even: the bi-GRU has D_g/2 per direction)");
  v.field("text_layers", o.text_layers,
          "number of RoBERTa layers stored side by side in the text features (4 for the M3Net pickles' 4096-d text; "
          "1 = one layer)");
  v.field("text_linear", o.text_linear, "linear_l: project the averaged text to D_g before the GRU (off for MELD)");
  v.field("norm", o.norm, "text layer normalisation: BN, LN, LN2 or none (the published --norm values)");
  v.field("norm_padding", o.norm_padding,
          "quirk switch: true (reference) = BN/LN2 statistics include the padded zero rows; false = real utterances only");
  v.field("pack_text", o.pack_text,
          "quirk switch: false (reference) = the text GRU runs on the padded batch; true = packed sequences");
  v.field("dropout", o.dropout, "dropout between the two text GRU layers (the reference's --dropout)");
}

M3netEncoderImpl::M3netEncoderImpl(const M3netEncoderOptions& o, const ModelDims& dims, const char* model)
    : options(o) {
  MERC_CHECK(o.hidden_dim > 0 && o.hidden_dim % 2 == 0, "{}: hidden_dim must be positive and even, got {}", model,
             o.hidden_dim);
  MERC_CHECK(o.dropout >= 0 && o.dropout < 1, "{}: dropout must be in [0, 1), got {}", model, o.dropout);
  MERC_CHECK(o.norm == "BN" || o.norm == "LN" || o.norm == "LN2" || o.norm == "none",
             "{}: norm must be BN, LN, LN2 or none, got '{}'", model, o.norm);
  for (data::Modality m : data::kAllModalities)
    if (dims.use[static_cast<size_t>(m)]) modalities.push_back(m);
  const int64_t Dg = o.hidden_dim;
  if (dims.use[0]) {
    const int64_t Dt = dims.input_dims[0];
    MERC_CHECK(o.text_layers >= 1 && Dt % o.text_layers == 0,
               "{}: text_layers = {} must be >= 1 and divide the text dim {} (the layers are stored side by side)", model,
               o.text_layers, Dt);
    layer_dim_ = Dt / o.text_layers;
    for (int64_t i = 0; i < o.text_layers; ++i) {
      if (o.norm == "BN")
        bn_.push_back(register_module("norm_bn" + std::to_string(i), torch::nn::BatchNorm1d(layer_dim_)));
      if (o.norm == "LN")
        ln_.push_back(register_module("norm_ln" + std::to_string(i),
                                      torch::nn::LayerNorm(torch::nn::LayerNormOptions({layer_dim_}))));
    }
    int64_t gru_in = layer_dim_;
    if (o.text_linear) {
      linear_l_ = register_module("linear_l", torch::nn::Linear(layer_dim_, Dg));
      gru_in = Dg;
    }
    if (o.pack_text) {
      packed_gru_ = register_module("gru_l", nn::SequenceEncoder(nn::SequenceEncoderOptions(gru_in, Dg / 2)
                                                                     .cell(nn::RnnCell::kGru)
                                                                     .num_layers(2)
                                                                     .dropout(o.dropout)));
    } else {
      gru_ = register_module("gru_l", torch::nn::GRU(torch::nn::GRUOptions(gru_in, Dg / 2)
                                                         .num_layers(2)
                                                         .bidirectional(true)
                                                         .dropout(o.dropout)
                                                         .batch_first(true)));
    }
  }
  if (dims.use[1]) linear_a_ = register_module("linear_a", torch::nn::Linear(dims.input_dims[1], Dg));
  if (dims.use[2]) linear_v_ = register_module("linear_v", torch::nn::Linear(dims.input_dims[2], Dg));
}

torch::Tensor M3netEncoderImpl::normalise_layer(const torch::Tensor& r, int64_t i, const torch::Tensor& mask) {
  // r: (B, T, d); mask: (B, T, 1) float, 1 at real utterances.
  const int64_t B = r.size(0), T = r.size(1), d = r.size(2);
  if (options.norm == "BN") {
    auto& bn = bn_[static_cast<size_t>(i)];
    if (options.norm_padding) return bn(r.reshape({B * T, d})).view({B, T, d});
    const auto flat_mask = mask.reshape({B * T}).to(torch::kBool);
    const auto real = r.reshape({B * T, d}).index({flat_mask});
    auto out = torch::zeros({B * T, d}, r.options());
    return out.index_put({flat_mask}, bn(real)).view({B, T, d});
  }
  if (options.norm == "LN") return ln_[static_cast<size_t>(i)](r);
  if (options.norm == "LN2") {
    constexpr double kEps = 1e-5;  // torch LayerNorm's default eps, as in the reference
    if (options.norm_padding) return torch::layer_norm(r, {T, d}, {}, {}, kEps);
    const auto count = (mask.sum({1, 2}, true) * d).clamp_min(1.0);  // (B, 1, 1)
    const auto mean = (r * mask).sum({1, 2}, true) / count;
    const auto var = ((r - mean) * mask).pow(2).sum({1, 2}, true) / count;
    return (r - mean) / torch::sqrt(var + kEps) * mask;
  }
  return r;
}

torch::Tensor M3netEncoderImpl::encode_text(const data::DialogueBatch& batch) {
  const torch::Tensor x = masked_modality(batch, data::Modality::kText);
  const auto mask = batch.utterance_mask.unsqueeze(-1).to(x.scalar_type());
  torch::Tensor U;
  for (int64_t i = 0; i < options.text_layers; ++i) {
    const auto r = normalise_layer(x.narrow(2, i * layer_dim_, layer_dim_), i, mask);
    U = U.defined() ? U + r : r;
  }
  U = U / static_cast<double>(options.text_layers);
  if (linear_l_) U = linear_l_(U);
  if (packed_gru_) return packed_gru_(U, batch.lengths);
  return std::get<0>(gru_(U));
}

std::vector<torch::Tensor> M3netEncoderImpl::forward(const data::DialogueBatch& batch) {
  std::vector<torch::Tensor> out;
  for (data::Modality m : modalities) {
    if (m == data::Modality::kText)
      out.push_back(encode_text(batch));
    else if (m == data::Modality::kAudio)
      out.push_back(linear_a_(masked_modality(batch, m)));
    else
      out.push_back(linear_v_(masked_modality(batch, m)));
  }
  return out;
}

}  // namespace merc::models
