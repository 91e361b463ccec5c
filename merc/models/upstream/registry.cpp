#include "merc/models/upstream/registry.h"

#include "merc/core/registry.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

const std::vector<UpstreamEntry>& upstream_registry() {
  // THE table of upstream name tables: {merc model, upstream repository@commit, table builder}.
  static const std::vector<UpstreamEntry> table = registry_checked(
      std::vector<UpstreamEntry>{
          {"gcnet", "zeroQiaoba/GCNet@8cce4a0", gcnet_names},
          {"mmgcn", "hujingwen6666/MMGCN@85732d9", mmgcn_names},
      },
      "upstream name table");
  return table;
}

const UpstreamEntry& find_upstream(const std::string& model) {
  return registry_find(upstream_registry(), model, "model with an upstream name table");
}

}  // namespace merc::models::upstream
