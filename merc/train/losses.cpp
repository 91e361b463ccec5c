#include "merc/train/losses.h"

#include <cmath>

#include <torch/nn/functional/loss.h>

#include "merc/core/error.h"
#include "merc/core/registry.h"
#include "merc/nn/loss/masked_mean.h"

namespace merc::train {

namespace F = torch::nn::functional;

using data::target_mask;
using nn::masked_mean;

namespace {

void check_output(const torch::Tensor& output, const data::DialogueBatch& batch, bool regression) {
  MERC_CHECK(output.dim() == 3 && output.size(0) == batch.label.size(0) && output.size(1) == batch.label.size(1),
             "loss: expected output (B, T, C) matching labels ({}, {}), got {}", batch.label.size(0),
             batch.label.size(1), output.sizes());
  MERC_CHECK(!regression || output.size(2) == 1, "regression loss: expected output (B, T, 1), got {}", output.sizes());
}

// (N) weight of each flattened utterance's class, or undefined without class weights.
torch::Tensor utterance_class_weights(const torch::Tensor& out, const torch::Tensor& target, const LossOptions& o) {
  if (o.class_weights.empty()) return {};
  MERC_CHECK(static_cast<int64_t>(o.class_weights.size()) == out.size(2),
             "train.class_weights has {} values but the model predicts {} classes", o.class_weights.size(),
             out.size(2));
  const torch::Tensor w = torch::tensor(o.class_weights, torch::kDouble).to(out.device(), out.scalar_type());
  return w.index_select(0, target);
}

// Weighted mean sum_i w_i l_i / sum_i w_i over the target mask (masked_mean when w is undefined).
torch::Tensor weighted_masked_mean(const torch::Tensor& per_utt, const torch::Tensor& mask, const torch::Tensor& w) {
  if (!w.defined()) return masked_mean(per_utt, mask);
  const torch::Tensor zero = torch::zeros_like(per_utt);
  const torch::Tensor kept = torch::where(mask, per_utt * w, zero);
  return kept.sum() / torch::where(mask, w, zero).sum().clamp_min(1e-12);
}

torch::Tensor cross_entropy(const torch::Tensor& out, const data::DialogueBatch& b, const LossOptions& o) {
  check_output(out, b, false);
  const torch::Tensor logits = out.reshape({-1, out.size(2)});
  const torch::Tensor mask = target_mask(b, data::Task::kClassification);
  const torch::Tensor target = b.label.reshape({-1}).clamp_min(0);
  const torch::Tensor per = F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  return weighted_masked_mean(per, mask, utterance_class_weights(out, target, o));
}

// The focal loss of M3Net/MoED as coded (feiyuchen7/M3NET model.py FocalLoss, used by MoED for
// MELD; method_reference.md §4.6), which differs from Lin et al.'s focal loss: with
// lp = log_softmax(logits) and one-hot y, the loss is the mean over utterances AND classes of
//   -alpha * (1 - y_c * lp_c)^gamma * lp_c,
// so every non-target class contributes -lp_c with weight alpha, and the target class is weighted
// by (1 - lp_y)^gamma >= 1. Class weights, if given, scale each utterance's row (weighted mean).
torch::Tensor focal_moed(const torch::Tensor& out, const data::DialogueBatch& b, const LossOptions& o) {
  check_output(out, b, false);
  const int64_t C = out.size(2);
  const torch::Tensor lp = torch::log_softmax(out.reshape({-1, C}), -1);
  const torch::Tensor mask = target_mask(b, data::Task::kClassification);
  const torch::Tensor target = b.label.reshape({-1}).clamp_min(0);
  const torch::Tensor onehot = torch::one_hot(target, C).to(lp.scalar_type());
  const torch::Tensor fl = -o.focal_alpha * torch::pow(1.0 - onehot * lp, o.focal_gamma) * lp;  // (N, C)
  // Mean over classes per utterance, then over utterances = the reference's mean over N * C.
  return weighted_masked_mean(fl.mean(1), mask, utterance_class_weights(out, target, o));
}

template <bool kSquared>
torch::Tensor regression_loss(const torch::Tensor& out, const data::DialogueBatch& b, const LossOptions&) {
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
          {"focal_moed",
           "M3Net/MoED's focal variant as coded (mean over utterances and classes of -alpha (1 - y lp)^gamma lp; "
           "train.focal_gamma, train.focal_alpha)",
           data::Task::kClassification, focal_moed},
          {"mse", "mean squared error on the score (GCNet/MoMKE/ComP)", data::Task::kRegression,
           regression_loss<true>},
          {"l1", "mean absolute error on the score (MMSA / RoHyDR)", data::Task::kRegression, regression_loss<false>},
      },
      "loss");
  return table;
}

TaskLoss find_loss(const std::string& name, data::Task task, LossOptions options) {
  const std::string resolved =
      name == "auto" ? (task == data::Task::kClassification ? "cross_entropy" : "mse") : name;
  const LossEntry& e = registry_find(loss_registry(), resolved, "loss");
  MERC_CHECK(e.task == task, "loss '{}' is for {} but the task is {}", e.name, data::task_name(e.task),
             data::task_name(task));
  MERC_CHECK(options.class_weights.empty() || task == data::Task::kClassification,
             "train.class_weights is set but the task is {} (class weights need classification)",
             data::task_name(task));
  for (double w : options.class_weights)
    MERC_CHECK(std::isfinite(w) && w > 0, "train.class_weights must all be finite and > 0, got {}", w);
  MERC_CHECK(std::isfinite(options.focal_gamma) && options.focal_gamma >= 0,
             "train.focal_gamma must be >= 0, got {}", options.focal_gamma);
  MERC_CHECK(std::isfinite(options.focal_alpha) && options.focal_alpha > 0, "train.focal_alpha must be > 0, got {}",
             options.focal_alpha);
  return TaskLoss{&e, std::move(options)};
}

}  // namespace merc::train
