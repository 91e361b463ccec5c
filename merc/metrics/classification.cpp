#include "merc/metrics/classification.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "merc/core/error.h"

namespace merc::metrics {
namespace {

// Checks what confusion_matrix documents; messages name the index and the value.
void check_classification_inputs(const std::vector<int64_t>& y_true,
                                 const std::vector<int64_t>& y_pred, int64_t num_classes,
                                 const std::vector<double>* sample_weight) {
  MERC_CHECK(num_classes >= 1 && num_classes <= kMaxClasses,
             "classification metrics: num_classes must be in [1, {}], got {}", kMaxClasses,
             num_classes);
  MERC_CHECK(y_true.size() == y_pred.size(),
             "classification metrics: y_true has {} samples but y_pred has {}", y_true.size(),
             y_pred.size());
  MERC_CHECK(!y_true.empty(), "classification metrics: no samples (empty y_true and y_pred)");
  for (size_t i = 0; i < y_true.size(); ++i) {
    MERC_CHECK(y_true[i] >= 0 && y_true[i] < num_classes,
               "classification metrics: y_true[{}] = {} is not a class id in [0, {})", i,
               y_true[i], num_classes);
    MERC_CHECK((y_pred[i] >= 0 && y_pred[i] < num_classes) || y_pred[i] == kNoPrediction,
               "classification metrics: y_pred[{}] = {} is neither a class id in [0, {}) nor {} (no "
               "prediction)",
               i, y_pred[i], num_classes, kNoPrediction);
  }
  if (sample_weight == nullptr) return;
  MERC_CHECK(sample_weight->size() == y_true.size(),
             "classification metrics: sample_weight has {} entries for {} samples",
             sample_weight->size(), y_true.size());
  double sum = 0.0;
  for (size_t i = 0; i < sample_weight->size(); ++i) {
    const double w = (*sample_weight)[i];
    MERC_CHECK(std::isfinite(w) && w >= 0.0,
               "classification metrics: sample_weight[{}] = {} must be finite and >= 0", i, w);
    sum += w;
  }
  MERC_CHECK(sum > 0.0, "classification metrics: all {} sample weights are zero",
             sample_weight->size());
}

// sklearn's _prf_divide with zero_division="warn": 0/0 -> 0.
double prf_divide(double numerator, double denominator) {
  return denominator == 0.0 ? 0.0 : numerator / denominator;
}

// Support as sklearn prints it: an integer when the count is whole (always so without weights).
std::string format_report_support(double support) {
  if (std::floor(support) == support && std::fabs(support) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(support));
  }
  return fmt::format("{}", support);
}

std::string format_confusion_count(double count) {
  if (std::floor(count) == count && std::fabs(count) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(count));
  }
  return fmt::format("{:.2f}", count);
}

}  // namespace

double ConfusionMatrix::true_count(int64_t c) const {
  double sum = unpredicted.empty() ? 0.0 : unpredicted[static_cast<size_t>(c)];
  for (int64_t p = 0; p < num_classes; ++p) sum += at(c, p);
  return sum;
}

double ConfusionMatrix::predicted_count(int64_t c) const {
  double sum = 0.0;
  for (int64_t t = 0; t < num_classes; ++t) sum += at(t, c);
  return sum;
}

double ConfusionMatrix::total() const {
  double sum = 0.0;
  for (double v : counts) sum += v;
  for (double v : unpredicted) sum += v;
  return sum;
}

ConfusionMatrix confusion_matrix(const std::vector<int64_t>& y_true,
                                 const std::vector<int64_t>& y_pred, int64_t num_classes,
                                 const std::vector<double>* sample_weight) {
  check_classification_inputs(y_true, y_pred, num_classes, sample_weight);
  ConfusionMatrix m;
  m.num_classes = num_classes;
  m.counts.assign(static_cast<size_t>(num_classes * num_classes), 0.0);
  m.unpredicted.assign(static_cast<size_t>(num_classes), 0.0);
  for (size_t i = 0; i < y_true.size(); ++i) {
    const double w = sample_weight ? (*sample_weight)[i] : 1.0;
    if (y_pred[i] == kNoPrediction) {
      m.unpredicted[static_cast<size_t>(y_true[i])] += w;
    } else {
      m.counts[static_cast<size_t>(y_true[i] * num_classes + y_pred[i])] += w;
    }
  }
  return m;
}

