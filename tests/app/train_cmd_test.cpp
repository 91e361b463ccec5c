// `merc train | eval | predict | sweep | list` through run_cli, in-process: success and failure.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "merc/app/cli.h"
#include "cli_test_util.h"
#include "merc/data/dataset_file.h"
#include "merc/io/binary_file.h"
#include "merc/io/npy.h"
#include "../train/synthetic_data.h"

namespace merc::app {
namespace {

namespace fs = std::filesystem;

using Result = testing::CliResult;
using testing::cli;

class TrainCmdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("merc_train_cmd_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = (dir_ / "synthetic.safetensors").string();
    data::write_dataset_file(train::testing::synthetic_dataset(), data_);
    // One trained run shared by the eval / predict tests.
    const Result r = cli({"train", "--data", data_, "--split", "given", "--set", "model.name=mlp", "--set",
                          "train.epochs=2", "--set", "train.progress=none", "--threads", "1", "--out", run_dir()});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string run_dir() { return (dir_ / "run").string(); }
  static fs::path dir_;
  static std::string data_;
};
fs::path TrainCmdTest::dir_;
std::string TrainCmdTest::data_;

TEST_F(TrainCmdTest, TrainWritesTheRunFilesAndPrintsTheConfig) {
  for (const char* f : {"config.yaml", "metrics.json", "train_log.jsonl", "checkpoint.pt", "model.pt"})
    EXPECT_TRUE(fs::exists(fs::path(run_dir()) / f)) << f;
  const auto m = nlohmann::json::parse(io::read_file_bytes(run_dir() + "/metrics.json"));
  EXPECT_EQ(m["selection"], "validation");
  EXPECT_TRUE(m["valid"].contains("weighted_f1"));
  EXPECT_TRUE(m["test"].contains("accuracy"));
  // --print-config resolves and prints without training.
  const Result r = cli({"train", "--print-config", "--set", "model.name=mlp", "--set", "train.lr=0.5"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("lr: 0.5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--set train.lr=0.5"), std::string::npos) << r.out;
}

TEST_F(TrainCmdTest, TrainFailuresAreClear) {
  Result r = cli({"train", "--set", "model.name=nosuch", "--out", (dir_ / "x").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bc_lstm"), std::string::npos) << r.err;  // lists valid models
  r = cli({"train", "--set", "train.nosuch=1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown key 'train.nosuch'"), std::string::npos) << r.err;
  r = cli({"train", "--config", (dir_ / "missing.yaml").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing.yaml"), std::string::npos) << r.err;
  r = cli({"train", "--data", (dir_ / "nope.safetensors").string(), "--out", (dir_ / "y").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nope.safetensors"), std::string::npos) << r.err;
  r = cli({"train", "--data", data_, "--split", "nosplit", "--set", "model.name=mlp", "--out", (dir_ / "z").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("given"), std::string::npos) << r.err;  // lists the dataset's schemes
  r = cli({"train", "--resume", (dir_ / "nothing").string()});
  EXPECT_EQ(r.code, 1);
  // A resumed run keeps its own config: flags that would change it are a usage error.
  EXPECT_EQ(cli({"train", "--resume", run_dir(), "--set", "train.lr=1"}).code, 2);
  // Refused before anything is written into an existing run directory.
  r = cli({"train", "--data", data_, "--split", "given", "--set", "model.name=mlp", "--out", run_dir()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("already holds a run"), std::string::npos) << r.err;
  EXPECT_EQ(cli({"train", "--threads", "-3"}).code, 2);
  r = cli({"train", "--device", "cuda:0", "--set", "model.name=mlp", "--data", data_, "--split", "given", "--out",
           (dir_ / "gpu").string()});
  if (r.code != 0) {
    EXPECT_NE(r.err.find("cuda"), std::string::npos) << r.err;  // no GPU here: clear error
  }
}

TEST_F(TrainCmdTest, EvalUnderSeveralProtocols) {
  Result r = cli({"eval", "--run", run_dir(), "--protocol", "complete", "--protocol", "random:0.5", "--protocol",
                  "fixed:t"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("selection: validation"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("random:0.5"), std::string::npos);
  r = cli({"eval", "--run", run_dir(), "--split", "test"});  // the spelling of --partition test
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("partition 'test'"), std::string::npos) << r.out;
  r = cli({"eval", "--run", run_dir(), "--json", "--partition", "valid"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["partition"], "valid");
  // Evaluating the valid partition under the run's protocol reproduces the selected epoch's numbers.
  const auto m = nlohmann::json::parse(io::read_file_bytes(run_dir() + "/metrics.json"));
  EXPECT_EQ(j["results"][0]["metrics"]["weighted_f1"], m["valid"]["weighted_f1"]);
  EXPECT_EQ(cli({"eval", "--run", (dir_ / "nothing").string()}).code, 1);
  r = cli({"eval", "--run", run_dir(), "--protocol", "random:1.5"});
  EXPECT_EQ(r.code, 1);
  r = cli({"eval", "--run", run_dir(), "--protocol", "warp:3"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("random"), std::string::npos) << r.err;  // lists the protocols
  EXPECT_EQ(cli({"eval"}).code, 2);                               // --run is required
}

TEST_F(TrainCmdTest, EvalPrintsTheReportAndExportsTheAnalysisFiles) {
  const std::string exp = (dir_ / "export").string();
  Result r = cli({"eval", "--run", run_dir(), "--inertia", "--export", exp});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* s : {"weighted avg", "confusion matrix (rows = true", "emotional inertia", "inertia (", "rest ("})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  // The JSON form: the report's accuracy equals the metric table's, and the inertia split covers
  // every labelled test utterance once.
  r = cli({"eval", "--run", run_dir(), "--inertia", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out)["results"][0];
  EXPECT_NEAR(100.0 * j["report"]["accuracy"].get<double>(), j["metrics"]["accuracy"].get<double>(), 1e-9);
  EXPECT_EQ(j["inertia"]["inertia"]["utterances"].get<int64_t>() + j["inertia"]["rest"]["utterances"].get<int64_t>(),
            j["utterances"].get<int64_t>());
  // Exported files: one row per test utterance in every file; features_before = the model inputs
  // (all synthetic modalities), features_after = mlp's fused hidden layer.
  const int64_t n = j["utterances"].get<int64_t>();
  const io::NdArray labels = io::read_npy_file(exp + "/labels.npy");
  const io::NdArray speakers = io::read_npy_file(exp + "/speakers.npy");
  const io::NdArray before = io::read_npy_file(exp + "/features_before.npy");
  const io::NdArray after = io::read_npy_file(exp + "/features_after.npy");
  EXPECT_EQ(labels.shape, (std::vector<int64_t>{n}));
  EXPECT_EQ(labels.dtype, io::DType::kInt64);
  EXPECT_EQ(speakers.shape, (std::vector<int64_t>{n}));
  ASSERT_EQ(before.shape.size(), 2u);
  EXPECT_EQ(before.shape[0], n);
  int64_t in_dim = 0;
  for (int64_t d : train::testing::synthetic_dataset().info.modality_dims) in_dim += d;
  EXPECT_EQ(before.shape[1], in_dim);
  ASSERT_EQ(after.shape.size(), 2u);
  EXPECT_EQ(after.shape[0], n);
  std::ifstream in(exp + "/utterances.csv");
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "dialogue_id,utterance_idx,speaker,label,pred");
  int64_t rows = 0;
  for (std::string line; std::getline(in, line);) ++rows;
  EXPECT_EQ(rows, n);
  // Several protocols: one subdirectory each.
  r = cli({"eval", "--run", run_dir(), "--protocol", "complete", "--protocol", "random:0.5", "--export", exp + "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(exp + "2/random_0.5/features_before.npy"));
  EXPECT_TRUE(fs::exists(exp + "2/complete/labels.npy"));
}

TEST_F(TrainCmdTest, PredictWritesOneRowPerUtterance) {
  const std::string csv = (dir_ / "preds.csv").string();
  Result r = cli({"predict", "--run", run_dir(), "--out", csv});
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(csv);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "dialogue_id,utterance_idx,speaker,label,pred,prob_neg,prob_pos");
  int64_t rows = 0;
  for (std::string line; std::getline(in, line);) ++rows;
  const auto ds = train::testing::synthetic_dataset();
  EXPECT_EQ(rows, ds.num_utterances());
  r = cli({"predict", "--run", run_dir(), "--partition", "test", "--split", "given", "--out", csv});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(cli({"predict", "--run", run_dir()}).code, 2);  // --out is required
}

TEST_F(TrainCmdTest, SweepProducesATable) {
  const std::string out = (dir_ / "sweep").string();
  const Result r = cli({"sweep", "--data", data_, "--split", "given", "--set", "model.name=mlp", "--set",
                        "train.epochs=1", "--rates", "0,0.5", "--seeds", "1", "--out", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("| random:0.5 | 1 |"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(fs::path(out) / "results.csv"));
  EXPECT_EQ(cli({"sweep", "--data", data_, "--rates", "0,x"}).code, 2);
}

TEST_F(TrainCmdTest, EvalAndPredictFindTheSweepsTextFeaturizer) {
  // Transcript-only data: the sweep fits the featurizer once at its root, and a run inside it
  // (<sweep>/complete/seed-1) has none of its own. eval and predict must find the root's.
  const std::string meld = (fs::path(MERC_SOURCE_DIR) / "tests" / "fixtures" / "tables" / "meld").string();
  const std::string out = (dir_ / "text_sweep").string();
  Result r = cli({"sweep", "--data", meld, "--set", "data.preset=meld", "--set", "data.featurize_text=1", "--set",
                  "model.name=mlp", "--set", "train.epochs=1", "--conditions", "complete", "--seeds", "1", "--threads",
                  "1", "--out", out});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const std::string run = out + "/complete/seed-1";
  ASSERT_TRUE(fs::exists(fs::path(out) / "text_featurizer.safetensors"));
  ASSERT_FALSE(fs::exists(fs::path(run) / "text_featurizer.safetensors"));
  r = cli({"eval", "--run", run, "--data", meld});
  EXPECT_EQ(r.code, 0) << r.err;
  r = cli({"predict", "--run", run, "--data", meld, "--out", (dir_ / "text_preds.csv").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  // Without it, the error names the file that was looked for.
  fs::remove(fs::path(out) / "text_featurizer.safetensors");
  r = cli({"eval", "--run", run, "--data", meld});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("text_featurizer.safetensors"), std::string::npos) << r.err;
}

TEST_F(TrainCmdTest, ResumeAndFoldsThroughTheCli) {
  // A resumed run continues from its checkpoint and finishes (metrics.json removed as if the run
  // had been killed during its final evaluation).
  const std::string dir = (dir_ / "resumed").string();
  Result r = cli({"train", "--data", data_, "--split", "given", "--set", "model.name=mlp", "--set", "train.epochs=2",
                  "--set", "train.progress=log", "--out", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("epoch 2/2"), std::string::npos) << r.out;  // plain log lines off a TTY
  const std::string before = io::read_file_bytes(dir + "/metrics.json");
  fs::remove(fs::path(dir) / "metrics.json");
  r = cli({"train", "--resume", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("resuming with the run's config"), std::string::npos) << r.out;
  EXPECT_EQ(io::read_file_bytes(dir + "/metrics.json"), before);
  // k-fold: one run per scheme "<prefix>-N"; the synthetic file has none -> a clear error.
  r = cli({"train", "--data", data_, "--set", "model.name=mlp", "--folds", "loso", "--out", (dir_ / "folds").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("loso"), std::string::npos) << r.err;
}

TEST(ListCmd, EveryRegistryAndUnknownNames) {
  for (const char* what : {"models", "datasets", "protocols", "formats", "optimizers", "schedulers", "losses", "config"}) {
    const Result r = cli({"list", what});
    EXPECT_EQ(r.code, 0) << what << r.err;
    EXPECT_FALSE(r.out.empty()) << what;
  }
  EXPECT_NE(cli({"list", "models"}).out.find("dialogue_gcn"), std::string::npos);
  EXPECT_NE(cli({"list", "protocols"}).out.find("random"), std::string::npos);
  EXPECT_NE(cli({"list", "config"}).out.find("train.lr"), std::string::npos);
  const Result r = cli({"list", "gizmos"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("models"), std::string::npos);
  // Each subcommand's own help (an option only it has), not the top-level one.
  const std::pair<const char*, const char*> own[] = {
      {"train", "--resume"}, {"eval", "--partition"}, {"predict", "--out"}, {"sweep", "--rates"}, {"list", "WHAT"}};
  for (const auto& [sub, option] : own) {
    const Result h = cli({sub, "--help"});
    EXPECT_EQ(h.code, 0) << sub;
    EXPECT_NE(h.out.find(option), std::string::npos) << sub << ": " << h.out;
  }
}

}  // namespace
}  // namespace merc::app
