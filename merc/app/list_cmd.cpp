// `merc list ...`: prints one of the registries.
#include <filesystem>
#include <ostream>

#include <fmt/format.h>

#include "merc/app/train_cmd.h"
#include "merc/core/error.h"
#include "merc/data/known_datasets.h"
#include "merc/data/missing_protocol.h"
#include "merc/data/readers/registry.h"
#include "merc/models/registry.h"
#include "merc/train/losses.h"
#include "merc/train/optimizers.h"
#include "merc/train/schedulers.h"

namespace merc::app {

int run_list(const std::string& what, std::ostream& out) {
  if (what == "models") {
    for (const auto& m : models::model_registry()) out << fmt::format("{:<14} {}\n", m.name, m.description);
  } else if (what == "datasets") {
    for (const auto& d : data::known_datasets()) {
      out << fmt::format("{:<12} {}\n", d.name, d.description);
      out << fmt::format("{:<12}   formats: {}; task: {}; splits: {}{}\n", "", d.formats, d.task, d.splits,
                         d.preset.empty() ? "" : "; preset: --set data.preset=" + d.preset);
    }
  } else if (what == "protocols") {
    for (const auto& p : data::missing_protocols())
      out << fmt::format("{:<22} {}\n", p.name + (p.arg_help.empty() ? "" : ":" + p.arg_help), p.description);
  } else if (what == "formats") {
    for (const auto& f : data::format_readers()) out << fmt::format("{:<22} {}\n", f.name, f.description);
  } else if (what == "optimizers") {
    for (const auto& o : train::optimizer_registry()) out << fmt::format("{:<10} {}\n", o.name, o.description);
  } else if (what == "schedulers") {
    for (const auto& s : train::scheduler_registry()) out << fmt::format("{:<10} {}\n", s.name, s.description);
  } else if (what == "losses") {
    for (const auto& l : train::loss_registry())
      out << fmt::format("{:<14} ({}) {}\n", l.name, data::task_name(l.task), l.description);
  } else if (what == "config") {
    const train::ExperimentConfig config;
    for (const auto& f : describe(config))
      out << fmt::format("{:<26} {:<14} {:<12} {}\n", f.key, f.type, f.value, f.help);
  } else {
    throw UnknownNameError(fmt::format(
        "merc list: unknown registry '{}'; valid: models, datasets, protocols, formats, optimizers, schedulers, "
        "losses, config",
        what));
  }
  return 0;
}

}  // namespace merc::app
