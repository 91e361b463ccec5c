#pragma once
// A finished run directory as eval / predict / export-weights load it: model.pt (config, dims,
// selected weights), the text featurizer fitted at training time, and imported.json when the
// weights came from `merc import-checkpoint` instead of training.

#include <memory>
#include <string>
#include <vector>

#include "merc/models/model.h"
#include "merc/train/experiment_config.h"

namespace merc::app {

inline constexpr const char* kFeaturizerFile = "text_featurizer.safetensors";
inline constexpr const char* kImportedFile = "imported.json";

// Where imported weights came from (imported.json).
struct ImportProvenance {
  std::string checkpoint;   // absolute path at import time
  std::string sha256;
  std::string names;        // "upstream" | "merc"
  std::string upstream;     // owner/repo@commit of the name table ("" for --names merc)
  std::string state_dict_key;
  // One line for every output: "weights imported from FILE (sha256 ...), names of owner/repo@commit".
  std::string describe() const;
};

struct LoadedRun {
  train::ExperimentConfig config;
  models::ModelDims dims;
  std::shared_ptr<models::Model> model;
  int64_t epoch = 0;
  int stage = 0;  // the model stage of the weights (multi-stage models forward per stage)
  std::vector<std::string> class_names;  // as trained
  bool imported = false;
  ImportProvenance provenance;  // when imported
};

// Builds the run's model with its selected weights, in eval mode on the configured device.
LoadedRun load_run(const std::string& dir, int64_t threads, const std::string& device);

// The featurizer a run was trained with: its own directory's, or, for a run inside a sweep
// (<sweep>/<protocol>/seed-<n>/) or a fold (<folds>/<scheme>/), the one the sweep or fold runner
// fitted once at its root. The run's own path when none exists (the loader's error names it).
std::string run_featurizer_path(const std::string& run);

void write_provenance(const std::string& dir, const ImportProvenance& p);
// merc::FormatError naming the file when it is malformed.
ImportProvenance read_provenance(const std::string& path);

}  // namespace merc::app
