#pragma once
// THE table of upstream name tables (registry.cpp): one row per merc model that can import the
// authors' checkpoints. A row's function builds the table for a given config and dims (layer counts,
// modalities and published switches change which keys exist).

#include <functional>
#include <string>
#include <vector>

#include "merc/models/model.h"
#include "merc/models/upstream/name_table.h"

namespace merc::models::upstream {

struct UpstreamEntry {
  std::string name;         // merc model name
  std::string repository;   // "owner/repo@commit" (method_reference.md §0)
  std::function<NameTable(const ModelConfig&, const ModelDims&)> table;
};

const std::vector<UpstreamEntry>& upstream_registry();
// Unknown -> UnknownNameError listing the models that have a table.
const UpstreamEntry& find_upstream(const std::string& model);

}  // namespace merc::models::upstream
