#include "merc/app/cli.h"
#include "cli_test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "merc/version.h"

namespace merc::app {
namespace {

namespace fs = std::filesystem;

using testing::CliResult;
const auto run = testing::cli;

const std::string kMosiFixture = (fs::path(MERC_FIXTURE_DIR) / "mosi").string();

TEST(Cli, VersionAndHelp) {
  auto r = run({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string("merc ") + MERC_VERSION + "\n");
  r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("data"), std::string::npos);
  for (const char* sub : {"list-formats", "inspect", "convert"}) {
    r = run({"data", sub, "--help"});
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find(sub), std::string::npos) << r.out;
  }
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}).code, 2);                       // a subcommand is required
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  auto r = run({"data", "inspect", "--no-such-flag"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
  EXPECT_EQ(run({"data", "convert", kMosiFixture}).code, 2);  // --to is required
}

TEST(Cli, ListFormatsNamesEveryRegisteredReader) {
  auto r = run({"data", "list-formats"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("mosi-poria"), std::string::npos);
}

TEST(Cli, InspectJsonHasTheContractKeys) {
  auto r = run({"data", "inspect", kMosiFixture, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"format", "num_dialogues", "num_utterances", "splits", "classes", "modalities"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["format"], "mosi-poria");
  EXPECT_EQ(j["num_dialogues"], 3);
  EXPECT_EQ(j["num_utterances"], 6);
  EXPECT_EQ(j["splits"]["valid"]["utterances"], 3);
  EXPECT_EQ(j["split_schemes"]["poria"]["train"]["dialogues"], 2);
  EXPECT_EQ(j["modalities"]["audio"], 3);
  EXPECT_EQ(j["classes"]["positive"], 4);  // vidA_1, vidB_1, vidB_2, vidC_1
}

TEST(Cli, InspectTextReport) {
  auto r = run({"data", "inspect", kMosiFixture, "--format", "mosi-poria"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("split 'standard' (default)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("modality    audio   dim     3"), std::string::npos) << r.out;
}

TEST(Cli, DataErrorsExitOneAndNameTheProblem) {
  auto r = run({"data", "inspect", "/nonexistent/dir/x.pkl"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/nonexistent/dir/x.pkl: no such file or directory"), std::string::npos) << r.err;
  r = run({"data", "inspect", kMosiFixture, "--format", "no-such-format"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown dataset format 'no-such-format'; valid formats:"), std::string::npos) << r.err;
  r = run({"data", "inspect", kMosiFixture, "--features", "smell=/tmp"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown modality 'smell'"), std::string::npos) << r.err;
}

TEST(Cli, ConvertWritesANativeFileThatInspectsTheSame) {
  const fs::path out = fs::temp_directory_path() / ("merc_cli_convert_" + std::to_string(::getpid()) + ".safetensors");
  auto r = run({"data", "convert", kMosiFixture, "--to", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  auto a = nlohmann::json::parse(run({"data", "inspect", kMosiFixture, "--json"}).out);
  auto b = nlohmann::json::parse(run({"data", "inspect", out.string(), "--json"}).out);
  EXPECT_EQ(b["format"], "merc");
  EXPECT_EQ(b["source_format"], "mosi-poria");  // the native file remembers where the data came from
  for (const char* key : {"num_dialogues", "num_utterances", "splits", "split_schemes", "classes", "modalities"})
    EXPECT_EQ(a[key], b[key]) << key;
  fs::remove(out);
}

TEST(Cli, SequencesAreReportedAndConvertedOnRequest) {
  const std::string mmsa = (fs::path(MERC_FIXTURE_DIR) / "imer" / "mmsa" / "MOSI" / "unaligned_50.pkl").string();
  auto r = run({"data", "inspect", mmsa, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(nlohmann::json::parse(r.out).contains("sequences"));
  r = run({"data", "inspect", mmsa, "--json", "--sequences"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // Audio lengths of the 5 samples: 2, 0, 1, 1, 3 (the fixture's audio_lengths).
  EXPECT_EQ(j["sequences"]["audio"]["max"], 3);
  EXPECT_DOUBLE_EQ(j["sequences"]["audio"]["mean"].get<double>(), 7.0 / 5.0);
  EXPECT_EQ(j["sequences"]["audio"]["empty"], 1);
  EXPECT_EQ(j["sequences"]["visual"]["max"], 4);  // vision_lengths 3, 1, 1, 1, 4
  r = run({"data", "inspect", mmsa, "--sequences"});
  EXPECT_NE(r.out.find("sequences   audio   max    3  mean 1.4 steps per utterance (1 without a step)"),
            std::string::npos) << r.out;

  const fs::path out = fs::temp_directory_path() / ("merc_cli_seq_" + std::to_string(::getpid()) + ".safetensors");
  r = run({"data", "convert", mmsa, "--sequences", "--to", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto back = nlohmann::json::parse(run({"data", "inspect", out.string(), "--json", "--sequences"}).out);
  EXPECT_EQ(back["sequences"], j["sequences"]);
  // Without --sequences the native file's sequences are not loaded.
  EXPECT_FALSE(nlohmann::json::parse(run({"data", "inspect", out.string(), "--json"}).out).contains("sequences"));
  fs::remove(out);
}

TEST(Cli, CarveValidAddsAValidPartitionOnlyWhereMissing) {
  auto r = run({"data", "inspect", kMosiFixture, "--json", "--carve-valid", "0.5"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // 'standard' already has valid (unchanged); 'poria' train {vidA, vidB} -> 1 train + 1 valid.
  EXPECT_EQ(j["split_schemes"]["standard"]["valid"]["dialogues"], 1);
  EXPECT_EQ(j["split_schemes"]["poria"]["train"]["dialogues"], 1);
  EXPECT_EQ(j["split_schemes"]["poria"]["valid"]["dialogues"], 1);
  EXPECT_EQ(j["split_schemes"]["poria"]["test"]["dialogues"], 1);
  // MOSI ids have no IEMOCAP session prefix: --loso is a clear error.
  r = run({"data", "inspect", kMosiFixture, "--loso"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no IEMOCAP session prefix"), std::string::npos) << r.err;
  EXPECT_EQ(run({"data", "inspect", kMosiFixture, "--carve-valid", "1.5"}).code, 2);
}

TEST(Cli, DefaultDatasetIsTheEmbeddedMosi) {
  auto r = run({"data", "inspect", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "CMU-MOSI");
  EXPECT_EQ(j["num_utterances"], 2199);
  EXPECT_EQ(j["splits"]["train"]["utterances"], 1284);
  EXPECT_EQ(j["split_schemes"]["poria"]["test"]["utterances"], 752);
  EXPECT_EQ(j["modalities"]["visual"], 100);
}

}  // namespace
}  // namespace merc::app
