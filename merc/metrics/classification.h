#pragma once
// Classification metrics with scikit-learn 1.2 semantics (precision_recall_fscore_support,
// accuracy_score, classification_report, confusion_matrix), so numbers are comparable with the
// published code of this field, which calls sklearn (method_reference.md §2.1, §2.3). Pure C++
// (no torch) so it is cheap to include anywhere.
//
// Definitions, per class c with weighted counts (weight 1 per sample unless sample_weight):
//   tp_c = M[c][c],  pred_c = sum_t M[t][c] (column),  true_c = sum_p M[c][p] (row, "support")
//   precision_c = tp_c / pred_c,  recall_c = tp_c / true_c,
//   f1_c = 2 * precision_c * recall_c / (precision_c + recall_c)
// Zero division follows sklearn's default zero_division="warn": a 0/0 precision or recall is 0.0
// (sklearn also warns; we do not), and f1 is 0.0 when precision + recall == 0.
//   accuracy    = sum_i w_i [y_i == yhat_i] / sum_i w_i          (accuracy_score)
//   macro X     = unweighted mean of X_c over the AVERAGED labels (average='macro')
//   weighted X  = sum_c true_c X_c / sum_c true_c                  (average='weighted')
//   UA          = macro recall ("unweighted accuracy", recall_score(average='macro'); GCNet/MoMKE)
//
// Which labels are averaged (the convention that changes macro numbers):
//   AveragedLabels::kPresent (default, = sklearn without `labels=`): unique_labels(y_true, y_pred),
//     the classes that occur in the truth OR in the predictions. A class absent from both does not
//     enter the macro mean; a class only predicted enters with precision = recall = f1 = 0.
//     As in sklearn, a sample with weight 0 still makes its labels "present".
//   AveragedLabels::kAll (= sklearn with labels=range(num_classes)): all num_classes classes.
// Weighted averages and accuracy do not depend on this choice (absent classes have true_c = 0).

#include <cstdint>
#include <string>
#include <vector>

#include "merc/metrics/metric_values.h"

namespace merc::metrics {

// Largest num_classes accepted: the confusion matrix is dense (C*C doubles).
inline constexpr int64_t kMaxClasses = 4096;

// A y_pred entry meaning "no prediction" (an abstention: a generative model whose sentence could
// not be parsed). It counts as a miss of its true class and as no class's prediction: accuracy and
// the true class's recall and support count it, no class's precision does, and it is no class of
// the macro averages. = sklearn with labels=range(C) and such predictions mapped to a label outside
// them (tests/metrics: fixture from sklearn).
inline constexpr int64_t kNoPrediction = -1;

// (C, C) weighted counts, row-major: rows = true class, columns = predicted class (as
// sklearn.metrics.confusion_matrix with labels=range(C)), plus the abstentions per true class.
struct ConfusionMatrix {
  int64_t num_classes = 0;
  std::vector<double> counts;       // num_classes * num_classes
  std::vector<double> unpredicted;  // num_classes: weight of kNoPrediction samples per true class

  double at(int64_t true_class, int64_t predicted_class) const {
    return counts[static_cast<size_t>(true_class * num_classes + predicted_class)];
  }
  double true_count(int64_t c) const;       // row sum + abstentions: support of class c
  double predicted_count(int64_t c) const;  // column sum
  double total() const;                     // sum of all weights (abstentions included)
};

// Counts (y_true[i], y_pred[i]) pairs. y_true and y_pred: class ids in [0, num_classes), same
// length N >= 1. sample_weight (optional): N finite weights >= 0 with a positive sum. Throws
// merc::Error naming the offending index and value (label out of range, length mismatch, bad
// weight, empty input, num_classes outside [1, kMaxClasses]).
ConfusionMatrix confusion_matrix(const std::vector<int64_t>& y_true,
                                 const std::vector<int64_t>& y_pred, int64_t num_classes,
                                 const std::vector<double>* sample_weight = nullptr);

enum class AveragedLabels { kPresent, kAll };

struct ClassScores {
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
  double support = 0.0;   // weighted true count
  bool averaged = false;  // whether this class entered the macro averages
};

// All values are fractions in [0, 1] like sklearn; classification_metrics() converts to percent.
struct ClassificationReport {
  ConfusionMatrix confusion;
  std::vector<ClassScores> classes;     // index = class id, size num_classes (every class)
  std::vector<int64_t> averaged_labels;  // ascending class ids that entered the macro means
  double accuracy = 0.0;
  double macro_precision = 0.0;
  double macro_recall = 0.0;  // = UA
  double macro_f1 = 0.0;
  double weighted_precision = 0.0;
  double weighted_recall = 0.0;
  double weighted_f1 = 0.0;
  double total_support = 0.0;  // sum of all sample weights (N when unweighted)

  double ua() const { return macro_recall; }
};

// Same inputs and errors as confusion_matrix.
ClassificationReport classification_report(const std::vector<int64_t>& y_true,
                                           const std::vector<int64_t>& y_pred,
                                           int64_t num_classes,
                                           const std::vector<double>* sample_weight = nullptr,
                                           AveragedLabels averaged = AveragedLabels::kPresent);

// The contract names, in PERCENT: accuracy, weighted_f1, macro_f1, ua.
MetricValues classification_metrics(const ClassificationReport& report);

// Text resembling sklearn.metrics.classification_report(digits=digits): one row per averaged
// class (named by class_names[c]), then accuracy, macro avg and weighted avg rows. Values are
// fractions like sklearn's. class_names must have num_classes entries (merc::Error otherwise).
std::string format_report(const ClassificationReport& report,
                          const std::vector<std::string>& class_names, int digits = 4);

// Confusion matrix as an aligned table: rows = true class, columns = predicted class, headed by
// class_names (num_classes entries). Integral counts print without decimals, others with two.
std::string format_confusion(const ConfusionMatrix& confusion,
                             const std::vector<std::string>& class_names);

}  // namespace merc::metrics
