#pragma once
// momke: Mixture of Modality Knowledge Experts (Xu, Jiang, Liang, Shen, Wang, ACM MM 2024,
// "Leveraging Knowledge of Modality Experts for Incomplete Multimodal Learning"), as in the public
// code wxxv/MoMKE (MoMKE/model_expert_softmoe.py, modules/Attention_softmoe.py,
// train_transformer_expert_missing_softmoe.py). For each used modality m (order audio, text,
// visual, as the reference), with availability mask k_m (B, T) = modality present and real utterance:
//
//   p_m = Dropout(W_m x_m + b_m)                                   (D_e = hidden_dim)
//   E_e(p, k) = ExpertStack_e(p, k)                                depth ExpertAttention layers of
//                                                                   expert e, keys masked by k
// Stage 0 (epoch < stage_epoch), "unimodal training": each modality through its own expert,
//   y_m = E_m(p_m, k_m),  o_m = H_m y_m   (unimodal heads, C outputs)
//   loss = sum_m L(o_m, target)  (returned as aux_losses, task_loss_weight = 0)
// Stage 1 (epoch >= stage_epoch), "mixture of experts": every modality through EVERY expert with its
// own mask, mixed by a per-modality router on p_m,
//   w_m = softmax(Router_m(p_m))  (B, T, M),  y_m = sum_e w_m[e] E_e(p_m, k_m)
//   Router_m = Linear(D_e, D_e) -> GELU -> Dropout -> Linear(D_e, M) -> Dropout
//   loss = L(out, target) (the trainer's task loss)
// Both stages then fuse (in stage 0 the fusion head is not trained: its output is what the
// reference evaluates during its first stage):
//   y_m <- 0 where k_m is false;  z = [y_a ; y_t ; y_v]  (M * D_e)
//   h = z + Dropout(ReLU(W_f z + b_f));  out = W_o h + b_o   (C logits, or 1 score)
//
// With M < 3 used modalities there are only M experts, routers over M experts, and z is M * D_e
// wide; with all three it is exactly the reference.
//
// Training schedule (TrainingHooks): stage_for_epoch = epoch < stage_epoch ? 0 : 1. set_stage
// freezes (requires_grad false) what the reference's loss does not reach in that stage, and
// parameter_groups(stage) lists only the trainable part, so Adam never touches (or weight-decays)
// the rest, as PyTorch's Adam skips parameters whose grad is None:
//   stage 0: input projections, experts, unimodal heads;
//   stage 1: input projections, experts, routers, fusion layer and output head.
// The reference keeps one Adam across both stages; merc builds a new optimizer per stage (the
// engine's StageOptimizers), so the Adam moments of the projections and experts restart at
// stage_epoch.
//
// Reproduced quirks (docs/models/momke.md):
//  * stage transfer no-op: at the end of stage 0 the reference "loads the best unimodal experts"
//    (argmax of each unimodal head's train accuracy over the stage-0 epochs) with
//    model.state_dict().update(...), which does not modify the model (and its saved models are all
//    references to the same object). Nothing is copied here either (default). load_best_experts
//    = true does what was intended: the model tracks each unimodal head's train accuracy per epoch
//    (Acc-2 on non-zero scores for regression, accuracy for classification, over the batches as
//    they are trained, as the reference) and at stage 1 restores each expert from its best epoch.
//  * The stage-0 unimodal losses are over all real utterances (the reference's umask), also at
//    positions where the modality is missing (only possible when a protocol is applied in stage 0:
//    MoMKE's own protocol keeps stage 0 complete, protocol.from_stage = 1 in configs/models/momke.yaml).
//  * Attention masks include padding (the reference ANDs the availability mask with umask).

#include <array>
#include <vector>

#include <torch/nn/modules/linear.h>

#include "merc/models/model.h"
#include "merc/nn/expert_attention.h"
#include "merc/nn/gelu_mlp.h"

namespace merc::models {

struct MomkeConfig : ModelConfig {
  int64_t hidden_dim = 256;     // D_e (--hidden)
  int64_t depth = 4;            // expert layers (--depth)
  int64_t num_heads = 2;        // (--num_heads)
  double mlp_ratio = 1.0;       // expert and router Mlp hidden = D_e * mlp_ratio (build_model: mlp_ratio=1)
  double dropout = 0.5;         // input, Mlp, router and fusion dropout (--drop_rate)
  double attn_dropout = 0.0;    // attention-weight dropout (--attn_drop_rate)
  int64_t stage_epoch = 150;    // epochs of stage 0 (--stage_epoch; MOSI script 150)
  bool load_best_experts = false;  // false = the reference's no-op stage transfer
  void visit(FieldVisitor& v) override;
};

class MomkeModel : public Model {
 public:
  MomkeModel(const MomkeConfig& config, const ModelDims& dims);
  // logits (B, T, C) or (B, T, 1), zeros at padding. Stage 0: task_loss_weight 0 and aux_losses
  // "unimodal_<modality>" (one per used modality, unweighted: their sum is the reference's loss);
  // features "unimodal_<modality>" (B, T, C) = the unimodal heads' outputs. Stage 1: features
  // "router_weights" (B, T, M, M) = w_m for input modality m (third axis) over experts (fourth).
  // Both: features "joint" = z (B, T, M * D_e) (zero where a modality is missing) and "fused" = h.
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

  int stage_for_epoch(int64_t epoch, int64_t num_epochs) const override;
  void set_stage(int stage) override;
  std::vector<ParamGroup> parameter_groups(int stage) override;

  int stage() const { return stage_; }
  // Used modalities in the model's order (audio, text, visual, restricted to dims.use).
  const std::vector<data::Modality>& modalities() const { return modalities_; }

 private:
  std::vector<torch::Tensor> trainable(int stage);
  // load_best_experts: per-epoch unimodal train accuracy and the best experts so far.
  void track_unimodal_accuracy(const data::DialogueBatch& batch, const ForwardContext& ctx,
                               const std::vector<torch::Tensor>& outputs);
  void finish_tracked_epoch();

  MomkeConfig config_;
  ModelDims dims_;
  std::vector<data::Modality> modalities_;
  std::vector<torch::nn::Linear> in_proj_;
  std::vector<nn::ExpertStack> experts_;
  std::vector<torch::nn::Linear> unimodal_heads_;
  std::vector<nn::GeluMlp> routers_;
  torch::nn::Linear fusion_{nullptr}, head_{nullptr};
  int stage_ = 0;

  struct ExpertTracking {
    int64_t epoch = -1;                         // epoch being accumulated
    std::vector<double> correct, total;         // per modality, this epoch
    std::vector<double> best_acc;               // per modality, best epoch so far
    std::vector<std::vector<torch::Tensor>> best_state;  // per modality, its expert's parameters then
  } tracking_;
};

}  // namespace merc::models
