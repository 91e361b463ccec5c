#pragma once
// What `merc report` reads from a run, k-fold or sweep directory, checked file by file so that a
// missing or corrupt file is reported by name (merc::FormatError, whose message starts with the
// path).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "merc/app/report_cmd.h"
#include "merc/data/dataset.h"
#include "merc/train/experiment_config.h"

namespace merc::app {

// One run directory's files.
struct RunFiles {
  std::string dir;
  train::ExperimentConfig config;           // config.yaml
  std::string config_text;                  // config.yaml as written
  nlohmann::ordered_json metrics;           // metrics.json (objects "valid" and "test" checked)
  std::vector<nlohmann::ordered_json> log;  // train_log.jsonl rows; empty for an imported run
  bool imported = false;                    // imported.json present (no train_log.jsonl needed)
};
RunFiles read_run_files(const std::string& dir);

// The dataset a run trained on (its featurizer for transcript-only data, as predict_saved_run).
data::Dataset load_run_dataset(const std::string& dir, const train::ExperimentConfig& config);

struct PartitionSize {
  std::string name;  // train | valid (or the dataset's dev name) | test
  int64_t dialogues = 0;
  int64_t utterances = 0;
};

// The data side of a protocol card: the partitions the run's config selects.
struct DataFacts {
  data::DatasetInfo info;
  std::string split;               // the scheme used (config.data.split resolved)
  data::Task task = data::Task::kClassification;
  std::vector<PartitionSize> partitions;  // train, valid (when any), test
  std::vector<std::string> notes;  // what select_partitions decided (carving, dev as test)
};
DataFacts data_facts(const data::Dataset& ds, const train::ExperimentConfig& config);

// results.json of a k-fold or sweep directory, each run's directory found under DIR.
struct ResultsCell {
  std::string dir;              // the run's directory under DIR
  nlohmann::ordered_json json;  // its entry of results.json "runs"
};
struct ResultsTable {
  ReportKind kind = ReportKind::kSweep;
  std::vector<ResultsCell> cells;                // >= 1
  std::vector<nlohmann::ordered_json> summary;   // results.json "summary" (group, runs, mean, std)
};
// kFolds when every run's recorded directory is named after its split scheme
// (<folds>/<scheme>/), else kSweep (<sweep>/<protocol>/seed-<n>/).
ResultsTable read_run_table(const std::string& dir);

}  // namespace merc::app
