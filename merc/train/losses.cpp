#include "merc/train/losses.h"

#include <torch/nn/functional/loss.h>

#include "merc/core/error.h"
#include "merc/core/registry.h"

namespace merc::train {

namespace F = torch::nn::functional;

torch::Tensor target_mask(const data::DialogueBatch& batch, data::Task task) {
  const torch::Tensor real = batch.utterance_mask.reshape({-1});
  if (task == data::Task::kClassification) return real & (batch.label.reshape({-1}) >= 0);
  return real & ~torch::isnan(batch.score.reshape({-1}));
}

namespace {

void check_output(const torch::Tensor& output, const data::DialogueBatch& batch, bool regression) {
  MERC_CHECK(output.dim() == 3 && output.size(0) == batch.label.size(0) && output.size(1) == batch.label.size(1),
             "loss: expected output (B, T, C) matching labels ({}, {}), got {}", batch.label.size(0),
             batch.label.size(1), output.sizes());
  MERC_CHECK(!regression || output.size(2) == 1, "regression loss: expected output (B, T, 1), got {}", output.sizes());
}

// Mean of per-utterance losses over the target mask; 0 (with a graph) when the batch has none.
// torch::where, not a product with the mask: a non-finite value at a padded position (e.g. from
// attention over an empty row) must not turn the sum into NaN.
torch::Tensor masked_mean(const torch::Tensor& per_utt, const torch::Tensor& mask) {
  const torch::Tensor kept = torch::where(mask, per_utt, torch::zeros_like(per_utt));
  return kept.sum() / mask.to(per_utt.dtype()).sum().clamp_min(1.0);
}

torch::Tensor cross_entropy(const torch::Tensor& out, const data::DialogueBatch& b) {
  check_output(out, b, false);
  const torch::Tensor logits = out.reshape({-1, out.size(2)});
  const torch::Tensor mask = target_mask(b, data::Task::kClassification);
  const torch::Tensor target = b.label.reshape({-1}).clamp_min(0);
  const torch::Tensor per = F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  return masked_mean(per, mask);
}

template <bool kSquared>
torch::Tensor regression_loss(const torch::Tensor& out, const data::DialogueBatch& b) {
  check_output(out, b, true);
  const torch::Tensor pred = out.reshape({-1});
  const torch::Tensor mask = target_mask(b, data::Task::kRegression);
  const torch::Tensor target = torch::nan_to_num(b.score.reshape({-1}), 0.0).to(pred.dtype());
  const torch::Tensor diff = pred - target;
  return masked_mean(kSquared ? diff * diff : diff.abs(), mask);
}

}  // namespace

const std::vector<LossEntry>& loss_registry() {
  static const std::vector<LossEntry> table = registry_checked(
      std::vector<LossEntry>{
          {"cross_entropy", "softmax cross-entropy over classes, mean over labelled utterances",
           data::Task::kClassification, cross_entropy},
          {"mse", "mean squared error on the score (GCNet/MoMKE/ComP)", data::Task::kRegression,
           regression_loss<true>},
          {"l1", "mean absolute error on the score (MMSA / RoHyDR)", data::Task::kRegression, regression_loss<false>},
      },
      "loss");
  return table;
}

const LossEntry& find_loss(const std::string& name, data::Task task) {
  const std::string resolved =
      name == "auto" ? (task == data::Task::kClassification ? "cross_entropy" : "mse") : name;
  const LossEntry& e = registry_find(loss_registry(), resolved, "loss");
  MERC_CHECK(e.task == task, "loss '{}' is for {} but the task is {}", e.name, data::task_name(e.task),
             data::task_name(task));
  return e;
}

}  // namespace merc::train
