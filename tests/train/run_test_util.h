#pragma once
// Shared by the tests that train small runs (trainer_test.cpp, init_weights_test.cpp): a temporary
// run directory per test, a small mlp config for testing::synthetic_dataset, and the selected
// weights of a finished run.

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/models/registry.h"
#include "merc/train/checkpoint.h"
#include "merc/train/experiment_config.h"

namespace merc::train::testing {

// dir_: <tmp>/merc_<suite>_<pid>_<test>, created empty and removed afterwards; run(name) a run in it.
class RunDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("merc_") + info->test_suite_name() + "_" + std::to_string(::getpid()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string run(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

inline ExperimentConfig small_config(const std::string& model = "mlp") {
  ExperimentConfig c;
  apply_override(c, "model.name=" + model);
  c.data.split = "given";
  c.train.epochs = 4;
  c.train.batch_size = 4;
  c.train.lr = 0.02;
  c.train.threads = 1;
  c.train.progress = "none";
  return c;
}

// All parameters of the selected weights in `dir` (its model.pt), flattened.
inline torch::Tensor weights_of(const std::string& dir) {
  const CheckpointHeader h = read_checkpoint_header(dir + "/model.pt");
  ExperimentConfig c;
  apply_yaml_text(c, h.config_yaml, "test");
  auto model = models::build_model(*c.model, h.dims);
  load_weights(dir + "/model.pt", *model);
  std::vector<torch::Tensor> flat;
  for (const auto& p : model->parameters()) flat.push_back(p.detach().reshape({-1}));
  return torch::cat(flat);
}

}  // namespace merc::train::testing