ClassificationReport classification_report(const std::vector<int64_t>& y_true,
                                           const std::vector<int64_t>& y_pred,
                                           int64_t num_classes,
                                           const std::vector<double>* sample_weight,
                                           AveragedLabels averaged) {
  ClassificationReport r;
  r.confusion = confusion_matrix(y_true, y_pred, num_classes, sample_weight);  // validates
  const ConfusionMatrix& m = r.confusion;

  // unique_labels(y_true, y_pred) looks at the labels, not the weights: a zero-weight sample
  // still makes its classes present (sklearn does the same).
  std::vector<bool> present(static_cast<size_t>(num_classes), averaged == AveragedLabels::kAll);
  for (size_t i = 0; i < y_true.size(); ++i) {
    present[static_cast<size_t>(y_true[i])] = true;
    if (y_pred[i] != kNoPrediction) present[static_cast<size_t>(y_pred[i])] = true;
  }

  r.classes.resize(static_cast<size_t>(num_classes));
  for (int64_t c = 0; c < num_classes; ++c) {
    ClassScores& s = r.classes[static_cast<size_t>(c)];
    const double tp = m.at(c, c);
    s.support = m.true_count(c);
    s.precision = prf_divide(tp, m.predicted_count(c));
    s.recall = prf_divide(tp, s.support);
    // sklearn 1.2: denom = p + r, set to 1 where 0; f = (1 + beta^2) * p * r / denom.
    const double denom = s.precision + s.recall;
    s.f1 = 2.0 * s.precision * s.recall / (denom == 0.0 ? 1.0 : denom);
    s.averaged = present[static_cast<size_t>(c)];
    if (s.averaged) r.averaged_labels.push_back(c);
  }

  // Accuracy straight from the samples, as accuracy_score does (np.average of the hits).
  double hit = 0.0;
  double total = 0.0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    const double w = sample_weight ? (*sample_weight)[i] : 1.0;
    if (y_true[i] == y_pred[i]) hit += w;
    total += w;
  }
  r.accuracy = hit / total;
  r.total_support = total;

  // Macro: plain mean over the averaged labels. Weighted: np.average(x, weights=true_c).
  double sum_p = 0.0, sum_r = 0.0, sum_f = 0.0;
  double wsum_p = 0.0, wsum_r = 0.0, wsum_f = 0.0, weight_sum = 0.0;
  for (int64_t c : r.averaged_labels) {
    const ClassScores& s = r.classes[static_cast<size_t>(c)];
    sum_p += s.precision;
    sum_r += s.recall;
    sum_f += s.f1;
    wsum_p += s.precision * s.support;
    wsum_r += s.recall * s.support;
    wsum_f += s.f1 * s.support;
    weight_sum += s.support;
  }
  const double n_avg = static_cast<double>(r.averaged_labels.size());
  r.macro_precision = sum_p / n_avg;
  r.macro_recall = sum_r / n_avg;
  r.macro_f1 = sum_f / n_avg;
  // weight_sum > 0 because the total weight is checked positive; sklearn's zero-support branch
  // (all 0.0 under zero_division="warn") is kept for completeness.
  r.weighted_precision = prf_divide(wsum_p, weight_sum);
  r.weighted_recall = prf_divide(wsum_r, weight_sum);
  r.weighted_f1 = prf_divide(wsum_f, weight_sum);
  return r;
}

