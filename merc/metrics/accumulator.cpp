#include "merc/metrics/accumulator.h"

#include <algorithm>

#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::metrics {
namespace {

std::string tensor_shape_text(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::string s = "(";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + ")";
}

// (b, t) of the k-th true element of a (B, T) mask, for error messages.
std::string masked_position_text(const torch::Tensor& mask2d, int64_t k) {
  const torch::Tensor idx = mask2d.nonzero();  // (n, 2) row-major order, like masked_select
  return fmt::format("[{}, {}]", idx[k][0].item<int64_t>(), idx[k][1].item<int64_t>());
}

void check_bt_tensor(const torch::Tensor& t, const char* name, const torch::Tensor& mask) {
  MERC_CHECK(t.defined(), "MetricAccumulator::add: {} is undefined", name);
  MERC_CHECK(t.dim() == 2 && t.size(0) == mask.size(0) && t.size(1) == mask.size(1),
             "MetricAccumulator::add: {} must be (B, T) = {}, got {}", name, tensor_shape_text(mask),
             tensor_shape_text(t));
}

}  // namespace

MetricAccumulator::MetricAccumulator(data::Task task, int64_t num_classes,
                                     AveragedLabels averaged)
    : task_(task), num_classes_(num_classes), averaged_(averaged) {
  if (task_ == data::Task::kClassification) {
    MERC_CHECK(num_classes >= 1 && num_classes <= kMaxClasses,
               "MetricAccumulator: num_classes must be in [1, {}] for classification, got {}",
               kMaxClasses, num_classes);
  }
}

void MetricAccumulator::add(const torch::Tensor& output, const torch::Tensor& label,
                            const torch::Tensor& score, const torch::Tensor& utterance_mask,
                            const torch::Tensor& abstain) {
  MERC_CHECK(utterance_mask.defined() && utterance_mask.dim() == 2 &&
                 utterance_mask.scalar_type() == torch::kBool,
             "MetricAccumulator::add: utterance_mask must be a (B, T) bool tensor, got {} {}",
             tensor_shape_text(utterance_mask),
             utterance_mask.defined() ? std::string(c10::toString(utterance_mask.scalar_type()))
                                      : "");
  const int64_t expected_c = task_ == data::Task::kClassification ? num_classes_ : 1;
  MERC_CHECK(output.defined() && output.dim() == 3 && output.size(0) == utterance_mask.size(0) &&
                 output.size(1) == utterance_mask.size(1) && output.size(2) == expected_c,
             "MetricAccumulator::add: {} output must be (B, T, {}) with (B, T) = {}, got {}",
             data::task_name(task_), expected_c, tensor_shape_text(utterance_mask),
             tensor_shape_text(output));
  MERC_CHECK(c10::isFloatingType(output.scalar_type()),
             "MetricAccumulator::add: output must be floating point, got {}",
             c10::toString(output.scalar_type()));
  const torch::Tensor mask = utterance_mask.detach().to(torch::kCPU);
  const torch::Tensor out = output.detach().to(torch::kCPU);
  if (task_ == data::Task::kClassification) {
    MERC_CHECK(!abstain.defined() || (abstain.scalar_type() == torch::kBool && abstain.sizes() == mask.sizes()),
               "MetricAccumulator::add: abstain must be a (B, T) bool tensor like utterance_mask {}, got {}",
               tensor_shape_text(mask), tensor_shape_text(abstain));
    add_classification(out, label, mask,
                       abstain.defined() ? abstain.detach().to(torch::kCPU) : torch::zeros_like(mask));
  } else {
    add_regression(out, score, mask);
  }
}

void MetricAccumulator::add_classification(const torch::Tensor& output,
                                           const torch::Tensor& label,
                                           const torch::Tensor& mask,
                                           const torch::Tensor& abstain) {
  check_bt_tensor(label, "label", mask);
  MERC_CHECK(!c10::isFloatingType(label.scalar_type()) && label.scalar_type() != torch::kBool,
             "MetricAccumulator::add: label must be an integer tensor, got {}",
             c10::toString(label.scalar_type()));
  const torch::Tensor lab = label.detach().to(torch::kCPU).to(torch::kLong);
  // Real utterances whose label is not -1; any other label must be a class id.
  const torch::Tensor bad = mask & ((lab < -1) | (lab >= num_classes_));
  if (bad.any().item<bool>()) {
    const torch::Tensor idx = bad.nonzero();
    const int64_t b = idx[0][0].item<int64_t>(), t = idx[0][1].item<int64_t>();
    throw Error(fmt::format("MetricAccumulator::add: label[{}, {}] = {} is neither -1 (padding) "
                            "nor a class id in [0, {})",
                            b, t, lab[b][t].item<int64_t>(), num_classes_));
  }
  const torch::Tensor keep = mask & (lab >= 0);
  const torch::Tensor finite = torch::isfinite(output).all(-1) | abstain;  // an abstained row is not read
  const torch::Tensor non_finite_kept = keep & ~finite;
  if (non_finite_kept.any().item<bool>()) {
    throw Error(fmt::format("MetricAccumulator::add: non-finite logits at utterance {} (did "
                            "training diverge?)",
                            masked_position_text(non_finite_kept, 0)));
  }
  const torch::Tensor pred =
      output.argmax(-1).masked_fill(abstain, kNoPrediction).masked_select(keep).contiguous();
  const torch::Tensor truth = lab.masked_select(keep).contiguous();
  const int64_t n = pred.numel();
  const int64_t* pp = pred.data_ptr<int64_t>();
  const int64_t* tp = truth.data_ptr<int64_t>();
  predicted_labels_.insert(predicted_labels_.end(), pp, pp + n);
  true_labels_.insert(true_labels_.end(), tp, tp + n);
}

