#pragma once
// The contract every model shares (design.md "Contracts every model shares").
//
// A model reads a DialogueBatch (B dialogues padded to T utterances) and returns ModelOutput:
// logits (B, T, C) for classification or predictions (B, T, 1) for regression, plus already
// weighted auxiliary losses the trainer adds to the task loss. Data facts (feature dims, classes,
// speakers, task) come from ModelDims, built from the dataset's DatasetInfo, never from names.
//
// Multi-stage methods express their schedule through the TrainingHooks members of Model (stage per
// epoch, per-stage parameter groups, several optimisation substeps per batch, an after-backward
// hook) so the trainer never tests which model it runs.

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "merc/core/config.h"
#include "merc/data/batch.h"
#include "merc/data/dataset.h"

namespace merc::models {

struct ModelOutput {
  torch::Tensor logits;                             // (B, T, C) or (B, T, 1) for regression
  std::map<std::string, torch::Tensor> aux_losses;  // scalars, already weighted; the trainer sums them
  std::map<std::string, torch::Tensor> features;    // optional exports (e.g. "fused": (B, T, H))
  // Weight of the trainer's task loss in this forward (0 in a substep that only trains e.g. a
  // generator through its aux losses).
  double task_loss_weight = 1.0;
};

// What a model is built for, from the dataset (see model_dims()).
struct ModelDims {
  std::array<int64_t, data::kNumModalities> input_dims{};  // D_m, indexed by Modality
  std::array<bool, data::kNumModalities> use{};            // modalities the model reads
  data::Task task = data::Task::kClassification;
  int64_t num_classes = 0;   // classification: C (>= 2); regression: 0
  // The dataset's DatasetInfo::class_names (classification: C names; regression: the binary names
  // the score maps to), for models that write or read labels as words (HRG-SSA's label sentences).
  // Not part of ==: a run is evaluated on data whose classes match by count, as before.
  std::vector<std::string> class_names;
  int64_t num_speakers = 1;  // speaker slots (speaker ids are in [0, num_speakers))
  // K of DialogueBatch::semantic (DatasetInfo::semantic_dim); 0 = the data has no semantic vectors.
  // Part of the dims (and of ==) so that a run trained on them is evaluated on data that has them.
  int64_t semantic_dim = 0;
  int64_t output_dim() const { return task == data::Task::kRegression ? 1 : num_classes; }
  int64_t num_used() const;
  bool operator==(const ModelDims& o) const;
  // "text 100 + audio 73 -> 2 classes, 2 speakers"; with semantic vectors
  // "text 100 + audio 73 + semantic 384 -> 2 classes, 2 speakers".
  std::string describe() const;
};

// `modalities` lists names ("text", "audio", "visual", or letters "t", "a", "v"); empty = every
// modality the dataset has. A requested modality the dataset lacks, or no modality at all ->
// merc::Error naming it. `task` overrides info.task (e.g. MOSI binary labels as classification).
ModelDims model_dims(const data::DatasetInfo& info, const std::vector<std::string>& modalities,
                     data::Task task);

// Fields every model config has. A model's config derives from it and calls ModelConfig::visit
// first in its own visit().
struct ModelConfig : ConfigStruct {
  std::string name;
  std::vector<std::string> modalities;  // empty = all the dataset has
  void visit(FieldVisitor& v) override;
};

// Where the trainer is in the schedule; passed to every forward.
struct ForwardContext {
  int64_t epoch = 0;
  int stage = 0;    // from stage_for_epoch
  int substep = 0;  // in [0, substeps(stage))
};

// A named group of parameters with its own learning-rate multiplier.
struct ParamGroup {
  std::string name;
  std::vector<torch::Tensor> params;
  double lr_scale = 1.0;
  // Overrides train.weight_decay for this group (RoHyDR's discriminator optimiser: Adam with weight
  // decay 1e-5 while the main one has none); negative = the experiment's train.weight_decay.
  double weight_decay = -1.0;
};

// How one optimisation substep runs when a stage has several (substeps(stage) > 1).
struct SubstepPlan {
  // Index into parameter_groups(stage): the optimizer this substep steps. Substeps may share one
  // optimizer and its state (RoHyDR steps its main Adam in three of its four substeps).
  int optimizer = 0;
  // Whether train.clip_value / train.clip_norm apply before this substep's step (RoHyDR clips only
  // its task step).
  bool clip = true;
};

class Model : public torch::nn::Module {
 public:
  explicit Model(const std::string& name) : torch::nn::Module(name) {}
  virtual ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) = 0;

  // ---- TrainingHooks. Defaults: one stage, all parameters in one group, one substep. ----
  // The stage an epoch belongs to (e.g. ComP trains stage 0 then stage 1).
  virtual int stage_for_epoch(int64_t epoch, int64_t num_epochs) const { return 0; }
  // Called before the first batch of each epoch whose stage differs from the previous one.
  virtual void set_stage(int stage) {}
  // Parameter groups for `stage`. With substeps(stage) == 1 they become param groups of one
  // optimizer; with substeps(stage) == S > 1 each group is an optimizer of its own, and substep s
  // steps group substep_plan(stage, s).optimizer (by default group s, so S groups).
  virtual std::vector<ParamGroup> parameter_groups(int stage);
  virtual int substeps(int stage) const { return 1; }
  virtual SubstepPlan substep_plan(int stage, int substep) const { return SubstepPlan{substep, true}; }
  // Whether substep ctx.substep runs on this batch: each running substep is a fresh forward, its
  // own backward and one optimizer step. RoHyDR skips its recovery substeps on a batch with nothing
  // missing. At least one substep must run per batch (the trainer reports the last one's loss).
  virtual bool run_substep(const data::DialogueBatch& batch, const ForwardContext& ctx) const { return true; }
  // After loss.backward() and before clipping/stepping (gradient modulation).
  virtual void after_backward(const ForwardContext& ctx, const ModelOutput& out) {}
};

}  // namespace merc::models
