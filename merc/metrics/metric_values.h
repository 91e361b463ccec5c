#pragma once
// MetricValues: the ordered name -> value result of every metric function. The names are a
// contract (issue 3 §3; result tables, early stopping and scripts select metrics by name):
//   classification: accuracy, weighted_f1, macro_f1, ua
//   sentiment:      acc2, f1, acc2_has0, f1_has0, acc5, acc7, mae, corr, mae_non0, corr_non0
// Accuracies, F1s and UA are in PERCENT (x100), as papers of this field report them; mae and corr
// are raw. Insertion order is kept so printed tables have a stable column order.

#include <string>
#include <vector>

namespace merc::metrics {

struct MetricValue {
  std::string name;
  double value = 0.0;
};

class MetricValues {
 public:
  // Appends `name`, or overwrites its value when it is already present (order unchanged).
  void set(const std::string& name, double value);
  // The value of `name`; throws merc::UnknownNameError listing the names present.
  double get(const std::string& name) const;
  bool contains(const std::string& name) const;
  // Names in insertion order.
  std::vector<std::string> names() const;

  const std::vector<MetricValue>& entries() const { return entries_; }
  std::vector<MetricValue>::const_iterator begin() const { return entries_.begin(); }
  std::vector<MetricValue>::const_iterator end() const { return entries_.end(); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<MetricValue> entries_;
};

// Direction of a metric for model selection / early stopping: false for the errors `mae`,
// `mae_non0` and for `loss` (the trainer's validation loss), true for every other contract name.
// Throws merc::UnknownNameError listing the known names, so a typo in a config cannot silently
// select the wrong direction.
bool higher_is_better(const std::string& metric);

// Every name higher_is_better knows, in contract order.
const std::vector<std::string>& known_metric_names();

}  // namespace merc::metrics