void MetricAccumulator::add_regression(const torch::Tensor& output, const torch::Tensor& score,
                                       const torch::Tensor& mask) {
  check_bt_tensor(score, "score", mask);
  MERC_CHECK(c10::isFloatingType(score.scalar_type()),
             "MetricAccumulator::add: score must be floating point (NaN = none), got {}",
             c10::toString(score.scalar_type()));
  const torch::Tensor truth_all = score.detach().to(torch::kCPU).to(torch::kDouble);
  const torch::Tensor keep = mask & ~torch::isnan(truth_all);
  const torch::Tensor pred_all = output.select(2, 0).to(torch::kDouble);
  const torch::Tensor non_finite_kept = keep & ~torch::isfinite(pred_all);
  if (non_finite_kept.any().item<bool>()) {
    throw Error(fmt::format("MetricAccumulator::add: non-finite prediction at utterance {} (did "
                            "training diverge?)",
                            masked_position_text(non_finite_kept, 0)));
  }
  const torch::Tensor pred = pred_all.masked_select(keep).contiguous();
  const torch::Tensor truth = truth_all.masked_select(keep).contiguous();
  const int64_t n = pred.numel();
  const double* pp = pred.data_ptr<double>();
  const double* tp = truth.data_ptr<double>();
  predicted_scores_.insert(predicted_scores_.end(), pp, pp + n);
  true_scores_.insert(true_scores_.end(), tp, tp + n);
}

void MetricAccumulator::check_not_empty(const char* what) const {
  MERC_CHECK(size() > 0,
             "MetricAccumulator::{}: no utterances collected ({} task; every position was "
             "padding, unlabelled or masked, or add() was never called)",
             what, data::task_name(task_));
}

std::vector<std::string> metric_names(data::Task task) {
  return task == data::Task::kClassification ? classification_metrics(ClassificationReport{}).names()
                                             : sentiment_metrics(SentimentScores{}).names();
}

MetricValues MetricAccumulator::compute() const {
  if (task_ == data::Task::kClassification) return classification_metrics(report());
  return sentiment_metrics(sentiment());
}

ClassificationReport MetricAccumulator::report() const {
  MERC_CHECK(task_ == data::Task::kClassification,
             "MetricAccumulator::report: only for classification tasks (this one is {})",
             data::task_name(task_));
  check_not_empty("report");
  return classification_report(true_labels_, predicted_labels_, num_classes_, nullptr, averaged_);
}

SentimentScores MetricAccumulator::sentiment() const {
  MERC_CHECK(task_ == data::Task::kRegression,
             "MetricAccumulator::sentiment: only for regression tasks (this one is {})",
             data::task_name(task_));
  check_not_empty("sentiment");
  return sentiment_scores(predicted_scores_, true_scores_);
}

std::vector<double> MetricAccumulator::predictions() const {
  if (task_ == data::Task::kRegression) return predicted_scores_;
  return std::vector<double>(predicted_labels_.begin(), predicted_labels_.end());
}

std::vector<double> MetricAccumulator::truths() const {
  if (task_ == data::Task::kRegression) return true_scores_;
  return std::vector<double>(true_labels_.begin(), true_labels_.end());
}

int64_t MetricAccumulator::abstentions() const {
  return std::count(predicted_labels_.begin(), predicted_labels_.end(), kNoPrediction);
}

int64_t MetricAccumulator::size() const {
  return static_cast<int64_t>(task_ == data::Task::kClassification ? true_labels_.size()
                                                                   : true_scores_.size());
}

void MetricAccumulator::reset() {
  predicted_labels_.clear();
  true_labels_.clear();
  predicted_scores_.clear();
  true_scores_.clear();
}

}  // namespace merc::metrics
