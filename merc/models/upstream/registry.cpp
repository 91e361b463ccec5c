#include "merc/models/upstream/registry.h"

#include "merc/core/registry.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

const std::vector<UpstreamEntry>& upstream_registry() {
  // THE table of upstream name tables: {merc model, upstream repository@commit, table builder}.
  static const std::vector<UpstreamEntry> table = registry_checked(
      std::vector<UpstreamEntry>{
          {"comp", "WenjueHE/2026-AAAI-ComP@28192d3", comp_name_table},
          {"graphsmile", "lijfrank-open/GraphSmile@96745a2", graphsmile_names},
          {"m3net", "feiyuchen7/M3NET@4d0fa88", m3net_name_table},
          {"moed", "edm-anonymous/MoED@d35f7a4", moed_name_table},
          {"momke", "wxxv/MoMKE@2dceb57", momke_name_table},
          {"gcnet", "zeroQiaoba/GCNet@8cce4a0", gcnet_names},
          {"mmgcn", "hujingwen6666/MMGCN@85732d9", mmgcn_names},
          {"rohydr", "Siowllience/RoHyDR@d305062", rohydr_name_table},
      },
      "upstream name table");
  return table;
}

const UpstreamEntry& find_upstream(const std::string& model) {
  for (const auto& e : upstream_registry())
    if (e.name == model) return e;
  const std::vector<std::string> names = registry_names(upstream_registry());
  throw UnknownNameError(fmt::format("model '{}' has no upstream name table, so it cannot import the authors' "
                                     "checkpoints (models that can: {}); --names merc reads merc's own names",
                                     model, names.empty() ? "none yet" : fmt::format("{}", fmt::join(names, ", "))));
}

}  // namespace merc::models::upstream
