#pragma once
// Protocol runners on top of train_model: sweeps (missing rates x seeds x conditions) and k-fold
// cross-validation (one fold per split scheme, e.g. IEMOCAP leave-one-session-out), each run in
// its own sub-directory, results gathered into a table (CSV, JSON, Markdown).
//
// Resuming: a cell whose directory has metrics.json is read back, not retrained; one with only a
// checkpoint.pt (killed mid-run) is resumed; others start fresh. So re-running an interrupted
// sweep with the same arguments finishes it and produces the same table.

#include <iosfwd>
#include <string>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/metrics/accumulator.h"
#include "merc/train/experiment_config.h"

namespace merc::train {

struct RunCell {
  std::string group;     // e.g. "random:0.3" or "loso-2": rows with the same group are aggregated
  std::string protocol;  // train/test protocol of the cell
  int64_t seed = 0;
  std::string split;
  std::string run_dir;
  int64_t best_epoch = -1;
  bool reused = false;   // read back from an earlier run
  metrics::MetricValues valid, test;
};

struct SummaryRow {
  std::string group;
  int64_t runs = 0;
  std::vector<std::string> metrics;  // names, in order
  std::vector<double> mean, std;     // population std over runs (numpy's default, ddof = 0)
};

struct RunTable {
  std::string selection;  // selection label of the runs
  std::vector<RunCell> cells;
  std::vector<SummaryRow> summary;  // one per group, in first-seen order
};

struct SweepSpec {
  std::vector<double> rates;              // random missing rates (GCNet protocol), train = test
  std::vector<std::string> conditions;    // other protocols, e.g. fixed:at (train = test)
  std::vector<int64_t> seeds;             // train.seed values (the mask seed follows train.seed)
};

// The cells a sweep runs, in order (rates then conditions, each over seeds).
std::vector<RunCell> plan_sweep(const SweepSpec& spec, const std::string& out_dir);

RunTable run_sweep(const ExperimentConfig& base, const data::Dataset& dataset, const SweepSpec& spec,
                   const std::string& out_dir, std::ostream* log);

// One run per split scheme whose name starts with `scheme_prefix` + "-" (e.g. "loso" ->
// loso-1..loso-5), each with data.split set to it; summary = mean/std over folds.
RunTable run_folds(const ExperimentConfig& base, const data::Dataset& dataset, const std::string& scheme_prefix,
                   const std::string& out_dir, std::ostream* log);

// Aggregates cells into summary rows (test metrics).
void summarize(RunTable& table);
// Writes results.csv (one row per run), results.json (runs + summary) and results.md (summary
// table) into out_dir; returns the Markdown.
std::string write_run_table(const RunTable& table, const std::string& out_dir);
std::string markdown_summary(const RunTable& table, const std::vector<std::string>& metrics = {});

// Reads metrics.json of a finished run into a cell; merc::FormatError when malformed.
void read_run_metrics(const std::string& run_dir, RunCell& cell);

}  // namespace merc::train
