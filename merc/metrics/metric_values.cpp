#include "merc/metrics/metric_values.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/core/error.h"

namespace merc::metrics {

void MetricValues::set(const std::string& name, double value) {
  for (MetricValue& e : entries_) {
    if (e.name == name) {
      e.value = value;
      return;
    }
  }
  entries_.push_back({name, value});
}

double MetricValues::get(const std::string& name) const {
  for (const MetricValue& e : entries_) {
    if (e.name == name) return e.value;
  }
  throw UnknownNameError(fmt::format("unknown metric '{}'; valid: {}", name,
                                     fmt::join(names(), ", ")));
}

bool MetricValues::contains(const std::string& name) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const MetricValue& e) { return e.name == name; });
}

std::vector<std::string> MetricValues::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const MetricValue& e : entries_) out.push_back(e.name);
  return out;
}

const std::vector<std::string>& known_metric_names() {
  static const std::vector<std::string> kNames = {
      "accuracy", "weighted_f1", "macro_f1", "ua",       "acc2",      "f1",
      "acc2_has0", "f1_has0",    "acc5",     "acc7",     "mae",       "corr",
      "mae_non0", "corr_non0",   "loss"};
  return kNames;
}

bool higher_is_better(const std::string& metric) {
  const auto& known = known_metric_names();
  if (std::find(known.begin(), known.end(), metric) == known.end()) {
    throw UnknownNameError(fmt::format("unknown metric '{}'; valid: {}", metric,
                                       fmt::join(known, ", ")));
  }
  return !(metric == "mae" || metric == "mae_non0" || metric == "loss");
}

}  // namespace merc::metrics
