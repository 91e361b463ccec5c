#pragma once
// `merc compare DIR_A DIR_B [...]` (issue 18 §5): whether one model really beats another.
//
// Each DIR is one of
//   * a run directory (model.pt): evaluated again on its test partition under its test protocol
//     (predict_saved_run), then compared with the first DIR on the same test utterances: paired
//     bootstrap CIs of the metric differences and the exact McNemar test (analysis/compare.h);
//   * a sweep or k-fold directory (results.json from `merc sweep` / `merc train --folds`), or a
//     directory whose sub-directories are finished runs (metrics.json; e.g. one run per seed):
//     per protocol group, mean and std over seeds and Welch's t-test against the first DIR.
// Every DIR after the first is compared with the first. Runs and sets of runs cannot be mixed.
// merc::Error naming both sides and what differs when they used different data, splits, test
// protocols or tasks.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace merc::app {

struct CompareArgs {
  std::vector<std::string> dirs;     // DIR_A DIR_B [...]
  std::vector<std::string> metrics;  // --metric (repeatable); empty = the task's main metrics
  int64_t resamples = 10000;         // --resamples
  double level = 0.95;               // --level: CI level; 1 - level is the tests' alpha
  uint64_t seed = 0;                 // --seed of the bootstrap
  std::string unit = "dialogue";     // --unit dialogue | utterance
  bool json = false;                 // --json: one JSON object instead of the text tables
  int64_t threads = -1;              // --threads for evaluating runs (-1: each run's train.threads)
  std::string device;                // --device (empty: each run's)
};

int run_compare(const CompareArgs& args, std::ostream& out);

}  // namespace merc::app
