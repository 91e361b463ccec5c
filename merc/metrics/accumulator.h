#pragma once
// MetricAccumulator: collects the real utterances of a sequence of model outputs (one call per
// batch) and computes the task's metrics over all of them at the end of an epoch. This is the
// bridge between tensors (trainer) and the pure C++ metric functions (classification.h,
// sentiment.h): metrics are computed once over the whole split, never averaged over batches,
// as the reference code does (it concatenates predictions, then calls sklearn / numpy).

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "merc/data/dataset.h"
#include "merc/metrics/classification.h"
#include "merc/metrics/metric_values.h"
#include "merc/metrics/sentiment.h"

namespace merc::metrics {

// The names MetricAccumulator::compute() returns for `task`, in order (derived from the metric
// functions themselves, so the list cannot drift from what is computed).
std::vector<std::string> metric_names(data::Task task);

class MetricAccumulator {
 public:
  // num_classes: classes of a classification task (1..kMaxClasses); ignored for regression.
  // averaged: which labels enter the macro averages (classification.h).
  MetricAccumulator(data::Task task, int64_t num_classes,
                    AveragedLabels averaged = AveragedLabels::kPresent);

  // One batch. All tensors share the leading (B, T) dimensions (batch-major or time-major alike;
  // utterances are collected in row-major order over those two dimensions), on any device:
  //   output          (B, T, C) logits, C = num_classes (classification; prediction = argmax,
  //                   first maximum on ties, as torch/numpy) or (B, T, 1) scores (regression)
  //   label           (B, T) integer class, -1 = padding / unlabelled (skipped). Required for
  //                   classification; ignored (may be undefined) for regression.
  //   score           (B, T) floating continuous truth, NaN = none (skipped). Required for
  //                   regression; ignored (may be undefined) for classification.
  //   utterance_mask  (B, T) bool, true = real utterance; false positions are skipped.
  // Throws merc::Error naming the tensor and what was expected for wrong shapes / dtypes, a
  // label outside [-1, num_classes) or a non-finite output at a collected utterance.
  //   abstain         (B, T) bool, optional (classification): true = the model made no prediction
  //                   there (its output row is ignored); recorded as kNoPrediction
  //                   (classification.h: a miss of the true class, no class's prediction).
  void add(const torch::Tensor& output, const torch::Tensor& label, const torch::Tensor& score,
           const torch::Tensor& utterance_mask, const torch::Tensor& abstain = {});
  // Classification: collected utterances without a prediction (abstain).
  int64_t abstentions() const;

  // Classification: classification_metrics(report()) (accuracy, weighted_f1, macro_f1, ua; %).
  // Regression: sentiment_metrics over (prediction, score) (acc2 ... corr_non0).
  // Throws merc::Error when nothing was collected.
  MetricValues compute() const;

  // Classification only (merc::Error otherwise or when empty).
  ClassificationReport report() const;
  // Regression only (merc::Error otherwise or when empty).
  SentimentScores sentiment() const;

  // Collected values in collection order: predicted / true class ids as doubles for
  // classification, predicted / true scores for regression.
  std::vector<double> predictions() const;
  std::vector<double> truths() const;
  // Classification only (empty for regression).
  const std::vector<int64_t>& predicted_labels() const { return predicted_labels_; }
  const std::vector<int64_t>& true_labels() const { return true_labels_; }

  int64_t size() const;  // utterances collected so far
  void reset();          // forget everything collected (same task / classes)
  data::Task task() const { return task_; }
  int64_t num_classes() const { return num_classes_; }

 private:
  void add_classification(const torch::Tensor& output, const torch::Tensor& label,
                          const torch::Tensor& mask, const torch::Tensor& abstain);
  void add_regression(const torch::Tensor& output, const torch::Tensor& score,
                      const torch::Tensor& mask);
  void check_not_empty(const char* what) const;

  data::Task task_;
  int64_t num_classes_;
  AveragedLabels averaged_;
  std::vector<int64_t> predicted_labels_;
  std::vector<int64_t> true_labels_;
  std::vector<double> predicted_scores_;
  std::vector<double> true_scores_;
};

}  // namespace merc::metrics
