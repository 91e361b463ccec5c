#pragma once
// `merc data ...` subcommand bodies as library functions (testable in-process).

#include <filesystem>
#include <iosfwd>
#include <map>
#include <string>

#include "merc/data/readers/registry.h"

namespace merc::app {

// Input selection shared by every command that reads a dataset.
struct DataSource {
  std::string path;                 // empty = the embedded default
  std::string format;               // empty = detect
  // "MODALITY=DIR" feature folders (GCNet layout) and at most one "semantic=DIR" folder of
  // per-utterance semantic vectors (docs/semantic_vectors.md), which applies to every format.
  std::vector<std::string> features;
  // Split transforms applied after reading (the file's own splits are kept as given):
  double carve_valid = 0.0;  // > 0: carve this fraction of train dialogues into "valid" where a
                             // scheme has no validation partition (seeded, whole dialogues)
  uint64_t split_seed = 0;
  bool loso = false;         // add IEMOCAP leave-one-session-out schemes loso-1..loso-5
  bool sequences = false;    // keep per-utterance sequences where the format has them (ReadOptions::keep_sequences)
};

// The key of the semantic-vector entry in DataSource::features ("semantic=DIR").
inline constexpr const char* kSemanticFeatureKey = "semantic";

// Resolves a DataSource into read options (parses "text=DIR" and "semantic=DIR"; an unknown name
// -> merc::Error listing the accepted ones).
data::ReadOptions read_options(const DataSource& source);
// Reads the dataset named by `source` (or the embedded default); `format_used` as in read_dataset.
data::Dataset load_dataset(const DataSource& source, std::string* format_used = nullptr);

struct DataInspectArgs {
  DataSource source;
  bool json = false;
};
int run_data_inspect(const DataInspectArgs& args, std::ostream& out);

int run_data_list_formats(std::ostream& out);

struct DataConvertArgs {
  DataSource source;
  std::string output;          // OUT.safetensors
  int64_t featurize_text = 0;  // > 0: fit the transcript featurizer on train, this many dims
  uint64_t seed = 0;           // featurizer seed
};
// Where `merc data convert --featurize-text` saves the fitted featurizer next to OUT:
// "meld.safetensors" -> "meld.text_featurizer.safetensors".
std::string featurizer_state_path(const std::string& dataset_path);
int run_data_convert(const DataConvertArgs& args, std::ostream& out);

}  // namespace merc::app
