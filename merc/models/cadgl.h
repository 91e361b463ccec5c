#pragma once
// cadgl: CADGL, "Context-Aware Dynamic Graph Learning for Multimodal Emotion Recognition with
// Missing Modalities" (ICASSP 2026 submission; premiree/CDAGL). The public repository is a skeleton
// (its train/evaluate scripts are placeholders), so this is built from the architecture figure, the
// public config and model skeleton, and the authors' deleted draft MMIN_DGODE (6872dbc:model.py,
// 47bc06e:train.py); method_reference.md §8. docs/models/cadgl.md says which part comes from which
// source and every choice taken where they are silent or disagree.
//
// Per utterance i of a dialogue, with the used modalities m in the draft's order a, v, t, λ_i^m = 1
// when m is present (after the missing-modality protocol), s_i the speaker:
//
//   1. h_i^m = λ_i^m enc_m(x_i^m)                      (B, T, H); enc_m = Linear -> ReLU -> Dropout
//                                                      (public skeleton) or the draft's MLP; a
//                                                      missing modality contributes zeros
//   2. u_i = Linear([h^a ‖ h^v ‖ h^t ‖ λ_i ‖ e(s_i)])    (B, T, H); λ only with `availability`
//   3. A = dynamic conversation graph per dialogue     (B, T, T) nn/graph/dynamic_conversation_graph.h
//      (same-speaker / cross-speaker weights decaying with |i - j|, cross weights scaled by the
//      availability similarity, self loops, row-normalised)
//   4. c = ODE_L ∘ ... ∘ ODE_1 (u)                      `num_layers` stacked graph neural ODE blocks
//      dh/dt = W2 tanh(W1 [h ‖ A h]) on t in [0, 1]    (nn/graph/graph_ode_block.h), or K Euler layers
//   5. k_i = keywords                                   learned: MLP([h_i^t ‖ c_{i-1}]) (the draft's
//                                                      simulated LLM), precomputed: Linear(semantic
//                                                      vector), none; times λ_i^t (no text, no keywords)
//   6. ĥ_i^m = f_rec^m([h_i^{m'} for m' != m ‖ k_i ‖ c_i ‖ e(s_i)])   3-layer MLP per modality
//      h̃_i^m = λ_i^m h_i^m + (1 - λ_i^m) ĥ_i^m          imagined where missing
//   7. z_i = [h̃^a ‖ h̃^v ‖ h̃^t ‖ k_i ‖ c_i]             (c_i with classifier_context; the draft omits it)
//      logits = W_o Dropout(ReLU(W_c z)) + W_skip z     the classifier with its skip path
//
// Auxiliary losses (already weighted, ModelOutput::aux_losses); recon and align whenever the batch
// has protocol-removed entries (also in evaluation, as GCNet's), consist in training only:
//   recon   = recon_weight · mean over (utterance, modality) entries the PROTOCOL removed of
//             mean_d |ĥ^m - enc_m(x_true^m)| (batch.unmasked_features, encoded without dropout; the
//             draft's L1); a modality
//             the data itself lacks has no target
//   align   = align_weight · mean |normalize(W_a h̃^a) - normalize(W_t h̃^t)| over utterances whose
//             audio was imagined (the draft's AudioCLIP alignment, 256-d)
//   consist = consist_weight · mean over same-label pairs i < j of the batch of (1 - cos(z_i, z_j))
//             (regression: the sign classes score >= 0 / < 0)

#include <array>
#include <vector>

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "merc/models/model.h"
#include "merc/nn/dropout.h"
#include "merc/nn/graph/graph_ode_block.h"

