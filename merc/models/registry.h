#pragma once
// THE model table (registry.cpp). Each row: name, one-line description, a factory for the model's
// default config, a builder, and a "tiny" edit that shrinks the config for the registry sweep test.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "merc/models/model.h"

namespace merc::models {

struct ModelEntry {
  std::string name;
  std::string description;
  std::function<std::unique_ptr<ModelConfig>()> make_config;  // defaults, with name set
  // Builds the model; a config of the wrong type or bad values -> merc::Error.
  std::function<std::shared_ptr<Model>(const ModelConfig&, const ModelDims&)> build;
  std::function<void(ModelConfig&)> make_tiny;  // small sizes for fast tests
};

const std::vector<ModelEntry>& model_registry();
// Lookup; unknown -> UnknownNameError listing the valid names.
const ModelEntry& find_model(const std::string& name);
// Default config of `name`.
std::unique_ptr<ModelConfig> make_model_config(const std::string& name);
// Builds from a config (dispatching on config.name).
std::shared_ptr<Model> build_model(const ModelConfig& config, const ModelDims& dims);

}  // namespace merc::models
