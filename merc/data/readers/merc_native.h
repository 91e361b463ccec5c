#pragma once
// Registry adapter for merc's native dataset file (merc/data/dataset_file.h): the "merc" row of
// format_readers().

#include "merc/data/readers/registry.h"

namespace merc::data {

// True for a regular file whose safetensors header says __metadata__.format == "merc.dataset".
bool detect_merc_native(const Probe& probe);
// read_dataset_file(probe.path, options.keep_sequences); no other option is used (the file is
// self-contained).
Dataset read_merc_native(const Probe& probe, const ReadOptions& options);

}  // namespace merc::data
