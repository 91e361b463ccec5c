#pragma once
// rohydr: RoHyDR, "Robust Hybrid Diffusion Recovery for Incomplete Multimodal Emotion Recognition"
// (Jin et al., arXiv 2505.17501; Siowllience/RoHyDR, trains/mainNets/model/rohydr.py and
// trains/mainNets/ROHYDR.py; method_reference.md §6). docs/models/rohydr.md lists what is
// reproduced, every release quirk and its switch, and where merc's defaults differ.
//
// Each real utterance is one sample (as MMSA's clips). Per used modality m its input is a sequence
// x_m (N, D_m, L): with `sequences` the utterance's steps (DialogueBatch::sequence, zero-padded or
// cut to seq_len), else its one feature vector (L = 1). With the used modalities' projections p_m = Conv1d_k(x_m) (N, d, L - k + 1):
//
//   1. Unimodal recovery, for each missing m of a row: a condition from the available projections
//      (one available: its p; two: cond_m = Conv1d_1([p_x ‖ p_y]); none: zeros), a diffusion
//      generator gen_m samples from noise given it (DiT + DDIM, or the older VE-SDE score net with
//      Euler-Maruyama), and the unimodal reconstructor rec_m (RCAN) refines the sample:
//      p̂_m = rec_m(gen_m.sample(cond)). Losses on protocol-removed entries (the target is the
//      projection of the true input, batch.unmasked_features): L_diff,m (ε-MSE / DSM) and
//      L_rec = MSE(p̂_m, p_m^true).
//   2. Fusion (MulT): h_m = mem_m([cross(m ← n) for other used n])[-1], F = [h_m ...] (N, F_dim);
//      F_lm from the completed projections, F_gt (training only) from the true ones.
//   3. Multimodal fusion recovery: a reconstructor R (MLP with BatchNorm, tanh) and a discriminator
//      D (BatchNorm, MLP, sigmoid); rows with a missing modality use R(F_lm).
//   4. Head: o = proj2(Dropout(ReLU(proj1(F)))) + F, ŷ = out(o).
//
// Training schedule (TrainingHooks): stage 0 (`pretrain_epochs`, complete modalities with
// protocol.from_stage 1) trains the backbone on the task: the checkpoint the release loads but
// never published. Stage 1 runs per batch the four optimisation substeps of ROHYDR.do_train:
//   0 unimodal recovery  (L_diff + λ_g L_rec) / (1 + λ_g)                   main optimizer
//   1 discriminator      d_weight [BCE(D(F_gt), 1) + BCE(D(F_lm), 0)] (detached)   D's optimizer
//   2 generator          λ_al BCE(D(R(F_lm)), 1) + (1 - λ_al) L1(F_gt, R(F_lm))   main optimizer
//   3 task               (1 - λ_c) L(ŷ(F_gt), y) + λ_c L(ŷ(F'_lm), y), clipped   main optimizer
// substeps 0-2 only on batches with a protocol-removed entry. Substep 2 reuses substep 1's
// forward, as the release does (one forward for its stage 2): the model keeps F_lm and F_gt of
// substep 1 and D is applied again after its own step.

#include <array>
#include <string>
#include <vector>

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/container/sequential.h>

#include "merc/models/model.h"
#include "merc/nn/diffusion/ddim_sampler.h"
#include "merc/nn/diffusion/dit.h"
#include "merc/nn/diffusion/noise_schedule.h"
#include "merc/nn/diffusion/score_sde.h"
#include "merc/nn/rcan1d.h"
#include "merc/nn/sequence/cross_modal_transformer.h"

