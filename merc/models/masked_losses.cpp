#include "merc/models/masked_losses.h"

#include <torch/nn/functional/loss.h>

#include "merc/core/error.h"
#include "merc/nn/loss/masked_mean.h"

namespace merc::models {

torch::Tensor masked_task_loss(const torch::Tensor& output, const data::DialogueBatch& batch, data::Task task) {
  const bool regression = task == data::Task::kRegression;
  MERC_CHECK(output.dim() == 3 && output.size(0) == batch.utterance_mask.size(0) &&
                 output.size(1) == batch.utterance_mask.size(1) && (!regression || output.size(2) == 1),
             "masked_task_loss: expected output (B, T, {}) matching the batch ({}, {}), got {}",
             regression ? "1" : "C", batch.utterance_mask.size(0), batch.utterance_mask.size(1), output.sizes());
  torch::Tensor per;
  if (regression) {
    const torch::Tensor diff = output.reshape({-1}) - torch::nan_to_num(batch.score.reshape({-1}), 0.0).to(output.dtype());
    per = diff * diff;
  } else {
    per = torch::nn::functional::cross_entropy(output.reshape({-1, output.size(2)}), batch.label.reshape({-1}).clamp_min(0),
                                               torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  }
  return nn::masked_mean(per, data::target_mask(batch, task));
}

}  // namespace merc::models
