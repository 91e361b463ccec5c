#pragma once
// The embedded default dataset (converted CMU-MOSI, data/mosi.safetensors) that every command
// uses when no --data / PATH is given.

#include <filesystem>
#include <vector>

namespace merc::app {

// Where the default is looked for, in order: $MERC_DEFAULT_DATASET, <exe>/../share/merc/,
// <exe>/../data/ and the source tree's data/ (compiled in). Existing or not.
std::vector<std::filesystem::path> default_dataset_candidates();
// The first candidate that exists; throws merc::Error listing every place checked.
std::filesystem::path default_dataset_path();

}  // namespace merc::app