namespace merc::models {

struct RohydrConfig : ModelConfig {
  // Backbone (config.json, MOSI block).
  int64_t d_model = 32;           // dst_feature_dim
  int64_t num_heads = 8;
  int64_t layers = 4;             // nlevels: cross-modal encoders; memory encoders max(layers, 3)
  bool sequences = false;         // read per-utterance sequences (data.sequences: true), else one vector each
  int64_t proj_kernel = 0;        // conv1d_kernel_size_*; 0 = 3 on sequences, 1 on one vector per utterance
  int64_t seq_len = 50;           // sequences are padded / cut to this (MMSA's aligned 50)
  double text_dropout = 0.5;
  double attn_dropout = 0.5;
  double relu_dropout = 0.5;
  double res_dropout = 0.5;
  double embed_dropout = 0.5;
  double output_dropout = 0.5;
  bool attn_mask = true;
  // Unimodal recovery.
  std::string generator = "dit";  // dit | score_sde | none (reconstructor only: rec_m(cond))
  int64_t dit_hidden = 64;
  int64_t dit_depth = 6;
  int64_t dit_heads = 16;
  int64_t train_timesteps = 1000;
  int64_t sampling_steps = 50;
  std::string ddim_schedule = "matched";  // matched: DDIM over the training schedule | release: a 50-step schedule
  bool ddim_clip_sample = false;          // release (diffusers default): x0 clipped to [-1, 1]
  int64_t sde_steps = 100;                // score_sde: Euler-Maruyama steps
  bool backprop_through_sampler = true;   // release: L_rec back-propagates through every sampling step
  int64_t rec_blocks = 20;
  int64_t rec_reduction = 16;
  // Fusion recovery.
  bool adversarial = true;                // false = no R, no D (ablation)
  int64_t rec_hidden1 = 80;
  int64_t rec_hidden2 = 96;
  double rec_dropout = 0.4;
  int64_t disc_hidden1 = 128;
  int64_t disc_hidden2 = 64;
  // Losses and optimisation.
  double lambda_g = 1.0;
  double lambda_al = 0.5;
  double lambda_c = 0.4;
  double d_weight = 0.1;
  double disc_weight_decay = 1e-5;
  bool disc_in_main_optimizer = false;    // release: the main Adam also holds (and steps) D
  int64_t pretrain_epochs = 10;           // stage 0 on complete modalities
  bool freeze_projections = true;         // release: projections under no_grad (trained in stage 0 only)
  bool redraw_kept_per_forward = false;   // release: which modalities are kept is redrawn in every forward
  void visit(FieldVisitor& v) override;
};

class RohydrModel : public Model {
 public:
  RohydrModel(const RohydrConfig& config, const ModelDims& dims);
  // logits (B, T, C) or (B, T, 1), zeros at padding; in training the substep's losses as
  // aux_losses; features "fused" F'_lm (B, T, F_dim).
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

  int stage_for_epoch(int64_t epoch, int64_t num_epochs) const override;
  void set_stage(int stage) override { stage_ = stage; }
  std::vector<ParamGroup> parameter_groups(int stage) override;
  int substeps(int stage) const override { return stage == 0 ? 1 : 4; }
  SubstepPlan substep_plan(int stage, int substep) const override;
  bool run_substep(const data::DialogueBatch& batch, const ForwardContext& ctx) const override;

  const std::vector<data::Modality>& order() const { return order_; }
  int64_t fusion_dim() const { return fusion_dim_; }
  // The DDIM sampler every DiT generator samples with (ddim_schedule, ddim_clip_sample).
  const nn::DdimSampler& sampler() const { return *sampler_; }
  // Wall seconds spent in the generators' sampling loops since the last reset (benchmarks).
  double sampling_seconds() const { return sampling_seconds_; }
  void reset_sampling_seconds() { sampling_seconds_ = 0; }

  // Per used modality (order()), the rows of one forward, exposed for tests and benchmarks.
  struct Rows {
    torch::Tensor index;                  // (N) int64: flat b * T + t of each real utterance
    std::vector<torch::Tensor> x;         // (N, D_m, L) masked input
    std::vector<torch::Tensor> x_true;    // (N, D_m, L) unmasked input (training), else undefined
    std::vector<torch::Tensor> avail;     // (N) bool: present in the batch
    std::vector<torch::Tensor> target;    // (N) bool: removed by the protocol, true value known
  };
  Rows rows(const data::DialogueBatch& batch) const;
  // The release's per-forward redraw (redraw_kept_per_forward): rows whose every used modality is
  // known keep their number of missing modalities, which ones is drawn anew.
  Rows redraw_kept(Rows r) const;
  // Evaluation noise (K, c, l) float32 on the batch's device for the flat rows `flat` (K) int64
  // (b * T + t) of used modality k: each row from its own generator seeded by (dialogue id,
  // position, modality), so a prediction does not depend on its batch mates.
  torch::Tensor eval_noise(const data::DialogueBatch& batch, const torch::Tensor& flat, size_t k, int64_t c,
                           int64_t l) const;

