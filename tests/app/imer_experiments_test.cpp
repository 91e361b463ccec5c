// The published IEMOCAP leave-one-session-out experiment files of gcnet, momke and comp
// (configs/experiments/*_iemocap{4,6}_loso*.yaml), run end to end through `merc train --folds loso`
// with their data paths pointed at the GCNet-layout fixture (tests/fixtures/imer: three dialogues,
// sessions 1 and 5, so two folds) and the schedule shortened to 2 epochs. This is the command the
// files' comments give; the test checks it runs every fold, writes one row per fold with the fold
// mean, reports IEMOCAP's ACC / UA / weighted F1, and labels test-max selection where the file
// asks for it.

#include <unistd.h>

#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "merc/app/cli.h"
#include "cli_test_util.h"
#include "merc/io/binary_file.h"

namespace merc::app {
namespace imer_experiments_test {  // named: the unity build joins this file with other CLI tests
namespace {

namespace fs = std::filesystem;

using Result = testing::CliResult;
using testing::cli;

fs::path imer_fixture(const std::string& rel) { return fs::path(MERC_FIXTURE_DIR) / "imer" / rel; }

// `merc train --config <file> --folds loso` with the data pointed at the fixture and 2 epochs (one
// per stage for the two-stage models, so both stages and MoMKE's stage gate on the protocol run).
std::vector<std::string> loso_args(const std::string& file, const fs::path& out) {
  const bool six = file.find("iemocap6") != std::string::npos;
  const std::string features = "audio=" + imer_fixture("features/iemocap/audio").string() +
                               ",text=" + imer_fixture("features/iemocap/text").string() +
                               ",visual=" + imer_fixture("features/iemocap/video").string();
  std::vector<std::string> args = {
      "train", "--config", (fs::path(MERC_SOURCE_DIR) / "configs" / "experiments" / file).string(),
      "--set", "data.path=" + imer_fixture(six ? "gcnet/IEMOCAP_features_raw_6way.pkl" : "gcnet/IEMOCAP_features_raw_4way.pkl").string(),
      "--set", "data.features=" + features,
      "--set", "train.epochs=2", "--set", "train.progress=none", "--threads", "1",
      "--folds", "loso", "--out", out.string()};
  if (file.rfind("gcnet", 0) != 0) args.insert(args.end() - 2, {"--set", "model.stage_epoch=1"});
  return args;
}

class ImerExperimentsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("merc_imer_exp_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(ImerExperimentsTest, LosoFileRunsEveryFoldOnTheFixture) {
  const std::string file = GetParam();
  const Result r = cli(loso_args(file, dir_ / "folds"));
  ASSERT_EQ(r.code, 0) << r.err << r.out;

  const auto j = nlohmann::json::parse(io::read_file_bytes((dir_ / "folds" / "results.json").string()));
  const bool test_max = file.find("testmax") != std::string::npos || file.rfind("gcnet", 0) != 0;
  const std::string selection = j["selection"];
  EXPECT_EQ(selection.rfind(test_max ? "test-max (published protocol" : "validation", 0), 0u) << selection;
  // The fixture has sessions 1 and 5: folds loso-1 and loso-5, each with its own run.
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["split"], "loso-1");
  EXPECT_EQ(j["runs"][1]["split"], "loso-5");
  ASSERT_EQ(j["summary"].size(), 1u);
  EXPECT_EQ(j["summary"][0]["runs"], 2);
  for (const char* m : {"accuracy", "ua", "weighted_f1"}) {
    SCOPED_TRACE(m);
    const double a = j["runs"][0]["test"][m], b = j["runs"][1]["test"][m];
    // The fold mean, up to the JSON's shortest round-trip formatting of doubles (exact).
    EXPECT_DOUBLE_EQ(j["summary"][0]["mean"][m].get<double>(), (a + b) / 2);
    EXPECT_GE(a, 0.0);
    EXPECT_LE(a, 100.0);
  }
  const std::string md = io::read_file_bytes((dir_ / "folds" / "results.md").string());
  EXPECT_NE(md.find(test_max ? "model selection: test-max" : "model selection: validation"), std::string::npos) << md;
  // Each fold's run says how its epoch was picked.
  const auto fold = nlohmann::json::parse(io::read_file_bytes((dir_ / "folds" / "loso-1" / "metrics.json").string()));
  EXPECT_EQ(fold["selection"], test_max ? "test-max" : "validation");
}

// gcnet_iemocap{4,6}_loso.yaml carve 10 % of each fold's training dialogues into a validation set;
// the fixture's fold loso-1 trains on a single dialogue, which cannot be split: the run must stop
// with an error that names the fold, not train without a validation set.
TEST_F(ImerExperimentsTest, CarvedValidationOnAOneDialogueFoldIsAClearError) {
  const Result r = cli(loso_args("gcnet_iemocap4_loso.yaml", dir_ / "folds"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("split scheme 'loso-1': train has 1 dialogue(s); need at least 2 to carve validation"),
            std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(PublishedFiles, ImerExperimentsTest,
                         ::testing::Values("comp_iemocap4_loso.yaml", "comp_iemocap6_loso.yaml",
                                           "momke_iemocap4_loso.yaml", "momke_iemocap6_loso.yaml",
                                           "gcnet_iemocap4_loso_testmax.yaml", "gcnet_iemocap6_loso_testmax.yaml"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           for (char& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace imer_experiments_test
}  // namespace merc::app
