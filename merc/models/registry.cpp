#include "merc/models/registry.h"

#include "merc/core/registry.h"

namespace merc::models {

const std::vector<ModelEntry>& model_registry() {
  // THE table of models. Add a row per model (name, description, config factory, builder, tiny).
  static const std::vector<ModelEntry> table = registry_checked(std::vector<ModelEntry>{}, "model");
  return table;
}

const ModelEntry& find_model(const std::string& name) { return registry_find(model_registry(), name, "model"); }

std::unique_ptr<ModelConfig> make_model_config(const std::string& name) {
  auto config = find_model(name).make_config();
  config->name = name;
  return config;
}

std::shared_ptr<Model> build_model(const ModelConfig& config, const ModelDims& dims) {
  return find_model(config.name).build(config, dims);
}

}  // namespace merc::models
