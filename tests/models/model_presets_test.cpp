// configs/models/<name>.yaml: one preset per registered model, whose `model` section applies to
// the model's config without error and whose `train` section uses only trainer keys.

#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "merc/core/config.h"
#include "merc/models/registry.h"

namespace merc::models {
namespace {

const std::filesystem::path kPresetDir = std::filesystem::path(MERC_SOURCE_DIR) / "configs" / "models";

TEST(ModelPresets, EveryModelHasAValidPreset) {
  // The trainer's keys (issue 3: epochs, seed, batch_size, lr, optimizer, weight_decay, momentum).
  const std::set<std::string> train_keys = {"epochs", "seed", "batch_size", "lr", "optimizer", "weight_decay",
                                            "momentum"};
  for (const ModelEntry& e : model_registry()) {
    const auto path = kPresetDir / (e.name + ".yaml");
    ASSERT_TRUE(std::filesystem::exists(path)) << "no preset for model " << e.name << " at " << path;
    const YAML::Node root = YAML::LoadFile(path.string());
    ASSERT_TRUE(root["model"].IsMap()) << path;
    EXPECT_EQ(root["model"]["name"].as<std::string>(), e.name) << path;
    auto config = e.make_config();
    EXPECT_NO_THROW(apply_yaml(*config, root["model"], path.string())) << path;
    EXPECT_EQ(config->name, e.name);
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      EXPECT_TRUE(key == "model" || key == "train") << path << ": unexpected section " << key;
    }
    if (root["train"]) {
      for (const auto& kv : root["train"])
        EXPECT_TRUE(train_keys.count(kv.first.as<std::string>())) << path << ": unknown train key " << kv.first;
      if (root["train"]["optimizer"]) {
        const auto opt = root["train"]["optimizer"].as<std::string>();
        EXPECT_TRUE(opt == "adam" || opt == "adamw" || opt == "sgd") << path << ": optimizer " << opt;
      }
    }
  }
}

TEST(ModelPresets, PublishedValuesAreTheDefaults) {
  // The code defaults equal the presets, so a config without a preset is still the published model.
  for (const ModelEntry& e : model_registry()) {
    const auto path = kPresetDir / (e.name + ".yaml");
    auto from_preset = e.make_config();
    apply_yaml(*from_preset, YAML::LoadFile(path.string())["model"], path.string());
    EXPECT_EQ(to_yaml_text(*from_preset), to_yaml_text(*e.make_config())) << path;
  }
}

}  // namespace
}  // namespace merc::models
