#include "merc/models/upstream/registry.h"

#include "merc/core/registry.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

const std::vector<UpstreamEntry>& upstream_registry() {
  // THE table of upstream name tables: {merc model, upstream repository@commit, table builder}.
  static const std::vector<UpstreamEntry> table = registry_checked(
      std::vector<UpstreamEntry>{
          {"m3net", "feiyuchen7/M3NET@4d0fa88", m3net_name_table},
          {"moed", "edm-anonymous/MoED@d35f7a4", moed_name_table},
      },
      "upstream name table");
  return table;
}

const UpstreamEntry& find_upstream(const std::string& model) {
  return registry_find(upstream_registry(), model, "model with an upstream name table");
}

}  // namespace merc::models::upstream
