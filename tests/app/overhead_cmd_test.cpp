// `merc eval --overhead` end to end on a tiny trained run (in-process): the JSON keys and the
// counts that follow from the data, MoED's dummy input, the table, and the refused combinations.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "tiny_run_util.h"
#include "merc/data/dataset_file.h"
#include "../train/synthetic_data.h"

namespace merc::app {
namespace overhead_cmd_test_detail {

namespace fs = std::filesystem;

class OverheadCmdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const testing::TinyDataDir d = testing::make_tiny_data_dir("merc_overhead_cmd");
    dir_ = d.dir;
    const testing::CliResult r = testing::train_tiny_run(d.data, run());
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string run() { return (dir_ / "cls").string(); }
  static fs::path dir_;
};
fs::path OverheadCmdTest::dir_;

}  // namespace overhead_cmd_test_detail

namespace {

using namespace overhead_cmd_test_detail;

TEST_F(OverheadCmdTest, JsonHasEveryMeasurementWithItsSettings) {
  const testing::CliResult r = testing::cli({"eval", "--run", run(), "--overhead", "--json", "--overhead-warmup", "1",
                                             "--overhead-repeats", "2", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* key : {"run", "model", "dataset", "split", "partition", "protocol", "settings", "parameters",
                          "latency", "memory", "flops"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["model"], "mlp");
  EXPECT_EQ(j["partition"], "test");
  // Split "given": 4 test dialogues with 3 + 4 + 5 + 6 = 18 utterances, one dialogue per forward.
  EXPECT_EQ(j["settings"]["dialogues"], 4);
  EXPECT_EQ(j["settings"]["utterances"], 18);
  EXPECT_EQ(j["settings"]["batch_size"], 1);
  EXPECT_EQ(j["settings"]["threads"], 1);
  EXPECT_EQ(j["settings"]["device"], "cpu");
  EXPECT_EQ(j["latency"]["per_dialogue"]["samples"], 2 * 4);
  for (const char* key : {"median_ms", "p95_ms", "mean_ms", "min_ms", "max_ms"})
    EXPECT_TRUE(j["latency"]["per_utterance"].contains(key)) << key;
  EXPECT_GT(j["parameters"]["total"].get<int64_t>(), 0);
  EXPECT_EQ(j["parameters"]["trainable"], j["parameters"]["total"]);
  EXPECT_EQ(j["memory"]["source"], "process_rss");
  EXPECT_GT(j["flops"]["macs"].get<int64_t>(), 0);
  EXPECT_EQ(j["flops"]["matmul_flops"].get<int64_t>(), 2 * j["flops"]["macs"].get<int64_t>());
  // The per-operator breakdown adds up to the totals (integers: exact).
  int64_t macs = 0, elementwise = 0;
  for (const auto& op : j["flops"]["per_op"]) {
    macs += op["macs"].get<int64_t>();
    elementwise += op["elementwise_flops"].get<int64_t>();
  }
  EXPECT_EQ(macs, j["flops"]["macs"].get<int64_t>());
  EXPECT_EQ(elementwise, j["flops"]["elementwise_flops"].get<int64_t>());
  // An MLP multiplies every utterance once by each weight matrix: fewer MACs per utterance than
  // parameters (the biases are not multiplied).
  EXPECT_LT(j["flops"]["macs_per_utterance"].get<double>(), j["parameters"]["total"].get<double>());
}

TEST_F(OverheadCmdTest, DummyInputIsOneDialogueOfForty) {
  const testing::CliResult r = testing::cli({"eval", "--run", run(), "--overhead", "--overhead-dummy", "--json",
                                             "--overhead-warmup", "0", "--overhead-repeats", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["partition"], "dummy");
  EXPECT_EQ(j["settings"]["utterances"], 40);
  EXPECT_EQ(j["settings"]["max_length"], 40);
  EXPECT_EQ(j["latency"]["per_dialogue"]["samples"], 1);
}

TEST_F(OverheadCmdTest, TableNamesTheSettingsAndRefusesOtherEvalOutputs) {
  const testing::CliResult r =
      testing::cli({"eval", "--run", run(), "--overhead", "--overhead-warmup", "0", "--overhead-repeats", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* text : {"latency / dialogue", "latency / utterance", "parameters", "peak memory", "threads",
                           "compute / utterance"})
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
  EXPECT_EQ(testing::cli({"eval", "--run", run(), "--overhead", "--scenarios"}).code, 2);
  EXPECT_EQ(testing::cli({"eval", "--run", run(), "--overhead-dummy"}).code, 2);  // needs --overhead
}

}  // namespace
}  // namespace merc::app
