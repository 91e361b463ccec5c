#include "merc/analysis/compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "merc/core/error.h"
#include "merc/metrics/accumulator.h"
#include "merc/metrics/classification.h"
#include "merc/metrics/sentiment.h"

namespace merc::analysis {

namespace compare_detail {

bool has_target(const train::UtterancePrediction& u, data::Task task) {
  return task == data::Task::kClassification ? u.label >= 0 : std::isfinite(u.score);
}

std::string row_key(const train::UtterancePrediction& u) {
  return u.dialogue_id + "#" + std::to_string(u.utterance_idx);
}

std::set<std::string> target_keys(const ComparedRun& r) {
  std::set<std::string> keys;
  for (const auto& u : r.predictions)
    if (has_target(u, r.task)) keys.insert(row_key(u));
  return keys;
}

// One side's compared rows, in A's order (so row i of A and of B is the same utterance).
struct AlignedRows {
  std::vector<int64_t> label, pred_class;
  std::vector<double> score, pred_score;
};

void push_row(AlignedRows& rows, const train::UtterancePrediction& u) {
  rows.label.push_back(u.label);
  rows.pred_class.push_back(u.pred_class);
  rows.score.push_back(u.score);
  rows.pred_score.push_back(u.pred_score);
}

metrics::MetricValues metrics_on_rows(const AlignedRows& d, data::Task task, int64_t num_classes,
                                      const ResampleRows& rows) {
  if (task == data::Task::kClassification) {
    std::vector<int64_t> truth, pred;
    for (int64_t r : rows) {
      truth.push_back(d.label[static_cast<size_t>(r)]);
      pred.push_back(d.pred_class[static_cast<size_t>(r)]);
    }
    return metrics::classification_metrics(metrics::classification_report(truth, pred, num_classes));
  }
  std::vector<double> truth, pred;
  for (int64_t r : rows) {
    truth.push_back(d.score[static_cast<size_t>(r)]);
    pred.push_back(d.pred_score[static_cast<size_t>(r)]);
  }
  return metrics::sentiment_metrics(metrics::sentiment_scores(pred, truth));
}

void add_difference(std::vector<std::string>& out, const char* what, const std::string& a, const std::string& b) {
  if (a != b) out.push_back(fmt::format("{} '{}' vs '{}'", what, a, b));
}

std::string sample_keys(const std::set<std::string>& from, const std::set<std::string>& minus) {
  std::vector<std::string> out;
  for (const auto& k : from)
    if (!minus.count(k) && out.size() < 3) out.push_back(k);
  return fmt::format("{}", fmt::join(out, ", "));
}

// Validates names against the task's metrics; the defaults when none are asked.
std::vector<std::string> chosen_metrics(const std::vector<std::string>& wanted, data::Task task) {
  if (wanted.empty()) return default_metrics(task);
  const std::vector<std::string> known = metrics::metric_names(task);
  for (const auto& m : wanted)
    MERC_CHECK(std::find(known.begin(), known.end(), m) != known.end(), "compare: metric '{}' is not a {} metric "
               "(choose from {})", m, data::task_name(task), fmt::join(known, ", "));
  return wanted;
}

std::string direction_text(bool b_better) { return b_better ? "B better than A" : "A better than B"; }

}  // namespace compare_detail

std::string unit_name(ResampleUnit unit) { return unit == ResampleUnit::kDialogue ? "dialogue" : "utterance"; }

ResampleUnit parse_unit(const std::string& s) {
  if (s == "dialogue") return ResampleUnit::kDialogue;
  if (s == "utterance") return ResampleUnit::kUtterance;
  throw Error(fmt::format("compare: resampling unit '{}': expected dialogue or utterance", s));
}

std::vector<std::string> default_metrics(data::Task task) {
  if (task == data::Task::kClassification) return {"accuracy", "weighted_f1"};
  return {"mae", "acc2", "corr"};
}

void check_same_test_set(const ComparedRun& a, const ComparedRun& b) {
  using compare_detail::add_difference;
  std::vector<std::string> diffs;
  add_difference(diffs, "dataset", a.dataset, b.dataset);
  add_difference(diffs, "dataset path", a.dataset_path.empty() ? "(embedded)" : a.dataset_path,
                 b.dataset_path.empty() ? "(embedded)" : b.dataset_path);
  add_difference(diffs, "split", a.split, b.split);
  add_difference(diffs, "partition", a.partition, b.partition);
  add_difference(diffs, "test protocol", a.protocol, b.protocol);
  add_difference(diffs, "task", data::task_name(a.task), data::task_name(b.task));
  if (a.num_classes != b.num_classes)
    diffs.push_back(fmt::format("classes {} vs {}", a.num_classes, b.num_classes));
  if (diffs.empty()) {
    const auto ka = compare_detail::target_keys(a), kb = compare_detail::target_keys(b);
    if (ka != kb)
      diffs.push_back(fmt::format("test utterances: {} vs {} with a target (only in A: [{}]; only in B: [{}])",
                                  ka.size(), kb.size(), compare_detail::sample_keys(ka, kb),
                                  compare_detail::sample_keys(kb, ka)));
  }
  MERC_CHECK(diffs.empty(), "compare: {} and {} were not evaluated on the same test set, so their difference "
             "would mean nothing: {}", a.name, b.name, fmt::join(diffs, "; "));
}

PairedComparison compare_paired(const ComparedRun& a, const ComparedRun& b, const PairedOptions& options) {
  check_same_test_set(a, b);
  const std::vector<std::string> names = compare_detail::chosen_metrics(options.metrics, a.task);
  std::map<std::string, const train::UtterancePrediction*> b_by_key;
  for (const auto& u : b.predictions)
    if (compare_detail::has_target(u, b.task)) b_by_key[compare_detail::row_key(u)] = &u;
  compare_detail::AlignedRows rows_a, rows_b;
  std::vector<std::string> dialogue_of_row;
  for (const auto& u : a.predictions) {
    if (!compare_detail::has_target(u, a.task)) continue;
    compare_detail::push_row(rows_a, u);
    compare_detail::push_row(rows_b, *b_by_key.at(compare_detail::row_key(u)));
    dialogue_of_row.push_back(u.dialogue_id);
  }
  PairedComparison out;
  out.a = a.name;
  out.b = b.name;
  out.unit = options.unit;
  out.bootstrap = options.bootstrap;
  out.utterances = static_cast<int64_t>(dialogue_of_row.size());
  const auto by_dialogue = clusters_by_key(dialogue_of_row);
  out.dialogues = static_cast<int64_t>(by_dialogue.size());
  const ResampleStatistic diff = [&](const ResampleRows& rows) {
    const auto ma = compare_detail::metrics_on_rows(rows_a, a.task, a.num_classes, rows);
    const auto mb = compare_detail::metrics_on_rows(rows_b, b.task, b.num_classes, rows);
    std::vector<double> d;
    for (const auto& n : names) d.push_back(mb.get(n) - ma.get(n));
    return d;
  };
  const auto intervals = cluster_bootstrap(
      options.unit == ResampleUnit::kDialogue ? by_dialogue : singleton_clusters(out.utterances), diff,
      options.bootstrap);
  ResampleRows all(static_cast<size_t>(out.utterances));
  for (int64_t i = 0; i < out.utterances; ++i) all[static_cast<size_t>(i)] = i;
  const auto whole_a = compare_detail::metrics_on_rows(rows_a, a.task, a.num_classes, all);
  const auto whole_b = compare_detail::metrics_on_rows(rows_b, b.task, b.num_classes, all);
  for (size_t k = 0; k < names.size(); ++k) {
    MetricComparison m;
    m.metric = names[k];
    m.higher_is_better = metrics::higher_is_better(names[k]);
    m.value_a = whole_a.get(names[k]);
    m.value_b = whole_b.get(names[k]);
    m.difference = intervals[k];
    m.verdict = paired_verdict(m.metric, m.higher_is_better, m.difference);
    out.metrics.push_back(std::move(m));
  }
  std::vector<bool> right_a, right_b;
  const bool cls = a.task == data::Task::kClassification;
  for (size_t i = 0; i < all.size(); ++i) {
    if (cls) {
      right_a.push_back(rows_a.pred_class[i] == rows_a.label[i]);
      right_b.push_back(rows_b.pred_class[i] == rows_b.label[i]);
    } else if (rows_a.score[i] != 0.0) {
      right_a.push_back((rows_a.pred_score[i] > 0) == (rows_a.score[i] > 0));
      right_b.push_back((rows_b.pred_score[i] > 0) == (rows_b.score[i] > 0));
    }
  }
  out.mcnemar_on = cls ? "correctness" : "Acc-2 sign correctness (utterances with score != 0)";
  out.mcnemar = mcnemar_exact(right_a, right_b);
  out.mcnemar_verdict = mcnemar_verdict(out.mcnemar, 1.0 - options.bootstrap.level);
  return out;
}

std::string format_metric(const std::string& metric, double value, bool sign) {
  const bool raw = metric.find("mae") != std::string::npos || metric.find("corr") != std::string::npos ||
                   metric == "loss";
  if (!std::isfinite(value)) return "n/a";
  return sign ? fmt::format(raw ? "{:+.4f}" : "{:+.2f}", value) : fmt::format(raw ? "{:.4f}" : "{:.2f}", value);
}

std::string format_p(double p) {
  if (std::isnan(p)) return "p = n/a";
  if (p < 0.001) return "p < 0.001";
  return fmt::format("p = {:.3f}", p);
}

std::string paired_verdict(const std::string& metric, bool higher_is_better, const BootstrapInterval& d) {
  const std::string numbers =
      fmt::format("difference {} [{}, {}], {}", format_metric(metric, d.estimate, true), format_metric(metric, d.low),
                  format_metric(metric, d.high), format_p(d.p));
  if (!std::isfinite(d.low) || !std::isfinite(d.high)) return "undefined (no finite resample): " + numbers;
  if (d.low <= 0.0 && d.high >= 0.0) return "no significant difference: " + numbers;
  const bool b_better = (d.low > 0.0) == higher_is_better;
  return compare_detail::direction_text(b_better) + ": " + numbers;
}

std::string mcnemar_verdict(const McNemarResult& r, double alpha) {
  const std::string counts =
      fmt::format("A right / B wrong {}, A wrong / B right {}, {}", r.a_only, r.b_only, format_p(r.p));
  if (r.p >= alpha || r.a_only == r.b_only) return "no significant difference: " + counts;
  return compare_detail::direction_text(r.b_only > r.a_only) + ": " + counts;
}

std::string welch_verdict(const std::string& metric, bool higher_is_better, const WelchResult& r, double alpha) {
  if (!r.defined)
    return fmt::format("Welch's test undefined ({} vs {} runs; it needs >= 2 runs per side and some spread): "
                       "difference {}", r.n_a, r.n_b, format_metric(metric, r.difference, true));
  const std::string numbers = fmt::format("difference {} ({} vs {} runs), Welch t = {:.2f}, df = {:.1f}, {}",
                                          format_metric(metric, r.difference, true), r.n_a, r.n_b, r.t, r.df,
                                          format_p(r.p));
  if (r.p >= alpha) return "no significant difference: " + numbers;
  return compare_detail::direction_text((r.difference > 0) == higher_is_better) + ": " + numbers;
}

}  // namespace merc::analysis
