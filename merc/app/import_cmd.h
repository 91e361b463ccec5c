#pragma once
// `merc import-checkpoint` and `merc export-weights` bodies (testable in-process).
//
// import-checkpoint builds the model a config describes for a dataset's dims, loads an upstream
// torch.save checkpoint through the model's upstream name table (merc/models/upstream), evaluates
// it on the valid and test partitions, and writes a normal run directory (config.yaml, model.pt,
// metrics.json, imported.json), so eval / predict / --export / --inertia work on it unchanged.
// export-weights writes a run's weights as safetensors, under upstream or merc names.

#include <iosfwd>
#include <string>

#include "merc/app/train_cmd.h"

namespace merc::app {

struct ImportArgs {
  ConfigArgs config;             // --config / --set / --data / --split / --threads / --device
  std::string checkpoint;        // --checkpoint FILE (torch.save, zip or legacy format)
  std::string out;               // --out DIR
  std::string state_dict_key;    // --state-dict-key PATH (default: found automatically)
  std::string names = "upstream";  // --names upstream | merc
  bool keep_module_prefix = false; // --keep-module-prefix
};
int run_import_checkpoint(const ImportArgs& args, std::ostream& out);

struct ExportWeightsArgs {
  std::string run;                 // --run DIR
  std::string to;                  // --to FILE.safetensors
  std::string names = "upstream";  // --names upstream | merc
};
int run_export_weights(const ExportWeightsArgs& args, std::ostream& out);

}  // namespace merc::app
