#include "merc/data/readers/merc_native.h"

#include "merc/data/dataset_file.h"

namespace merc::data {

bool detect_merc_native(const Probe& probe) {
  return !probe.is_directory && !probe.pickle && is_merc_dataset_file(probe.path.string());
}

Dataset read_merc_native(const Probe& probe, const ReadOptions& options) {
  return read_dataset_file(probe.path.string(), options.keep_sequences);
}

}  // namespace merc::data
