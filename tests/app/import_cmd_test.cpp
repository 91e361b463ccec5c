// `merc import-checkpoint` / `merc export-weights` through run_cli, in-process: a trained run's
// weights go out (safetensors, merc names) and back in, predictions are unchanged, every output
// names the imported file, and bad checkpoints are clear errors.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "merc/core/sha256.h"
#include "merc/data/dataset_file.h"
#include "merc/io/binary_file.h"
#include "merc/io/safetensors.h"
#include "../train/synthetic_data.h"

namespace merc::app {
namespace {

namespace fs = std::filesystem;
using Result = testing::CliResult;
using testing::cli;

std::string torch_fixture(const std::string& name) { return std::string(MERC_FIXTURE_DIR) + "/torch/" + name; }

class ImportCmdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("merc_import_cmd_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = (dir_ / "synthetic.safetensors").string();
    data::write_dataset_file(train::testing::synthetic_dataset(), data_);
    const Result r = cli({"train", "--data", data_, "--split", "given", "--set", "model.name=mlp", "--set",
                          "train.epochs=2", "--set", "train.progress=none", "--threads", "1", "--out", path("run")});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static Result import(const std::string& ckpt, const std::string& out, const std::string& names = "merc") {
    return cli({"import-checkpoint", "--checkpoint", ckpt, "--data", data_, "--split", "given", "--set",
                "model.name=mlp", "--set", "train.progress=none", "--threads", "1", "--names", names, "--out", out});
  }
  static fs::path dir_;
  static std::string data_;
};
fs::path ImportCmdTest::dir_;
std::string ImportCmdTest::data_;

TEST_F(ImportCmdTest, ExportedWeightsImportBackToTheSamePredictions) {
  Result r = cli({"export-weights", "--run", path("run"), "--names", "merc", "--to", path("w.safetensors")});
  ASSERT_EQ(r.code, 0) << r.err;
  const io::SafetensorsFile f = io::SafetensorsFile::open(path("w.safetensors"));
  EXPECT_EQ(f.metadata().at("merc_model"), "mlp");
  EXPECT_NE(f.find("output.weight"), nullptr);

  r = import(path("w.safetensors"), path("imported"));
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("weights imported from"), std::string::npos) << r.out;
  for (const char* file : {"config.yaml", "model.pt", "metrics.json", "imported.json"})
    EXPECT_TRUE(fs::exists(dir_ / "imported" / file)) << file;
  const auto m = nlohmann::json::parse(io::read_file_bytes(path("imported/metrics.json")));
  EXPECT_EQ(m["selection"], "imported");
  EXPECT_EQ(m["imported"]["sha256"], sha256_file(path("w.safetensors")));
  EXPECT_TRUE(m["test"].contains("accuracy"));

  ASSERT_EQ(cli({"predict", "--run", path("run"), "--out", path("a.csv")}).code, 0);
  r = cli({"predict", "--run", path("imported"), "--out", path("b.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("weights imported from"), std::string::npos) << r.out;
  EXPECT_EQ(io::read_file_bytes(path("a.csv")), io::read_file_bytes(path("b.csv")));

  r = cli({"eval", "--run", path("imported")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("weights imported from"), std::string::npos) << r.out;
  r = cli({"eval", "--run", path("imported"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["selection"], "imported");
}

TEST_F(ImportCmdTest, ACheckpointOfAnotherModelListsTheKeys) {
  // tests/fixtures/torch/nested.pth holds Sequential(Linear(3, 2), BatchNorm1d(2)) weights.
  const Result r = import(torch_fixture("nested.pth"), path("bad1"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nested.pth"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("keys in the file that no rule maps"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1.running_mean"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("keys the model needs that the file lacks"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("output.weight"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "bad1" / "model.pt"));
}

TEST_F(ImportCmdTest, WholeModulesAndNonCheckpointsAreRefused) {
  Result r = import(torch_fixture("whole_module.pth"), path("bad2"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("torch.nn.modules.container.Sequential"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("state_dict()"), std::string::npos) << r.err;
  r = import(torch_fixture("plain.pkl"), path("bad3"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("plain.pkl"), std::string::npos) << r.err;
  r = import(torch_fixture("truncated.pth"), path("bad4"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("truncated.pth"), std::string::npos) << r.err;
  r = import(path("no-such-file.pth"), path("bad5"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

TEST_F(ImportCmdTest, UpstreamNamesNeedATableForTheModel) {
  const Result r = import(torch_fixture("nested.pth"), path("bad6"), "upstream");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("model 'mlp' has no upstream name table"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace merc::app
