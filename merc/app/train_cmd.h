#pragma once
// `merc train | eval | predict | sweep | list` bodies as library functions (testable in-process).

#include <iosfwd>
#include <string>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/train/experiment_config.h"

namespace merc::app {

// Shared by train and sweep: where the config comes from.
struct ConfigArgs {
  std::string config_file;             // --config (may be empty: defaults + presets)
  std::vector<std::string> overrides;  // --set k=v (repeatable)
  std::string config_dir;              // --config-dir (presets); empty = default
  // Interface-contract shortcuts, applied as the last --set layers when given:
  std::string data;                    // --data PATH -> data.path
  std::string split;                   // --split NAME -> data.split
  int64_t threads = -1;                // --threads N -> train.threads
  std::string device;                  // --device -> train.device
};
train::ExperimentConfig resolve_experiment(const ConfigArgs& args, std::ostream* out);

// The dataset a config names, with transcript-only data featurized: the featurizer is fitted on
// the train partition of the chosen split and saved to `featurizer_out` (when not empty), or loaded
// from `featurizer_in` (eval/predict reuse the one fitted at training time).
data::Dataset load_experiment_dataset(const train::DataConfig& config, const std::string& featurizer_in,
                                      const std::string& featurizer_out);

struct TrainArgs {
  ConfigArgs config;
  std::string out;     // --out DIR (default runs/<model>-<timestamp>)
  std::string resume;  // --resume DIR
  std::string folds;   // --folds PREFIX: one run per scheme PREFIX-N (e.g. loso), mean/std
  bool print_config = false;  // --print-config: print the resolved config and exit
};
int run_train(const TrainArgs& args, std::ostream& out);

struct EvalArgs {
  std::string run;                      // --run DIR
  std::string data;                     // --data PATH (default: the run's data)
  std::string split;                    // --split NAME (scheme; default: the run's)
  std::string partition = "test";       // --partition NAME
  std::vector<std::string> protocols;   // --protocol SPEC (repeatable; default: the run's test protocol)
  bool scenarios = false;               // --scenarios: CADGL's scenarios + summary (app/scenario_table.h)
  std::string export_dir;               // --export DIR: per-utterance CSV + .npy features/labels/speakers
  bool inertia = false;                 // --inertia: emotional-inertia analysis (classification)
  bool json = false;
  int64_t threads = -1;
  std::string device;
  // --overhead (app/overhead_cmd.h): parameters, latency, peak memory and FLOPs of the run's model
  // on the partition (one dialogue per forward) instead of its metrics.
  bool overhead = false;
  bool overhead_dummy = false;     // --overhead-dummy: MoED's dummy batch (B = 1, T = 40) instead of data
  int64_t overhead_warmup = 5;     // --overhead-warmup N: untimed forwards first
  int64_t overhead_repeats = 10;   // --overhead-repeats N: timed passes over the dialogues
  int64_t overhead_dialogues = 0;  // --overhead-dialogues N: the first N of the partition (0 = all)
};
int run_eval(const EvalArgs& args, std::ostream& out);

struct PredictArgs {
  std::string run;
  std::string data;       // --data FILE (default: the run's data)
  std::string split;      // scheme for --partition
  std::string partition;  // empty = every dialogue of the dataset
  std::string out;        // --out preds.csv
  std::string protocol = "complete";
  int64_t threads = -1;
  std::string device;
};
int run_predict(const PredictArgs& args, std::ostream& out);

struct SweepArgs {
  ConfigArgs config;
  std::string out;
  std::vector<double> rates;
  std::vector<int64_t> seeds;
  std::vector<std::string> conditions;
};
int run_sweep_cmd(const SweepArgs& args, std::ostream& out);

// `merc list models|datasets|protocols|formats|optimizers|schedulers|losses|config`.
int run_list(const std::string& what, std::ostream& out);

}  // namespace merc::app
