// CADGL end to end through the CLI (issue 15 "Done means"): `merc train` with the two MOSI
// experiment files on the embedded CMU-MOSI (regression on the standard split, classification on
// the Poria split), then `merc eval --scenarios`: the seven scenarios and the summary rows.
// Widths and epochs are shrunk so that both runs take a few seconds.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace merc::app {
namespace cadgl_cli_test_detail {

namespace fs = std::filesystem;

fs::path experiment(const std::string& name) { return fs::path(MERC_SOURCE_DIR) / "configs" / "experiments" / name; }

TEST(CadglCli, TrainsOnBothMosiSplitsAndEvaluatesTheScenarioTable) {
  const fs::path dir = fs::temp_directory_path() / ("merc_cadgl_cli_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  for (const auto& [file, metric] : {std::pair{"cadgl_mosi.yaml", "mae"}, std::pair{"cadgl_mosi_poria.yaml", "macro_f1"}}) {
    SCOPED_TRACE(file);
    const std::string run = (dir / file).string();
    const testing::CliResult t = testing::cli(
        {"train", "--config", experiment(file).string(), "--set", "model.hidden_dim=8", "--set",
         "model.imagination_hidden=8", "--set", "model.speaker_dim=4", "--set", "model.align_dim=4", "--set",
         "train.epochs=1", "--set", "train.progress=none", "--threads", "1", "--out", run});
    ASSERT_EQ(t.code, 0) << t.err << t.out;
    const testing::CliResult e = testing::cli({"eval", "--run", run, "--scenarios", "--json"});
    ASSERT_EQ(e.code, 0) << e.err;
    const auto j = nlohmann::json::parse(e.out);
    EXPECT_EQ(j["selection"], "validation");
    ASSERT_EQ(j["scenarios"]["per_scenario"].size(), 7u);
    for (const char* group : {"complete", "1 missing", "2 missing", "average"})
      EXPECT_TRUE(j["scenarios"]["summary"][group]["metrics"].contains(metric)) << group;
    EXPECT_EQ(j["scenarios"]["summary"]["2 missing"]["n"], 3);
  }
  fs::remove_all(dir);
}

}  // namespace cadgl_cli_test_detail
}  // namespace merc::app
