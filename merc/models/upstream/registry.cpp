#include "merc/models/upstream/registry.h"

#include "merc/core/registry.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

const std::vector<UpstreamEntry>& upstream_registry() {
  // THE table of upstream name tables: {merc model, upstream repository@commit, table builder}.
  static const std::vector<UpstreamEntry> table = registry_checked(
      std::vector<UpstreamEntry>{
          {"comp", "WenjueHE/2026-AAAI-ComP@28192d3", comp_name_table},
          {"momke", "wxxv/MoMKE@2dceb57", momke_name_table},
      },
      "upstream name table");
  return table;
}

const UpstreamEntry& find_upstream(const std::string& model) {
  return registry_find(upstream_registry(), model, "model with an upstream name table");
}

}  // namespace merc::models::upstream
