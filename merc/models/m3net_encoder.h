#pragma once
// The utterance encoders shared by M3Net (Chen et al., CVPR 2023; feiyuchen7/M3NET model.py,
// base_model GRU) and MoED (edm-anonymous/MoED model.py), method_reference.md §3.1 / §4.1:
//
//   text   x_t (B, T, text_layers * d) = text_layers RoBERTa layers r_1 .. r_n stored side by side
//          r_i <- Norm_i(r_i)                  norm: BN (BatchNorm1d per layer), LN (LayerNorm per
//                                              layer, affine), LN2 (LayerNorm over each padded
//                                              dialogue's (T, d) block, no affine) or none
//          U   = mean_i r_i
//          U   <- linear_l(U)                  (text_linear; off for MELD where d = D_g)
//          h_t = BiGRU(U)                      2 layers, D_g / 2 per direction, dropout between
//                                              layers, run on the padded batch (not packed)
//   audio  h_a = linear_a(x_a)                 no recurrent encoder (av_using_lstm = False)
//   visual h_v = linear_v(x_v)
//
// Each output is (B, T, D_g). A modality the model does not use has no encoder. text_layers = 1
// treats the text features as a single layer (e.g. the embedded MOSI 100-d text).
//
// Reproduced quirks, each with a switch (default = the reference):
//   norm_padding = true: BN and LN2 statistics include the padded zero rows of the batch (the
//     reference normalises the (B*T, d) reshape / the whole (T, d) block); false = real rows only.
//   pack_text = false: the GRU reads the padded batch, so the backward direction of a shorter
//     dialogue starts on padding; true packs the sequences (nn/sequence/sequence_encoder.h).

#include <string>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>

#include "merc/core/config.h"
#include "merc/models/model.h"
#include "merc/nn/sequence/sequence_encoder.h"

namespace merc::models {

struct M3netEncoderOptions {
  int64_t hidden_dim = 512;  // D_g
  int64_t text_layers = 4;
  bool text_linear = true;
  std::string norm = "BN";
  bool norm_padding = true;
  bool pack_text = false;
  double dropout = 0.5;  // GRU inter-layer dropout
};

// Declares the options as fields of the owning model's config (same names in m3net and moed).
void visit_encoder_fields(FieldVisitor& v, M3netEncoderOptions& o);

class M3netEncoderImpl : public torch::nn::Module {
 public:
  // `model` names the owner in error messages. Checks the options against dims (text dim
  // divisible by text_layers, even hidden_dim, known norm) -> merc::Error.
  M3netEncoderImpl(const M3netEncoderOptions& options, const ModelDims& dims, const char* model);
  // batch: checked, batch-major (model_inputs.h). Returns one (B, T, D_g) tensor per used
  // modality, in the order of `modalities`.
  std::vector<torch::Tensor> forward(const data::DialogueBatch& batch);

  std::vector<data::Modality> modalities;  // used modalities in order text, audio, visual
  M3netEncoderOptions options;

 private:
  torch::Tensor encode_text(const data::DialogueBatch& batch);
  torch::Tensor normalise_layer(const torch::Tensor& r, int64_t i, const torch::Tensor& mask);

  int64_t layer_dim_ = 0;
  std::vector<torch::nn::BatchNorm1d> bn_;
  std::vector<torch::nn::LayerNorm> ln_;
  torch::nn::Linear linear_l_{nullptr}, linear_a_{nullptr}, linear_v_{nullptr};
  torch::nn::GRU gru_{nullptr};              // pack_text = false
  nn::SequenceEncoder packed_gru_{nullptr};  // pack_text = true
};
TORCH_MODULE(M3netEncoder);

}  // namespace merc::models
