#include "merc/models/masked_losses.h"

#include <torch/nn/functional/loss.h>

#include "merc/core/error.h"

namespace merc::models {

torch::Tensor masked_task_loss(const torch::Tensor& output, const data::DialogueBatch& batch, data::Task task) {
  const bool regression = task == data::Task::kRegression;
  MERC_CHECK(output.dim() == 3 && output.size(0) == batch.utterance_mask.size(0) &&
                 output.size(1) == batch.utterance_mask.size(1) && (!regression || output.size(2) == 1),
             "masked_task_loss: expected output (B, T, {}) matching the batch ({}, {}), got {}",
             regression ? "1" : "C", batch.utterance_mask.size(0), batch.utterance_mask.size(1), output.sizes());
  const torch::Tensor real = batch.utterance_mask.reshape({-1});
  torch::Tensor per, mask;
  if (regression) {
    const torch::Tensor score = batch.score.reshape({-1});
    mask = real & ~torch::isnan(score);
    const torch::Tensor diff = output.reshape({-1}) - torch::nan_to_num(score, 0.0).to(output.dtype());
    per = diff * diff;
  } else {
    const torch::Tensor label = batch.label.reshape({-1});
    mask = real & (label >= 0);
    per = torch::nn::functional::cross_entropy(output.reshape({-1, output.size(2)}), label.clamp_min(0),
                                               torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  }
  // where, not a product: a non-finite value at a position without a target must not give NaN.
  const torch::Tensor kept = torch::where(mask, per, torch::zeros_like(per));
  return kept.sum() / mask.to(per.dtype()).sum().clamp_min(1.0);
}

}  // namespace merc::models