 private:
  struct Recovery {
    std::vector<torch::Tensor> completed;  // (N, d, L') p_m with missing rows recovered
    std::vector<torch::Tensor> truth;      // (N, d, L') projections of the true inputs (training)
    torch::Tensor diffusion_loss;          // scalar sum over modalities of L_diff,m
    torch::Tensor rec_loss;                // scalar sum over modalities of L_rec,m
    bool any_loss = false;
  };
  // One modality's input rows: features (B, T, D) or sequences (B, T, L_m, D) -> (N, D, L) for the
  // flat rows `index` (N); sequences zero-padded or cut to seq_len.
  torch::Tensor utterance_input(const torch::Tensor& x, const torch::Tensor& index) const;
  torch::Tensor project(size_t k, const torch::Tensor& x, bool frozen);
  torch::Tensor condition(size_t k, const std::vector<torch::Tensor>& p, const torch::Tensor& rows,
                          const std::vector<torch::Tensor>& avail);
  // rec_m(gen_m.sample(cond)); `noise` (K, d, L') the initial sample, undefined = drawn by the generator.
  torch::Tensor generate(size_t k, const torch::Tensor& cond, const torch::Tensor& noise);
  torch::Tensor generator_loss(size_t k, const torch::Tensor& target, const torch::Tensor& cond);
  Recovery recover(const data::DialogueBatch& batch, const Rows& r, bool want_losses, bool sample);
  torch::Tensor fuse(const std::vector<torch::Tensor>& p);  // (N, d, L') per modality -> (N, F_dim)
  torch::Tensor head(const torch::Tensor& f);               // (N, F_dim) -> (N, out)
  torch::Tensor task_loss(const torch::Tensor& y, const data::DialogueBatch& batch, const torch::Tensor& index) const;
  torch::Tensor scatter_rows(const torch::Tensor& y, const data::DialogueBatch& batch, const torch::Tensor& index) const;

  ModelOutput forward_stage0(const data::DialogueBatch& batch, const Rows& r);
  ModelOutput forward_eval(const data::DialogueBatch& batch, const Rows& r);
  ModelOutput forward_recovery(const data::DialogueBatch& batch, const Rows& r);
  ModelOutput forward_discriminator(const data::DialogueBatch& batch, const Rows& r);
  ModelOutput forward_generator(const data::DialogueBatch& batch);
  ModelOutput forward_task(const data::DialogueBatch& batch, const Rows& r);

  RohydrConfig config_;
  ModelDims dims_;
  std::vector<data::Modality> order_;  // used modalities, text, audio, visual
  int64_t kernel_ = 1;
  int64_t fusion_dim_ = 0;
  int stage_ = 0;
  std::vector<torch::nn::Conv1d> proj_;            // per used modality, D_m -> d, no bias
  std::vector<torch::nn::Conv1d> cond_;            // per used modality m: [p_x ‖ p_y] -> d (3 used)
  std::vector<nn::DitDenoiser> dit_;
  std::vector<nn::ScoreNet> score_;
  std::vector<nn::UnimodalReconstructor> rec_;
  std::vector<std::vector<nn::CrossModalTransformer>> cross_;  // [m][j]: m <- j-th other used modality
  std::vector<nn::CrossModalTransformer> mem_;
  torch::nn::Linear proj1_{nullptr}, proj2_{nullptr}, out_{nullptr};
  torch::nn::Sequential fusion_rec_{nullptr}, disc_{nullptr};
  std::unique_ptr<nn::NoiseSchedule> train_schedule_;
  std::unique_ptr<nn::DdimSampler> sampler_;
  // Substep 1's fused features, reused by substep 2 (the release's one stage-2 forward).
  torch::Tensor cached_lm_, cached_gt_;
  double sampling_seconds_ = 0;
};

}  // namespace merc::models
