// RoHyDR end to end through the CLI (issue 16 "Done means": `merc train --set model.name=rohydr`
// trains from scratch): the MOSI experiment file on the embedded CMU-MOSI (one vector per
// utterance, regression, IMDer protocol, stage 0 then the four substeps), the same as
// classification, and an MMSA aligned_50.pkl fixture read with its sequences (kernel 3 over the
// steps). Widths, steps and epochs are shrunk so that the runs take a few seconds.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace merc::app {
namespace rohydr_cli_test_detail {

namespace fs = std::filesystem;

const std::vector<std::string> kTiny = {
    "--set", "model.d_model=8",      "--set", "model.num_heads=2",   "--set", "model.layers=1",
    "--set", "model.dit_hidden=8",   "--set", "model.dit_depth=1",   "--set", "model.dit_heads=2",
    "--set", "model.sampling_steps=3", "--set", "model.rec_blocks=1", "--set", "model.rec_reduction=4",
    "--set", "model.pretrain_epochs=1", "--set", "train.epochs=2",  "--set", "train.progress=none",
    "--threads", "1"};

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

testing::CliResult train(const std::vector<std::string>& extra, const fs::path& out) {
  std::vector<std::string> args = {"train", "--config",
                                   (fs::path(MERC_SOURCE_DIR) / "configs" / "experiments" / "rohydr_mosi.yaml").string()};
  args.insert(args.end(), kTiny.begin(), kTiny.end());
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("--out");
  args.push_back(out.string());
  return testing::cli(args);
}

TEST(RohydrCli, TrainsFromScratchOnMosiInBothTasksThroughBothStages) {
  const fs::path dir = fs::temp_directory_path() / ("merc_rohydr_cli_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  for (const std::string task : {"regression", "classification"}) {
    SCOPED_TRACE(task);
    std::vector<std::string> extra = {"--set", "data.task=" + task};
    if (task == "classification") extra.insert(extra.end(), {"--set", "train.loss=auto"});
    const testing::CliResult t = train(extra, dir / task);
    ASSERT_EQ(t.code, 0) << t.err << t.out;
    // Epoch 1 is stage 0 (complete modalities), epoch 2 stage 1.
    const std::string log = read_text(dir / task / "train_log.jsonl");
    EXPECT_NE(log.find("\"stage\":0"), std::string::npos) << log;
    EXPECT_NE(log.find("\"stage\":1"), std::string::npos) << log;
    const testing::CliResult e = testing::cli({"eval", "--run", (dir / task).string(), "--json"});
    ASSERT_EQ(e.code, 0) << e.err;
    const auto j = nlohmann::json::parse(e.out);
    EXPECT_EQ(j["selection"], "validation");
  }
  fs::remove_all(dir);
}

TEST(RohydrCli, TrainsOnMmsaSequences) {
  const fs::path dir = fs::temp_directory_path() / ("merc_rohydr_seq_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path pkl = fs::path(MERC_FIXTURE_DIR) / "imer" / "mmsa" / "MOSI" / "aligned_50.pkl";
  const testing::CliResult t =
      train({"--set", "data.path=" + pkl.string(), "--set", "data.sequences=true", "--set",
             "model.sequences=true", "--set", "model.seq_len=4", "--set", "protocol.train=imder:0.7", "--set",
             "protocol.test=imder:0.7", "--set", "train.batch_size=1"},
            dir);
  ASSERT_EQ(t.code, 0) << t.err << t.out;
  fs::remove_all(dir);
  // Without data.sequences the model says what is missing.
  const testing::CliResult bad = train({"--set", "data.path=" + pkl.string(), "--set",
                                        "model.sequences=true", "--set", "model.seq_len=4"},
                                       dir);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("data.sequences: true"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

}  // namespace rohydr_cli_test_detail
}  // namespace merc::app
