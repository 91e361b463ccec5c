// train.init_from / train.init_names (merc/train/init_weights.h): a fresh run starts from exactly
// the weights of a given merc run, logs where they came from, and refuses a missing path, weights of
// another shape, and upstream names for a model without an upstream name table.
#include "merc/train/init_weights.h"

#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/models/registry.h"
#include "merc/train/trainer.h"
#include "error_text.h"
#include "run_test_util.h"
#include "synthetic_data.h"

namespace merc::train {
namespace init_weights_test_detail {

using testing_support::error_text;

namespace fs = std::filesystem;

using InitWeightsTest = testing::RunDirTest;

// One epoch of run_test_util.h's mlp.
ExperimentConfig small_config() {
  ExperimentConfig c = testing::small_config();
  c.train.epochs = 1;
  return c;
}

// Every parameter of `model`, flattened in registration order (as testing::weights_of; the mlp has
// no buffers).
torch::Tensor flat(models::Model& model) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : model.parameters()) parts.push_back(p.detach().reshape({-1}));
  return torch::cat(parts);
}

struct Started {
  torch::Tensor weights;  // the second run's model before its first step
  std::string log;
};

// A run of `c` that returns before its first epoch, with its model's starting weights.
Started start(const ExperimentConfig& c, const data::Dataset& ds, const std::string& out) {
  std::shared_ptr<models::Model> built;
  std::ostringstream log;
  TrainOptions o;
  o.out_dir = out;
  o.log = &log;
  o.stop_after_epochs = 0;
  o.build_model = [&](const models::ModelDims& dims) {
    auto m = models::build_model(*c.model, dims);
    if (!built) built = m;  // the run's own model (init_from builds a scratch one after it)
    return m;
  };
  train_model(c, ds, o);
  return Started{flat(*built), log.str()};
}

}  // namespace init_weights_test_detail
using namespace init_weights_test_detail;

TEST_F(InitWeightsTest, FreshRunStartsFromTheGivenRunsWeights) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  TrainOptions first;
  first.out_dir = run("a");
  train_model(c, ds, first);
  const torch::Tensor trained = testing::weights_of(run("a"));

  // Another seed: its own initialisation differs from run a's weights, so the comparison below
  // can only pass through init_from.
  c.train.seed = 5;
  const Started own = start(c, ds, run("own"));
  ASSERT_FALSE(torch::equal(own.weights, trained));
  c.train.init_from = run("a");
  const Started from_dir = start(c, ds, run("b"));
  EXPECT_TRUE(torch::equal(from_dir.weights, trained));  // exact: a copy
  EXPECT_NE(from_dir.log.find("init: weights from " + run("a") + "/model.pt (merc names, epoch 1)"), std::string::npos)
      << from_dir.log;
  c.train.init_from = run("a") + "/model.pt";  // the file itself
  EXPECT_TRUE(torch::equal(start(c, ds, run("c")).weights, trained));
}

TEST_F(InitWeightsTest, ResumeIgnoresInitFrom) {
  // --resume restores the checkpoint's weights; init_from (saved in config.yaml) must not override them.
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  TrainOptions a;
  a.out_dir = run("a");
  train_model(c, ds, a);
  c.train.epochs = 2;
  c.train.init_from = run("a");
  TrainOptions b;
  b.out_dir = run("b");
  b.stop_after_epochs = 1;
  train_model(c, ds, b);
  fs::remove_all(run("a"));  // a resume that read init_from would now fail
  TrainOptions resume;
  resume.out_dir = run("b");
  resume.resume = true;
  EXPECT_TRUE(train_model(ExperimentConfig(), ds, resume).finished);
}

TEST_F(InitWeightsTest, BadSourcesAreClearErrors) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  c.train.init_from = run("nowhere");
  std::string e = error_text([&] { start(c, ds, run("x1")); });
  EXPECT_NE(e.find("train.init_from: '" + run("nowhere") + "' does not exist"), std::string::npos) << e;

  fs::create_directories(run("empty"));
  c.train.init_from = run("empty");
  e = error_text([&] { start(c, ds, run("x2")); });
  EXPECT_NE(e.find("has no model.pt"), std::string::npos) << e;

  // Weights of another shape: an mlp with another hidden width.
  ExperimentConfig wide = small_config();
  apply_override(wide, "model.hidden_dim=7");
  TrainOptions w;
  w.out_dir = run("wide");
  train_model(wide, ds, w);
  c.train.init_from = run("wide");
  e = error_text([&] { start(c, ds, run("x3")); });
  EXPECT_NE(e.find(run("wide") + "/model.pt"), std::string::npos) << e;
  EXPECT_NE(e.find("do not fit this run's model 'mlp'"), std::string::npos) << e;

  // Upstream names: mlp has no upstream name table.
  c.train.init_from = std::string(MERC_FIXTURE_DIR) + "/torch/nested.pth";
  c.train.init_names = "upstream";
  e = error_text([&] { start(c, ds, run("x4")); });
  EXPECT_NE(e.find("model 'mlp' has no upstream name table"), std::string::npos) << e;

  c.train.init_names = "pytorch";
  e = error_text([&] { c.validate(); });
  EXPECT_NE(e.find("train.init_names: expected merc or upstream, got 'pytorch'"), std::string::npos) << e;
}

}  // namespace merc::train
