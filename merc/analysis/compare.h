#pragma once
// Comparing models honestly (issue 18 §5): the data structures and computations behind `merc
// compare`, with no file reading (merc/app/compare_cmd.h fills them from run and sweep
// directories).
//
// Two kinds of comparison:
//  * paired, one run against another on the SAME test utterances: a cluster bootstrap (dialogues
//    by default) of the metric difference B - A with a percentile CI, and the exact McNemar test
//    on per-utterance correctness (classification) or on the Acc-2 sign (regression);
//  * over seeds, one set of runs against another (sweeps or directories of seed runs): per
//    protocol group, the mean and sample std of each model's test metric over its seeds and
//    Welch's t-test of the difference of means.
// Both refuse (merc::Error naming the two sides and what differs) when the runs did not see the
// same data, split, partition, test protocol or task: a difference would then say nothing.

#include <cstdint>
#include <string>
#include <vector>

#include "merc/analysis/stats.h"
#include "merc/data/dataset.h"
#include "merc/metrics/metric_values.h"
#include "merc/train/evaluate.h"

namespace merc::analysis {

// ---- Paired comparison of two evaluated runs -------------------------------------------------

// One run evaluated on its test partition, as compare needs it.
struct ComparedRun {
  std::string name;          // how the user named it (the run directory)
  std::string model;         // model.name
  std::string dataset;       // DatasetInfo::name
  std::string dataset_path;  // config.data.path ("" = the embedded default)
  std::string split, partition, protocol;
  data::Task task = data::Task::kClassification;
  int64_t num_classes = 0;   // classification: C; regression: 0
  std::string selection;     // validation | test-max | imported
  std::string selection_note;
  // Loud warnings about the run's numbers (test-max, imported weights, gold history, contaminated
  // data), made by the caller from the run's config (app/report_warnings.h config_warnings), so
  // compare and the HTML report say the same thing; printed before the comparison.
  std::vector<std::string> warnings;
  // Every utterance of the partition in dialogue order (train::evaluate with keep_predictions);
  // the rows with a target (label >= 0 / finite score) are the ones compared.
  std::vector<train::UtterancePrediction> predictions;
};

enum class ResampleUnit { kDialogue, kUtterance };
std::string unit_name(ResampleUnit unit);      // "dialogue" | "utterance"
ResampleUnit parse_unit(const std::string& s);  // merc::Error listing the two names

struct PairedOptions {
  std::vector<std::string> metrics;  // empty = default_metrics(task)
  BootstrapOptions bootstrap;
  ResampleUnit unit = ResampleUnit::kDialogue;
};

// The main metrics of a task: classification accuracy, weighted_f1; regression mae, acc2, corr.
std::vector<std::string> default_metrics(data::Task task);

struct MetricComparison {
  std::string metric;
  bool higher_is_better = true;
  double value_a = 0.0, value_b = 0.0;  // on the whole test set
  BootstrapInterval difference;         // of B - A (estimate = value_b - value_a)
  std::string verdict;                  // paired_verdict(...)
};

struct PairedComparison {
  std::string a, b;  // run names
  int64_t utterances = 0, dialogues = 0;  // compared (rows with a target)
  ResampleUnit unit = ResampleUnit::kDialogue;
  BootstrapOptions bootstrap;
  std::vector<MetricComparison> metrics;
  // Classification: per-utterance correctness (pred == label). Regression: the Acc-2 sign,
  // (pred > 0) == (score > 0) on the utterances with score != 0 (acc2's subset).
  std::string mcnemar_on;
  McNemarResult mcnemar;
  std::string mcnemar_verdict;
};

// merc::Error naming both runs and every difference when they were not evaluated on the same
// dataset (name and path), split, partition, test protocol, task, classes, or on the same set of
// test utterances (keyed by dialogue_id + utterance_idx, rows with a target).
void check_same_test_set(const ComparedRun& a, const ComparedRun& b);

// check_same_test_set, then B's rows matched to A's by key and every metric's difference
// bootstrapped (all metrics from the same resamples), then McNemar. merc::Error for a metric name
// that is not one of the task's metrics (the message lists them).
PairedComparison compare_paired(const ComparedRun& a, const ComparedRun& b, const PairedOptions& options);

// "B better than A: difference +1.20 [0.40, 2.00], p = 0.010", "A better than B: ..." or "no
// significant difference: difference +0.40 [-0.30, 1.10], p = 0.27". The direction uses
// higher_is_better; significance is the interval excluding 0 (an interval touching 0 is not
// significant), never p alone.
std::string paired_verdict(const std::string& metric, bool higher_is_better, const BootstrapInterval& difference);
std::string mcnemar_verdict(const McNemarResult& r, double alpha);

// A metric value printed at its scale: 4 decimals for mae / corr / loss, 2 for percentages.
std::string format_metric(const std::string& metric, double value, bool sign = false);
// "p = 0.012", "p < 0.001", "p = n/a" (NaN).
std::string format_p(double p);

// ---- Seed-level comparison of two sets of runs -----------------------------------------------

// One finished run of a sweep, a k-fold run or a directory of seed runs (its metrics.json).
struct SeedRun {
  std::string run_dir;
  std::string group;     // the sweep group (the protocol, or the fold prefix)
  std::string protocol;  // train = test protocol of the cell
  std::string split;
  int64_t seed = 0;
  std::string model, dataset, dataset_path, task, selection;
  std::vector<std::string> warnings;  // as ComparedRun::warnings
  metrics::MetricValues test;
};

struct SeedSet {
  std::string name;  // the directory
  std::vector<SeedRun> runs;
};

struct GroupComparison {
  std::string group, protocol;
  std::string metric;
  bool higher_is_better = true;
  WelchResult welch;  // a = the first set's seeds, b = the other's
  std::string verdict;
};

struct SeedComparison {
  std::string a, b;              // set names
  std::string model_a, model_b;
  std::string dataset, task;
  std::vector<GroupComparison> rows;       // groups in A's order x metrics
  std::vector<std::string> only_in_a, only_in_b;  // groups one side lacks (not compared)
};

// merc::Error when a set mixes models, datasets, tasks or selection rules, or is empty.
void check_seed_set(const SeedSet& set);
// check_seed_set on both, then per shared group (refusal when none is shared, or when a shared
// group differs in protocol or in its set of splits, or the sets differ in dataset or task).
// metrics: empty = default_metrics(task); alpha = 1 - level for the verdicts.
SeedComparison compare_seed_sets(const SeedSet& a, const SeedSet& b, const std::vector<std::string>& metrics,
                                 double alpha);

// "B better than A: difference +1.20 (3 vs 3 seeds), Welch t = 2.41, df = 3.9, p = 0.071" etc.;
// "Welch's test undefined ..." when a side has < 2 runs or neither side varies.
std::string welch_verdict(const std::string& metric, bool higher_is_better, const WelchResult& r, double alpha);


}  // namespace merc::analysis
