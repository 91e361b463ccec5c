// `merc compare` in-process on tiny runs of the synthetic dataset: two seeds of mlp compared on
// the same test utterances, a run against itself (difference 0, p = 1), refusals for another
// split or test protocol, a test-max warning, and sweeps / seed directories through Welch.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "tiny_run_util.h"
#include "merc/data/dataset_file.h"
#include "../train/synthetic_data.h"

namespace merc::app {
namespace compare_cmd_test_detail {

namespace fs = std::filesystem;
using testing::cli;
using testing::CliResult;

class CompareCmdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const testing::TinyDataDir d = testing::make_tiny_data_dir("merc_compare_cmd");
    dir_ = d.dir;
    data_ = d.data;
    train("mlp_seeds/seed-1", {"train.seed=1"});
    train("mlp_seeds/seed-2", {"train.seed=2"});
    train("nodev", {"train.seed=1", "data.carve_valid=0.2"}, "nodev");
    train("fixed_a", {"train.seed=1", "protocol.test=fixed:a"});
    train("testmax", {"train.seed=2", "selection=test-max"});
    for (const char* model : {"mlp", "bc_lstm"}) {
      const CliResult r = cli({"sweep", "--data", data_, "--split", "given", "--set", std::string("model.name=") + model,
                               "--set", "train.epochs=1", "--set", "train.progress=none", "--threads", "1",
                               "--conditions", "complete", "--seeds", "1,2", "--out", path(std::string("sweep_") + model)});
      ASSERT_EQ(r.code, 0) << r.err << r.out;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static void train(const std::string& name, const std::vector<std::string>& sets, const std::string& split = "given") {
    std::vector<std::string> args{"train", "--data", data_, "--split", split, "--set", "model.name=mlp", "--set",
                                  "train.epochs=2", "--set", "train.progress=none", "--threads", "1", "--out", path(name)};
    for (const auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    const CliResult r = cli(args);
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static nlohmann::json test_metrics(const std::string& run) {
    std::ifstream f(fs::path(run) / "metrics.json");
    return nlohmann::json::parse(f)["test"];
  }
  static nlohmann::json json_of(const CliResult& r) { return nlohmann::json::parse(r.out); }
  static fs::path dir_;
  static std::string data_;
};
fs::path CompareCmdTest::dir_;
std::string CompareCmdTest::data_;

}  // namespace compare_cmd_test_detail

namespace {

using namespace compare_cmd_test_detail;

// Few resamples keep the suite fast; these tests check plumbing, not interval precision.
const std::vector<std::string> kQuick{"--resamples", "200"};

std::vector<std::string> args_of(std::vector<std::string> a, const std::vector<std::string>& extra = kQuick) {
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

TEST_F(CompareCmdTest, TwoSeedsOnTheSameTestUtterances) {
  const std::string a = path("mlp_seeds/seed-1"), b = path("mlp_seeds/seed-2");
  const CliResult text = cli(args_of({"compare", a, b}));
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("18 utterances in 4 dialogues"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("McNemar (exact) on correctness"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("weighted_f1"), std::string::npos) << text.out;

  const CliResult r = cli(args_of({"compare", a, b, "--json"}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto c = json_of(r)["comparisons"][0];
  EXPECT_EQ(c["utterances"], 18);
  EXPECT_EQ(c["unit"], "dialogue");
  // The whole-set values are the runs' own test metrics (same weights, data and masks; 1e-9
  // covers JSON's printing of the percentages).
  EXPECT_NEAR(c["metrics"][0]["a"].get<double>(), test_metrics(a)["accuracy"].get<double>(), 1e-9);
  EXPECT_NEAR(c["metrics"][0]["b"].get<double>(), test_metrics(b)["accuracy"].get<double>(), 1e-9);
  EXPECT_NEAR(c["metrics"][1]["b"].get<double>(), test_metrics(b)["weighted_f1"].get<double>(), 1e-9);
  const auto& m = c["metrics"][0];
  EXPECT_LE(m["ci_low"].get<double>(), m["difference"].get<double>() + 1e-9);
  EXPECT_GE(m["ci_high"].get<double>(), m["difference"].get<double>() - 1e-9);
  // McNemar's counts are the utterances on which exactly one run is right: their difference over
  // 18 utterances is the accuracy difference in percent.
  const auto& mc = c["mcnemar"];
  EXPECT_NEAR(100.0 * (mc["a_wrong_b_right"].get<double>() - mc["a_right_b_wrong"].get<double>()) / 18.0,
              m["difference"].get<double>(), 1e-9);
}

TEST_F(CompareCmdTest, ARunAgainstItselfDiffersByNothing) {
  const std::string a = path("mlp_seeds/seed-1");
  const CliResult r = cli(args_of({"compare", a, a, "--json", "--unit", "utterance"}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto c = json_of(r)["comparisons"][0];
  for (const auto& m : c["metrics"]) {
    EXPECT_EQ(m["difference"].get<double>(), 0.0);
    EXPECT_EQ(m["ci_low"].get<double>(), 0.0);
    EXPECT_EQ(m["ci_high"].get<double>(), 0.0);
    EXPECT_EQ(m["p"].get<double>(), 1.0);
    EXPECT_EQ(m["verdict"].get<std::string>().rfind("no significant difference", 0), 0u);
  }
  EXPECT_EQ(c["mcnemar"]["p"].get<double>(), 1.0);
  // Each further directory is compared with the first.
  const CliResult three = cli(args_of({"compare", a, a, path("mlp_seeds/seed-2"), "--json"}));
  ASSERT_EQ(three.code, 0) << three.err;
  EXPECT_EQ(json_of(three)["comparisons"].size(), 2u);
}

TEST_F(CompareCmdTest, RefusesAnotherSplitOrTestProtocol) {
  const std::string a = path("mlp_seeds/seed-1");
  // nodev has the very same 4 test dialogues, but another split: refused all the same.
  CliResult r = cli(args_of({"compare", a, path("nodev")}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(a + " and " + path("nodev")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("split 'given' vs 'nodev'"), std::string::npos) << r.err;
  r = cli(args_of({"compare", a, path("fixed_a")}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("test protocol 'complete' vs 'fixed:a'"), std::string::npos) << r.err;
  // A run with a sweep, one directory, something that is not a run.
  r = cli(args_of({"compare", a, path("sweep_mlp")}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is a run but"), std::string::npos) << r.err;
  EXPECT_EQ(cli({"compare", a}).code, 2);
  r = cli({"compare", a, dir_.string() + "/nothing"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is not a directory"), std::string::npos) << r.err;
}

TEST_F(CompareCmdTest, TestMaxRunsAreFlaggedLoudly) {
  const CliResult r = cli(args_of({"compare", path("mlp_seeds/seed-1"), path("testmax")}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("!!! WARNING: " + path("testmax") + ": Test-max selection: the epoch was selected on the TEST set"), std::string::npos) << r.out;
}

TEST_F(CompareCmdTest, SweepsAndSeedDirectoriesGetWelchPerGroup) {
  const CliResult text = cli({"compare", path("sweep_mlp"), path("sweep_bc_lstm")});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("Welch"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("complete       accuracy"), std::string::npos) << text.out;

  const CliResult r = cli({"compare", path("sweep_mlp"), path("sweep_bc_lstm"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto c = json_of(r)["comparisons"][0];
  EXPECT_EQ(c["model_a"], "mlp");
  EXPECT_EQ(c["model_b"], "bc_lstm");
  ASSERT_EQ(c["rows"].size(), 2u);  // complete x {accuracy, weighted_f1}
  EXPECT_EQ(c["rows"][0]["n_a"], 2);
  EXPECT_EQ(c["rows"][0]["n_b"], 2);
  // The means are those of the sweep's own runs.
  const double m1 = test_metrics(path("sweep_mlp/complete/seed-1"))["accuracy"];
  const double m2 = test_metrics(path("sweep_mlp/complete/seed-2"))["accuracy"];
  EXPECT_NEAR(c["rows"][0]["mean_a"].get<double>(), (m1 + m2) / 2, 1e-9);

  // A directory of seed runs (train --out DIR/seed-N) is a set of runs too.
  const CliResult s = cli({"compare", path("mlp_seeds"), path("sweep_bc_lstm"), "--json"});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(json_of(s)["comparisons"][0]["rows"][0]["n_a"], 2);
}

}  // namespace
}  // namespace merc::app