namespace merc::models {

struct CadglConfig : ModelConfig {
  // Encoders and widths (public configs/default.yaml: hidden_dim 512, dropout 0.3).
  int64_t hidden_dim = 512;
  std::string encoder = "skeleton";  // skeleton: Linear->ReLU->Dropout | draft: d->512->H MLP (text: Linear)
  int64_t speaker_dim = 64;          // speaker embedding width (unpublished)
  double dropout = 0.3;
  // Graph (draft DGODE.build_graph).
  double same_weight = 0.8;
  double cross_weight = 0.5;
  double decay = 0.1;
  int64_t graph_window = 0;    // > 0: only edges with |i - j| <= window; 0 = all pairs (draft)
  bool per_dialogue = true;    // false = the draft's one graph over the whole batch
  bool availability = true;    // λ in the node input and the availability similarity in the graph
  // Graph neural ODE.
  int64_t num_layers = 3;      // stacked graph ODE blocks (public config num_layers; figure: three graphs)
  std::string ode_method = "dopri5";
  double rtol = 1e-3;
  double atol = 1e-4;
  double step_size = 0.0;      // fixed-grid methods: 0 = one step over [0, 1]
  bool adjoint = false;
  int64_t discrete_steps = 0;  // > 0: "no ODE" ablation, K Euler layers per block
  // Keywords and imagination.
  std::string keywords = "learned";  // learned | precomputed | none
  bool imagination = true;
  int64_t imagination_hidden = 512;
  bool recon_detach_target = true;   // false = the draft: the target enc_m(x_true) also gets gradients
  bool classifier_context = true;    // false = the draft's classifier input [a ‖ v ‖ t ‖ keywords]
  // Losses (weights unpublished; chosen on validation, docs/results.md).
  double recon_weight = 1.0;
  bool align = true;
  double align_weight = 0.1;
  int64_t align_dim = 256;
  bool consist = true;
  double consist_weight = 0.1;
  void visit(FieldVisitor& v) override;
};

class CadglModel : public Model {
 public:
  CadglModel(const CadglConfig& config, const ModelDims& dims);
  // logits (B, T, C) or (B, T, 1), zeros at padding; aux_losses recon / align / consist (training);
  // features: "fused" z (B, T, D_z), "context" c (B, T, H), "imagined_<modality>" ĥ (B, T, H).
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

  // The ODE solves of the latest forward, summed over the stacked blocks (benchmarks).
  nn::OdeStats ode_stats() const;
  const std::vector<data::Modality>& order() const { return order_; }

 private:
  struct Encoded {
    std::vector<torch::Tensor> h;       // per used modality (order_), (B, T, H), zeros where missing
    std::vector<torch::Tensor> lambda;  // per used modality, (B, T, 1) float, 1 = present
  };
  struct Imagined {
    std::vector<torch::Tensor> imagined;   // ĥ per used modality (B, T, H)
    std::vector<torch::Tensor> completed;  // h̃ per used modality (B, T, H)
  };

  // enc_m(x) (B, T, H); `dropout` false = no dropout even in training (the reconstruction target).
  torch::Tensor encode_modality(size_t k, const torch::Tensor& x, bool dropout);
  Encoded encode(const data::DialogueBatch& batch);
  torch::Tensor context(const Encoded& e, const torch::Tensor& speaker, const data::DialogueBatch& batch);
  torch::Tensor keywords(const Encoded& e, const torch::Tensor& c, const data::DialogueBatch& batch);
  Imagined imagine(const Encoded& e, const torch::Tensor& k, const torch::Tensor& c, const torch::Tensor& speaker);
  torch::Tensor classify(const torch::Tensor& z);
  void add_losses(ModelOutput& out, const data::DialogueBatch& batch, const Encoded& e, const Imagined& im,
                  const torch::Tensor& z);

  CadglConfig config_;
  ModelDims dims_;
  std::vector<data::Modality> order_;  // used modalities in the draft's order a, v, t
  int64_t text_index_ = -1;            // position of text in order_, -1 when unused
  bool use_keywords_ = false;
  std::vector<torch::nn::Linear> enc1_, enc2_;  // enc2_ entries are null for one-layer encoders
  torch::nn::Embedding speaker_{nullptr};
  torch::nn::Linear node_in_{nullptr};
  std::vector<nn::GraphOdeBlock> ode_;
  torch::nn::Linear keyword1_{nullptr}, keyword2_{nullptr};
  std::vector<std::array<torch::nn::Linear, 3>> imagine_;
  torch::nn::Linear align_audio_{nullptr}, align_text_{nullptr};
  torch::nn::Linear classifier_{nullptr}, output_{nullptr}, skip_{nullptr};
  nn::Dropout dropout_{nullptr};
};

}  // namespace merc::models
