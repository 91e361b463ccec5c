// `merc report` on tiny in-process runs: a run (classification: protocol card, metric table, the
// 4-digit classification report of predict_saved_run), a test-max run (its loud warning, absent
// from the validation run), a k-fold directory and a sweep directory (mean ± std tables), and
// missing or corrupt files reported by name.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "tiny_run_util.h"
#include "merc/analysis/html_report.h"
#include "merc/app/eval_outputs.h"
#include "merc/app/report_cmd.h"
#include "merc/app/run_predictions.h"
#include "merc/data/dataset_file.h"
#include "merc/io/binary_file.h"
#include "../support/error_text.h"
#include "../train/synthetic_data.h"

namespace merc::app {
namespace report_cmd_test_detail {

namespace fs = std::filesystem;

// The synthetic dataset with two folds "fold-1" / "fold-2" (train/valid/test each).
data::Dataset dataset_with_folds() {
  data::Dataset ds = train::testing::synthetic_dataset();
  ds.split_schemes.push_back(data::SplitScheme{"fold-1", {{"train", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
                                                          {"valid", {16, 17, 18, 19}}, {"test", {20, 21, 22, 23}}}});
  ds.split_schemes.push_back(data::SplitScheme{"fold-2", {{"train", {8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}},
                                                          {"valid", {4, 5, 6, 7}}, {"test", {0, 1, 2, 3}}}});
  return ds;
}

class ReportCmdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const testing::TinyDataDir d = testing::make_tiny_data_dir("merc_report_cmd", dataset_with_folds());
    dir_ = d.dir;
    data_ = d.data;
    const std::vector<std::string> common = {"--data", data_, "--set", "model.name=mlp", "--set", "train.epochs=2",
                                             "--set", "train.progress=none", "--threads", "1"};
    auto run = [&](std::vector<std::string> args) {
      args.insert(args.begin() + 1, common.begin(), common.end());
      const testing::CliResult r = testing::cli(args);
      ASSERT_EQ(r.code, 0) << r.err << r.out;
    };
    run({"train", "--split", "given", "--out", path("run")});
    run({"train", "--split", "given", "--set", "selection=test-max", "--out", path("testmax")});
    run({"train", "--folds", "fold", "--out", path("folds")});
    run({"sweep", "--split", "given", "--conditions", "complete,fixed:a", "--seeds", "1,2", "--out", path("sweep")});
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  // A copy of the validation run to break.
  static std::string broken_copy(const std::string& name) {
    fs::remove_all(path(name));
    fs::copy(path("run"), path(name), fs::copy_options::recursive);
    return path(name);
  }
  static fs::path dir_;
  static std::string data_;
};
fs::path ReportCmdTest::dir_;
std::string ReportCmdTest::data_;

bool has(const std::string& html, const std::string& what) { return html.find(what) != std::string::npos; }

}  // namespace report_cmd_test_detail

namespace {

using namespace report_cmd_test_detail;
using testing_support::error_text;

TEST_F(ReportCmdTest, ARunHasItsProtocolCardMetricsAndClassificationReport) {
  EXPECT_EQ(detect_report_kind(path("run")), ReportKind::kRun);
  const std::string html = report_html(path("run"));
  for (const char* part : {"Protocol card", "synthetic (read by test)", "train 16 dialogues / 72 utterances",
                           "valid 4 dialogues / 18 utterances", "test 4 dialogues / 18 utterances",
                           "complete (masks redrawn: per_batch)", "validation on weighted_f1", "Resolved config",
                           "<details><summary>config.yaml", "Training log (2 epochs", "weighted_f1"})
    EXPECT_TRUE(has(html, part)) << part;
  // The test row of the metric table is metrics.json's test accuracy to 2 decimals.
  const auto m = nlohmann::json::parse(io::read_file_bytes(path("run") + "/metrics.json"));
  EXPECT_TRUE(has(html, fmt::format("<td>test</td><td>{:.2f}</td>", m["test"]["accuracy"].get<double>()))) << html;
  // The classification report is predict_saved_run's, 4 digits, escaped into a <pre>.
  const RunPredictions p = predict_saved_run(path("run"), {});
  const std::string report = report_text(prediction_report(p.result.predictions, 2), p.run.class_names);
  EXPECT_TRUE(has(html, "<pre>" + analysis::html_escape(report) + "</pre>"));
  EXPECT_FALSE(has(html, "class=\"warning\""));  // validation selection on clean data: no warning
  // The figures of run_figures inline (training curves, confusion matrix, per-class F1).
  EXPECT_TRUE(has(html, "<figure>\n<svg"));
  EXPECT_FALSE(has(html, "<?xml"));
  EXPECT_FALSE(has(html, "<script"));
}

TEST_F(ReportCmdTest, TheTestMaxWarningAppearsOnlyForATestMaxRun) {
  const std::string warning = "<div class=\"warning\" role=\"alert\"><strong>Test-max selection:</strong>";
  EXPECT_TRUE(has(report_html(path("testmax")), warning));
  EXPECT_FALSE(has(report_html(path("run")), warning));
  EXPECT_FALSE(has(report_html(path("sweep")), warning));
}

TEST_F(ReportCmdTest, AFoldDirectoryHasMeanAndStdOverFolds) {
  EXPECT_EQ(detect_report_kind(path("folds")), ReportKind::kFolds);
  const std::string html = report_html(path("folds"));
  const auto j = nlohmann::json::parse(io::read_file_bytes(path("folds") + "/results.json"));
  const double mean = j["summary"][0]["mean"]["accuracy"].get<double>();
  const double sd = j["summary"][0]["std"]["accuracy"].get<double>();
  EXPECT_TRUE(has(html, fmt::format("<td>{:.2f} ± {:.2f}</td>", mean, sd))) << html;
  for (const char* part : {"k-fold run", "2 folds: fold-1, fold-2", "Partitions of each fold", "over folds",
                           "<td>fold-2</td>"})
    EXPECT_TRUE(has(html, part)) << part;
  // The classification report pools both folds' test predictions (4 + 4 test dialogues).
  std::vector<train::UtterancePrediction> pooled;
  for (const char* fold : {"fold-1", "fold-2"}) {
    const RunPredictions p = predict_saved_run(path("folds") + "/" + fold, {});
    pooled.insert(pooled.end(), p.result.predictions.begin(), p.result.predictions.end());
  }
  EXPECT_EQ(pooled.size(), 36u);  // 18 test utterances per fold
  const std::string report = report_text(prediction_report(pooled, 2), {"neg", "pos"});
  EXPECT_TRUE(has(html, "test partitions of all 2 folds pooled"));
  EXPECT_TRUE(has(html, "<pre>" + analysis::html_escape(report) + "</pre>"));
}

TEST_F(ReportCmdTest, ASweepDirectoryHasOneRowPerProtocolAndEveryRun) {
  EXPECT_EQ(detect_report_kind(path("sweep")), ReportKind::kSweep);
  const std::string html = report_html(path("sweep"));
  for (const char* part : {"sweep", "per cell, train = test protocol: complete, fixed:a", "<td>fixed:a</td><td>2</td>",
                           "over seeds", "1, 2"})
    EXPECT_TRUE(has(html, part)) << part;
  EXPECT_TRUE(has(html, "<figure>\n<svg"));  // sweep_figures (the conditions bar chart)
  // 2 summary rows + 4 run rows + the header rows and the card.
  const auto j = nlohmann::json::parse(io::read_file_bytes(path("sweep") + "/results.json"));
  EXPECT_EQ(j["runs"].size(), 4u);
}

TEST_F(ReportCmdTest, TheCliWritesDirReportHtmlOrOut) {
  testing::CliResult r = testing::cli({"report", path("run")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("run") + "/report.html"));
  const std::string out = path("elsewhere.html");
  r = testing::cli({"report", path("sweep"), "--out", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(out), std::string::npos);
  EXPECT_EQ(io::read_file_bytes(out), report_html(path("sweep")));
}

TEST_F(ReportCmdTest, MissingOrCorruptFilesAreNamed) {
  EXPECT_TRUE(has(error_text([&] { report_html(path("no_such_dir")); }), "no_such_dir"));
  fs::create_directories(path("empty"));
  EXPECT_TRUE(has(error_text([&] { report_html(path("empty")); }), "not a run directory"));
  std::string d = broken_copy("no_metrics");
  fs::remove(d + "/metrics.json");
  EXPECT_TRUE(has(error_text([&] { report_html(d); }), "no_metrics/metrics.json: missing"));
  d = broken_copy("bad_metrics");
  io::write_file_atomically(d + "/metrics.json", "{\"valid\": ");
  EXPECT_TRUE(has(error_text([&] { report_html(d); }), "bad_metrics/metrics.json: malformed JSON"));
  d = broken_copy("bad_log");
  io::write_file_atomically(d + "/train_log.jsonl", "{\"epoch\": 1}\nnot json\n");
  EXPECT_TRUE(has(error_text([&] { report_html(d); }), "bad_log/train_log.jsonl: line 2"));
  d = broken_copy("bad_config");
  io::write_file_atomically(d + "/config.yaml", "train: {epochs: [\n");
  EXPECT_TRUE(has(error_text([&] { report_html(d); }), "bad_config/config.yaml"));
  // A sweep whose results.json is corrupt, or names a run that is gone.
  fs::copy(path("sweep"), path("bad_sweep"), fs::copy_options::recursive);
  fs::remove_all(path("bad_sweep") + "/fixed-a");
  EXPECT_TRUE(has(error_text([&] { report_html(path("bad_sweep")); }), "bad_sweep/results.json: run directory"));
  io::write_file_atomically(path("bad_sweep") + "/results.json", "[]");
  EXPECT_TRUE(has(error_text([&] { report_html(path("bad_sweep")); }), "bad_sweep/results.json: expected"));
}

}  // namespace
}  // namespace merc::app
