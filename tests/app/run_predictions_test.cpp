// predict_saved_run: a finished run evaluated again gives back, per utterance, what its
// metrics.json summarised (same test metrics), on every test utterance, and refuses what is not a
// run or not a partition.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "tiny_run_util.h"
#include "merc/app/run_predictions.h"
#include "merc/core/error.h"
#include "merc/data/dataset_file.h"
#include "../support/error_text.h"
#include "../train/synthetic_data.h"

namespace merc::app {
namespace run_predictions_test_detail {

namespace fs = std::filesystem;

class RunPredictionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const testing::TinyDataDir d = testing::make_tiny_data_dir("merc_run_predictions");
    dir_ = d.dir;
    data_ = d.data;
    const testing::CliResult r = testing::train_tiny_run(data_, run());
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string run() { return (dir_ / "cls").string(); }
  static fs::path dir_;
  static std::string data_;
};
fs::path RunPredictionsTest::dir_;
std::string RunPredictionsTest::data_;

}  // namespace run_predictions_test_detail

namespace {

using namespace run_predictions_test_detail;

TEST_F(RunPredictionsTest, ReproducesTheRunsTestMetricsOnEveryTestUtterance) {
  const RunPredictions p = predict_saved_run(run(), RunPredictionRequest{});
  std::ifstream f(fs::path(run()) / "metrics.json");
  const nlohmann::json m = nlohmann::json::parse(f);
  // The same weights, data and fixed complete-modality masks: the same forward in the same
  // order, so the accuracy is the same number (exact up to printing to JSON's 17 digits).
  EXPECT_NEAR(p.result.metrics.get("accuracy"), m["test"]["accuracy"].get<double>(), 1e-12);
  // Split "given": 4 test dialogues (ids 20..23, lengths 3 + d % 4 = 3, 4, 5, 6).
  EXPECT_EQ(p.partition_dialogues, 4);
  EXPECT_EQ(p.result.predictions.size(), 18u);
  EXPECT_EQ(p.dataset, "synthetic");
  EXPECT_EQ(p.split, "given");
  EXPECT_EQ(p.protocol, "complete");
  EXPECT_EQ(p.selection, "validation");
  int64_t correct = 0;
  for (const auto& u : p.result.predictions) correct += u.pred_class == u.label;
  EXPECT_NEAR(100.0 * static_cast<double>(correct) / 18.0, p.result.metrics.get("accuracy"), 1e-9);
}

TEST_F(RunPredictionsTest, AnotherPartitionAndProtocolOnRequest) {
  RunPredictionRequest req;
  req.partition = "valid";
  req.protocol = "fixed:a";
  const RunPredictions p = predict_saved_run(run(), req);
  EXPECT_EQ(p.partition_dialogues, 4);  // dialogues 16..19
  EXPECT_EQ(p.protocol, "fixed:a");
}

// Which entries of the evaluated inputs are zero: the masked modalities (the synthetic features are
// Gaussian, so a real feature is never exactly 0).
torch::Tensor masked_pattern(const RunPredictions& p) { return p.result.inputs.eq(0); }

TEST_F(RunPredictionsTest, AMaskPlanGivesAnotherRunTheSameMasks) {
  // Two runs whose random test masks come from different seeds (protocol seed = train.seed).
  for (const char* seed : {"1", "2"}) {
    const testing::CliResult r = testing::cli(
        {"train", "--data", data_, "--split", "given", "--set", "model.name=mlp", "--set", "train.epochs=1", "--set",
         "train.progress=none", "--set", std::string("train.seed=") + seed, "--set", "protocol.test=random:0.5",
         "--threads", "1", "--out", (dir_ / (std::string("random_") + seed)).string()});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
  RunPredictionRequest own;
  own.keep_features = true;
  const RunPredictions a = predict_saved_run((dir_ / "random_1").string(), own);
  const RunPredictions b_own = predict_saved_run((dir_ / "random_2").string(), own);
  RunPredictionRequest shared = own;
  shared.masks = a.masks;
  const RunPredictions b = predict_saved_run((dir_ / "random_2").string(), shared);
  ASSERT_EQ(a.result.inputs.sizes(), b.result.inputs.sizes());
  EXPECT_GT(masked_pattern(a).sum().item<int64_t>(), 0);  // random:0.5 masks something
  EXPECT_FALSE(torch::equal(masked_pattern(a), masked_pattern(b_own)));  // own seeds: other masks
  EXPECT_TRUE(torch::equal(masked_pattern(a), masked_pattern(b)));       // A's plan: A's masks
  EXPECT_EQ(b.masks.seed, a.masks.seed);
  EXPECT_NE(b_own.masks.seed, a.masks.seed);
}

TEST_F(RunPredictionsTest, RefusesWhatIsNotARunOrAPartition) {
  const std::string missing = (dir_ / "no_such_run").string();
  using testing_support::error_text;
  EXPECT_NE(error_text([&] { predict_saved_run(missing, {}); }).find("no_such_run"), std::string::npos);
  RunPredictionRequest bad;
  bad.partition = "holdout";
  EXPECT_NE(error_text([&] { predict_saved_run(run(), bad); }).find("partition 'holdout'"), std::string::npos);
}

}  // namespace
}  // namespace merc::app
