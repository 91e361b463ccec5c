#pragma once
// comp: ComP (He, Zhu, Zhang, AAAI 2026, "Cross-modal Prompting for Balanced Incomplete
// Multi-modal Emotion Recognition"; public code WenjueHE/2026-AAAI-ComP ComP/model.py,
// train_mr.py, loss.py, utils.py; method_reference.md §5). Per used modality m, in the
// reference's order audio, text, visual, on a batch zero-padded to the fixed length S = seq_len:
//
//   1. proj_m = Dropout(Linear(D_m, H)(x_m))
//   2. disentangling encoders: shared_m = Mlp_s,m(proj_m), private_m = Mlp_p,m(proj_m),
//      rec_m = Mlp_d,m([shared_m ; private_m])            (Mlp = nn/gelu_mlp.h, hidden H)
//   3. two expert stacks per modality, block1_m and block2_m, depth/2 MoMKE attention layers each
//      (nn/expert_attention.h), keys restricted to the positions where m is available.
//   Stage 0 (paper's first stage, epoch < stage_epoch):
//   4. x_m = block2_m(block1_m(shared_m)), out_m = head_m(x_m); private branch
//      head_m(block2_m(block1_m(private_a))) (quirk: private_a for every m, private_branch); x_m
//      zeroed where m is missing.
//   Stage 1 (prompting and propagation):
//   5. round 1: (prompt_m, Pi_m) = PromptFormer_m(shared_m) (nn/prompt_former.h);
//      shared_m <- Linear(H + (U-1)P, H)([shared_m ; prompt_n for n != m]); x_m = block1_m(shared_m);
//      [shared_m ; r_{n->m} for n != m] = Mlp_rev,m(x_m)  (H -> H -> H + (U-1)P, split);
//      round 2: prompt'_m = PromptFormer2_m(shared_m; prototypes Pi_m);
//      mixed_{n->m} = lbd * r_{n->m} + (1 - lbd) * prompt'_n;
//      x_m = block2_m(Linear(H + (U-1)P, H)([shared_m ; mixed_{n->m}])); out_m = head_m(x_m).
//   6. coordinator: w = softmax(Mlp(U*H -> H -> U)([x_m])); x_joint = [w_m x_m] (not zeroed;
//      coordinator_zero_missing zeroes x_m where m is missing first).
//   Both stages:
//   7. hidden = x_joint + Dropout(ReLU(Linear(U*H, U*H)(x_joint))), logits = Linear(U*H, C)(hidden).
//
// Losses (comp_losses.h; returned as aux losses so the trainer's total is the reference's loss):
//   stage 0: task weight 0 (the fused head is computed but not trained);
//            unimodal = sum_m [L(out_m, y) + L_private(out_m_private)], disentangle = L_dis;
//            L_private = CE(1 - logits, y) (classification) / MSE(out, clamp(1.5 N(0, 1), -3, 3))
//            (regression, one noise draw per batch shared by the modalities).
//   stage 1: task loss (fused) weight 1; unimodal = 2 sum_m L(out_m, y) (the reference adds the
//            unimodal terms twice; unimodal_twice = false: once); reconstruction = MSE([rec_m], [proj_m]) over all S positions;
//            disentangle = L_dis.
// Gradient modulator (comp_modulator.h): in stage 1 training, forward puts the per-position
// weights in features["modulator_weights"] (U, S) and after_backward scales the gradient columns
// of each prop_former_m_1.proj_n.fc1.weight (modulator = on). The released code never fires
// (parameter-name mismatch): modulator = released (or off) leaves gradients untouched.
//
// Any non-empty subset of modalities works (U used): prompts come from the U-1 others; with one
// modality there is no prompt exchange (no prompt formers; propagation Linear(H, H)) and no
// modulation.
// Differences from the public code are listed in docs/models/comp.md.

#include <vector>

#include <torch/nn/modules/linear.h>

#include "merc/models/model.h"
#include "merc/nn/expert_attention.h"
#include "merc/nn/gelu_mlp.h"
#include "merc/nn/prompt_former.h"

namespace merc::models {

struct CompConfig : ModelConfig {
  int64_t hidden_dim = 256;
  int64_t depth = 4;
  int64_t num_heads = 2;
  double mlp_ratio = 1.0;
  double dropout = 0.5;
  double attn_dropout = 0.0;
  int64_t prompt_dim = 16;
  int64_t num_prototypes = 10;
  int64_t seq_len = 65;
  double lbd = 0.3;
  int64_t stage_epoch = 150;
  std::string private_branch = "released";  // released (private_a for all) | own
  std::string modulator = "on";             // on | released | off
  bool prompt_row_mask = true;
  bool unimodal_twice = true;              // stage-1 unimodal losses counted twice (reference) | once
  bool coordinator_zero_missing = false;   // zero missing positions before the coordinator (stage 0 does)
  std::string modulator_delta = "released";  // classification Delta: released (logit - class index) | probability
  void visit(FieldVisitor& v) override;
};

class CompModel : public Model {
 public:
  CompModel(const CompConfig& config, const ModelDims& dims);
  // Returns logits (B, T, C) or (B, T, 1) for the batch's own T (computed at seq_len), zeros at
  // padding; aux_losses while grad mode is on; features: "fused" (B, T, U*H), "unimodal" (B, T, U, C)
  // (the unimodal heads' outputs), in stage 1 "coordinator_weights" (B, T, U), and in stage-1
  // training with modulator = on "modulator_weights" (U, seq_len).
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

  int stage_for_epoch(int64_t epoch, int64_t num_epochs) const override;
  // Freezes (requires_grad = false) the parameters the stage does not train.
  void set_stage(int stage) override;
  std::vector<ParamGroup> parameter_groups(int stage) override;
  void after_backward(const ForwardContext& ctx, const ModelOutput& out) override;

  // The used modalities in the reference's order (audio, text, visual).
  const std::vector<data::Modality>& modalities() const { return mods_; }
  // The prototype Linear (S -> K) weight the modulator scales, per used modality (needs U >= 2).
  torch::Tensor modulated_weight(size_t i) const;

 private:
  struct Branch {  // one modality's modules
    torch::nn::Linear in_proj{nullptr}, head{nullptr}, prop1{nullptr}, prop2{nullptr};
    nn::GeluMlp shared_enc{nullptr}, private_enc{nullptr}, dec{nullptr}, rev{nullptr};
    nn::ExpertStack block1{nullptr}, block2{nullptr};
    nn::PromptFormer former1{nullptr}, former2{nullptr};
  };
  struct Encoded;
  std::vector<torch::Tensor> stage0(const Encoded& e, std::vector<torch::Tensor>& out_m,
                                    std::vector<torch::Tensor>& out_private);
  std::vector<torch::Tensor> stage1(const Encoded& e, std::vector<torch::Tensor>& out_m, torch::Tensor& weights);
  std::vector<torch::Tensor> stage_only_parameters() const;

  CompConfig config_;
  ModelDims dims_;
  std::vector<data::Modality> mods_;
  std::vector<Branch> branches_;
  nn::GeluMlp router_{nullptr};
  torch::nn::Linear proj1_{nullptr}, head_{nullptr};
};

}  // namespace merc::models
