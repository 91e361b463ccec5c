#pragma once
// THE task-loss table. A loss reads the model output and the batch targets and returns the mean
// over real, labelled utterances (padding, label -1 and NaN scores are excluded), so a batch's loss
// does not depend on how much padding it carries.

#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "merc/data/batch.h"
#include "merc/data/dataset.h"

namespace merc::train {

// Settings a loss may read (from train.class_weights / train.focal_*; see TrainConfig).
struct LossOptions {
  // Per-class weights w_c (empty = none). Classification losses then take the weighted mean
  // sum_i w_{y_i} l_i / sum_i w_{y_i}, torch's NLLLoss(weight) semantics (M3Net/MoED/MMGCN's
  // inverse-frequency IEMOCAP weights). The count must equal the number of classes.
  std::vector<double> class_weights;
  double focal_gamma = 2.5;  // focal_moed: gamma (M3Net/MoED FocalLoss default)
  double focal_alpha = 1.0;  // focal_moed: alpha
};

struct LossEntry {
  std::string name;
  std::string description;
  data::Task task;  // which task it applies to
  // output: (B, T, C) logits or (B, T, 1) predictions; returns a scalar.
  std::function<torch::Tensor(const torch::Tensor& output, const data::DialogueBatch& batch,
                              const LossOptions& options)>
      compute;
};

// A registered loss bound to its options: what the trainer and evaluation call.
struct TaskLoss {
  const LossEntry* entry = nullptr;
  LossOptions options;
  const std::string& name() const { return entry->name; }
  torch::Tensor compute(const torch::Tensor& output, const data::DialogueBatch& batch) const {
    return entry->compute(output, batch, options);
  }
};

const std::vector<LossEntry>& loss_registry();
// "auto" -> cross_entropy (classification) / mse (regression). A loss for the other task, or
// class weights for a regression task or that are not all finite and > 0 -> merc::Error.
TaskLoss find_loss(const std::string& name, data::Task task, LossOptions options = {});

}  // namespace merc::train