MetricValues classification_metrics(const ClassificationReport& report) {
  MetricValues v;
  v.set("accuracy", 100.0 * report.accuracy);
  v.set("weighted_f1", 100.0 * report.weighted_f1);
  v.set("macro_f1", 100.0 * report.macro_f1);
  v.set("ua", 100.0 * report.ua());
  return v;
}

std::string format_report(const ClassificationReport& report,
                          const std::vector<std::string>& class_names, int digits) {
  const int64_t n = report.confusion.num_classes;
  MERC_CHECK(static_cast<int64_t>(class_names.size()) == n,
             "format_report: {} class names for {} classes", class_names.size(), n);
  MERC_CHECK(digits >= 0 && digits <= 17, "format_report: digits must be in [0, 17], got {}",
             digits);
  // Layout of sklearn's classification_report: a name column as wide as the longest name (at
  // least "weighted avg"), then four right-aligned 9-wide columns, each preceded by a space.
  size_t width = std::max<size_t>(12, static_cast<size_t>(digits));
  for (int64_t c : report.averaged_labels) {
    width = std::max(width, class_names[static_cast<size_t>(c)].size());
  }
  std::string out = fmt::format("{:>{}} ", "", width);
  for (const char* h : {"precision", "recall", "f1-score", "support"}) out += fmt::format(" {:>9}", h);
  out += "\n\n";
  auto row = [&](const std::string& name, double p, double r, double f, double s) {
    return fmt::format("{:>{}}  {:>9.{}f} {:>9.{}f} {:>9.{}f} {:>9}\n", name, width, p, digits, r,
                       digits, f, digits, format_report_support(s));
  };
  double support_sum = 0.0;
  for (int64_t c : report.averaged_labels) {
    const ClassScores& s = report.classes[static_cast<size_t>(c)];
    out += row(class_names[static_cast<size_t>(c)], s.precision, s.recall, s.f1, s.support);
    support_sum += s.support;
  }
  out += "\n";
  out += fmt::format("{:>{}}  {:>9} {:>9} {:>9.{}f} {:>9}\n", "accuracy", width, "", "",
                     report.accuracy, digits, format_report_support(support_sum));
  out += row("macro avg", report.macro_precision, report.macro_recall, report.macro_f1,
             support_sum);
  out += row("weighted avg", report.weighted_precision, report.weighted_recall,
             report.weighted_f1, support_sum);
  return out;
}

std::string format_confusion(const ConfusionMatrix& confusion,
                             const std::vector<std::string>& class_names) {
  const int64_t n = confusion.num_classes;
  MERC_CHECK(static_cast<int64_t>(class_names.size()) == n,
             "format_confusion: {} class names for {} classes", class_names.size(), n);
  const std::string corner = "true \\ pred";
  size_t name_width = corner.size();
  for (const std::string& s : class_names) name_width = std::max(name_width, s.size());
  // Every count column is as wide as its header name or its widest count.
  std::vector<size_t> widths(static_cast<size_t>(n));
  for (int64_t p = 0; p < n; ++p) {
    size_t w = class_names[static_cast<size_t>(p)].size();
    for (int64_t t = 0; t < n; ++t) w = std::max(w, format_confusion_count(confusion.at(t, p)).size());
    widths[static_cast<size_t>(p)] = w;
  }
  std::string out = fmt::format("{:<{}}", corner, name_width);
  for (int64_t p = 0; p < n; ++p) {
    out += fmt::format("  {:>{}}", class_names[static_cast<size_t>(p)], widths[static_cast<size_t>(p)]);
  }
  out += "\n";
  for (int64_t t = 0; t < n; ++t) {
    out += fmt::format("{:<{}}", class_names[static_cast<size_t>(t)], name_width);
    for (int64_t p = 0; p < n; ++p) {
      out += fmt::format("  {:>{}}", format_confusion_count(confusion.at(t, p)), widths[static_cast<size_t>(p)]);
    }
    out += "\n";
  }
  return out;
}

}  // namespace merc::metrics
