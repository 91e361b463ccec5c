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

struct LossEntry {
  std::string name;
  std::string description;
  data::Task task;  // which task it applies to
  // output: (B, T, C) logits or (B, T, 1) predictions; returns a scalar.
  std::function<torch::Tensor(const torch::Tensor& output, const data::DialogueBatch& batch)> compute;
};

const std::vector<LossEntry>& loss_registry();
// "auto" -> cross_entropy (classification) / mse (regression). A loss for the other task ->
// merc::Error.
const LossEntry& find_loss(const std::string& name, data::Task task);

// (N) mask of utterances that carry a target for `task`, flattened over (B, T).
torch::Tensor target_mask(const data::DialogueBatch& batch, data::Task task);

}  // namespace merc::train
