#include "merc/train/experiment_config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/models/registry.h"

namespace merc::train {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

class ExperimentConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("merc_cfg_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    write(dir_ / "configs/models/mlp.yaml", "model: {name: mlp, hidden_dim: 32}\ntrain: {lr: 0.005, epochs: 7}\n");
    write(dir_ / "configs/datasets/toy.yaml", "data: {split: poria, task: classification}\ntrain: {epochs: 3}\n");
    write(dir_ / "exp.yaml", "data: {preset: toy}\nmodel: {name: mlp}\ntrain: {lr: 0.01}\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ExperimentConfigTest, LayersInTheDocumentedOrder) {
  ConfigLayers l;
  l.config_dir = (dir_ / "configs").string();
  l.experiment_file = (dir_ / "exp.yaml").string();
  l.overrides = {"train.batch_size=4", "model.dropout=0.25"};
  std::vector<std::string> sources;
  const ExperimentConfig c = resolve_config(l, &sources);
  ASSERT_EQ(sources.size(), 5u);
  EXPECT_NE(sources[0].find("datasets/toy.yaml"), std::string::npos);
  EXPECT_NE(sources[1].find("models/mlp.yaml"), std::string::npos);
  EXPECT_NE(sources[2].find("exp.yaml"), std::string::npos);
  EXPECT_EQ(sources[3], "--set train.batch_size=4");
  EXPECT_EQ(c.model->name, "mlp");
  EXPECT_EQ(c.data.split, "poria");                         // dataset preset
  EXPECT_EQ(c.train.epochs, 7);                             // model preset over dataset preset
  EXPECT_DOUBLE_EQ(c.train.lr, 0.01);                       // experiment over model preset
  EXPECT_EQ(c.train.batch_size, 4);                         // --set over everything
  EXPECT_EQ(get_value_text(*c.model, "hidden_dim"), "32");  // model preset field of the model's own type
  EXPECT_EQ(get_value_text(*c.model, "dropout"), "0.25");
}

TEST_F(ExperimentConfigTest, ErrorsListValidNames) {
  ConfigLayers l;
  l.config_dir = (dir_ / "configs").string();
  l.overrides = {"model.name=transformerx"};
  try {
    resolve_config(l);
    FAIL();
  } catch (const UnknownNameError& e) {
    EXPECT_NE(std::string(e.what()).find("mlp"), std::string::npos) << e.what();
  }
  l.overrides = {"data.preset=nope"};
  EXPECT_THROW(resolve_config(l), Error);
  l.overrides = {"model.name=mlp", "model.no_such_field=1"};
  try {
    resolve_config(l);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'model.no_such_field'"), std::string::npos) << e.what();
  }
  l.overrides = {"selection=best"};
  EXPECT_THROW(resolve_config(l), Error);
  l.overrides = {"train.epochs=0"};
  EXPECT_THROW(resolve_config(l), Error);
}

TEST_F(ExperimentConfigTest, CopiesAndSavedFilesRoundTrip) {
  ExperimentConfig c;
  apply_override(c, "model.name=mlp");
  apply_override(c, "model.hidden_dim=12");
  apply_override(c, "protocol.test=random:0.3");
  const ExperimentConfig copy = c;
  EXPECT_EQ(to_yaml_text(copy), to_yaml_text(c));
  write(dir_ / "saved.yaml", to_yaml_text(c));
  EXPECT_EQ(to_yaml_text(load_config_file((dir_ / "saved.yaml").string())), to_yaml_text(c));
  // Switching model.name replaces the model section with the new model's defaults.
  ExperimentConfig d = c;
  apply_override(d, "model.name=bc_lstm");
  EXPECT_EQ(d.model->name, "bc_lstm");
  EXPECT_THROW(get_value_text(*d.model, "no_such"), UnknownNameError);
}

TEST(ModelRegistry, EveryModelHasADefaultConfigWithItsName) {
  ASSERT_GE(models::model_registry().size(), 3u);
  for (const auto& m : models::model_registry()) {
    auto c = models::make_model_config(m.name);
    EXPECT_EQ(c->name, m.name);
    ExperimentConfig e;
    apply_override(e, "model.name=" + m.name);
    EXPECT_EQ(e.model->name, m.name);
  }
}

}  // namespace
}  // namespace merc::train
