#pragma once
// Shared by every parity test: a published experiment file (configs/experiments/) resolved with the
// fixture's overrides (its shrunk sizes, the switches that reproduce the upstream code).

#include <filesystem>
#include <string>
#include <vector>

#include "merc/train/experiment_config.h"

namespace merc::parity {

inline train::ExperimentConfig published_config(const std::string& experiment,
                                                const std::vector<std::string>& overrides) {
  const std::filesystem::path configs = std::filesystem::path(MERC_SOURCE_DIR) / "configs";
  train::ConfigLayers layers;
  layers.config_dir = configs.string();
  layers.experiment_file = (configs / "experiments" / experiment).string();
  layers.overrides = overrides;
  return train::resolve_config(layers);
}

}  // namespace merc::parity
