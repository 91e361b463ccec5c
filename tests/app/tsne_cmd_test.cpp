// `merc analyze tsne`: on the export of a tiny trained run it writes both scatters with class and
// speaker names and tsne.json; a folder that is not an export, or whose files disagree in rows,
// is refused naming the file.
#include "merc/app/tsne_cmd.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "../support/error_text.h"
#include "../train/synthetic_data.h"
#include "cli_test_util.h"
#include "tiny_run_util.h"
#include "merc/data/dataset_file.h"
#include "merc/io/npy.h"

namespace merc::app {
namespace tsne_cmd_test_detail {

namespace fs = std::filesystem;

class TsneCmdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const testing::TinyDataDir d = testing::make_tiny_data_dir("merc_tsne_cmd");
    dir_ = d.dir;
    const std::string run = (dir_ / "run").string();
    testing::CliResult r = testing::train_tiny_run(d.data, run);
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    r = testing::cli({"eval", "--run", run, "--export", export_dir(), "--threads", "1"});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string export_dir() { return (dir_ / "export").string(); }
  // A short schedule: 18 test utterances, perplexity 5 (15 neighbours), 100 iterations.
  static std::vector<std::string> tsne_args(const std::string& dir) {
    return {"analyze", "tsne", dir, "--perplexity", "5", "--iterations", "100", "--progress", "none", "--threads", "1"};
  }
  static fs::path dir_;
};
fs::path TsneCmdTest::dir_;

}  // namespace tsne_cmd_test_detail

namespace {

using namespace tsne_cmd_test_detail;
using testing_support::error_text;

TEST_F(TsneCmdTest, WritesBothScattersWithNamesAndTheReport) {
  const std::string out = (dir_ / "tsne_out").string();
  std::vector<std::string> args = tsne_args(export_dir());
  args.insert(args.end(), {"--out", out});
  const testing::CliResult r = testing::cli(args);
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("t-SNE before: 18 points"), std::string::npos) << r.out;
  for (const char* name : {"before", "after"}) {
    const TsneScatter s = read_tsne_scatter((fs::path(out) / fmt::format("tsne_{}.csv", name)).string());
    EXPECT_EQ(s.name, name);
    ASSERT_EQ(s.x.size(), 18u);  // the 18 test utterances of split "given"
    for (size_t i = 0; i < s.x.size(); ++i) {
      EXPECT_TRUE(s.label[i] == "neg" || s.label[i] == "pos") << s.label[i];  // class names, not indices
      EXPECT_TRUE(s.speaker[i] == "A" || s.speaker[i] == "B") << s.speaker[i];
      EXPECT_TRUE(std::isfinite(s.x[i]) && std::isfinite(s.y[i]));
    }
  }
  std::ifstream f(fs::path(out) / "tsne.json");
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_EQ(j["options"]["perplexity"].get<double>(), 5.0);
  EXPECT_EQ(j["options"]["learning_rate"].get<std::string>(), "200");  // MoED's default
  EXPECT_EQ(j["options"]["seed"].get<uint64_t>(), 42u);
  EXPECT_EQ(j["before"]["iterations"].get<int64_t>(), 100);
  EXPECT_GT(j["after"]["kl_divergence"].get<double>(), 0.0);
  EXPECT_FALSE(fs::exists(fs::path(export_dir()) / "tsne.json"));  // --out, not DIR
  // MoED's Figure 2: one before/after figure, coloured by the class names, in three formats.
  for (const char* ext : {"svg", "png", "pdf"}) EXPECT_TRUE(fs::exists(fs::path(out) / fmt::format("tsne.{}", ext)));
  std::ifstream svg_file(fs::path(out) / "tsne.svg");
  const std::string svg((std::istreambuf_iterator<char>(svg_file)), std::istreambuf_iterator<char>());
  for (const char* text : {"before: model inputs", "after: fused representation", "neg", "pos"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  EXPECT_EQ(svg.find("no label"), std::string::npos);  // every test utterance has a label
  EXPECT_EQ(j["figure"]["png"].get<std::string>(), (fs::path(out) / "tsne.png").string());
}

TEST_F(TsneCmdTest, ScattersForFiguresCarryClassIndices) {
  analysis::TsneOptions o;
  o.perplexity = 5.0;
  o.max_iter = 60;
  o.exaggeration_iterations = 30;
  const std::vector<TsneScatter> s = compute_tsne_scatters(export_dir(), o);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].name, "after");
  for (size_t i = 0; i < s[0].label.size(); ++i) EXPECT_EQ(s[0].label[i], s[0].label_class[i] == 1 ? "pos" : "neg");
}

TEST_F(TsneCmdTest, RefusesMissingFilesAndMismatchedRows) {
  const fs::path broken = dir_ / "broken";
  fs::remove_all(broken);
  fs::copy(export_dir(), broken);
  fs::remove(broken / "labels.npy");
  testing::CliResult r = testing::cli(tsne_args(broken.string()));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("labels.npy: missing (is it a folder written by `merc eval --export`?)"), std::string::npos)
      << r.err;
  io::NdArray labels;
  labels.dtype = io::DType::kInt64;
  labels.shape = {5};
  labels.data.assign(5 * 8, 0);
  io::write_npy_file((broken / "labels.npy").string(), labels);
  EXPECT_NE(
      error_text([&] { read_analysis_export(broken.string()); }).find("has 5 rows but features_before.npy has 18"),
      std::string::npos);
  std::vector<std::string> bad_rate = tsne_args(export_dir());
  bad_rate.insert(bad_rate.end(), {"--learning-rate", "fast"});
  r = testing::cli(bad_rate);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--learning-rate: want a number or 'auto', got 'fast'"), std::string::npos) << r.err;
  r = testing::cli(tsne_args((dir_ / "no_such_export").string()));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no_such_export: not a directory"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace merc::app
