// run_figures / sweep_figures / `merc analyze figures` on a tiny run and a tiny sweep trained
// in-process: which figures come out, the numbers they show, and refusals of what is not a run.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "cli_test_util.h"
#include "tiny_run_util.h"
#include "merc/app/run_figures.h"
#include "merc/app/run_predictions.h"
#include "merc/core/error.h"
#include "../support/error_text.h"

namespace merc::app {
namespace run_figures_test_detail {

namespace fs = std::filesystem;

class RunFiguresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const testing::TinyDataDir d = testing::make_tiny_data_dir("merc_run_figures");
    dir_ = d.dir;
    data_ = d.data;
    const testing::CliResult r = testing::train_tiny_run(data_, run());
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    const testing::CliResult s =
        testing::cli({"sweep", "--data", data_, "--split", "given", "--set", "model.name=mlp", "--set",
                      "train.epochs=1", "--set", "train.progress=none", "--threads", "1", "--rates", "0,0.5",
                      "--seeds", "1,2", "--out", sweep()});
    ASSERT_EQ(s.code, 0) << s.err << s.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string run() { return (dir_ / "cls").string(); }
  static std::string sweep() { return (dir_ / "sweep").string(); }
  static fs::path dir_;
  static std::string data_;
};
fs::path RunFiguresTest::dir_;
std::string RunFiguresTest::data_;

std::vector<std::string> names(const std::vector<analysis::Figure>& figs) {
  std::vector<std::string> out;
  for (const auto& f : figs) out.push_back(f.name);
  return out;
}

bool has_text(const std::string& svg, const std::string& text) { return svg.find(">" + text + "<") != std::string::npos; }

}  // namespace run_figures_test_detail

namespace {

using namespace run_figures_test_detail;
using testing_support::error_text;

TEST_F(RunFiguresTest, ClassificationRunGivesCurvesConfusionAndF1) {
  const auto figs = run_figures(run());
  EXPECT_EQ(names(figs), (std::vector<std::string>{"training_loss", "training_metric", "confusion_counts",
                                                   "confusion_normalised", "per_class_f1"}));
  // The counts of the heat map are the run's test predictions: 18 test utterances (split given).
  EXPECT_NE(figs[2].caption.find("18 utterances"), std::string::npos) << figs[2].caption;
  const RunPredictions p = predict_saved_run(run(), RunPredictionRequest{});
  int64_t neg_as_neg = 0;
  for (const auto& u : p.result.predictions) neg_as_neg += u.label == 0 && u.pred_class == 0;
  EXPECT_TRUE(has_text(figs[2].svg, std::to_string(neg_as_neg)));
  EXPECT_TRUE(has_text(figs[0].svg, "Loss per epoch: mlp on synthetic"));
  EXPECT_TRUE(has_text(figs[1].svg, "weighted F1 (%)"));  // train.metric auto = weighted_f1
}

TEST_F(RunFiguresTest, SweepGivesMissingRateCurvesPerMainMetric) {
  const auto figs = sweep_figures(sweep());
  EXPECT_EQ(names(figs), (std::vector<std::string>{"missing_rate_accuracy", "missing_rate_weighted_f1",
                                                   "missing_rate_macro_f1", "missing_rate_ua"}));
  // One line per protocol family, named with the sweep's model; two seeds -> a band.
  EXPECT_TRUE(has_text(figs[0].svg, "mlp, random"));
  EXPECT_TRUE(has_text(figs[0].svg, "missing rate (%)"));
  EXPECT_NE(figs[0].caption.find("std over seeds"), std::string::npos);
  EXPECT_TRUE(is_sweep_dir(sweep()));
  EXPECT_FALSE(is_sweep_dir(run()));
}

TEST_F(RunFiguresTest, CliWritesEveryFigureInThreeFormats) {
  const std::string out = (dir_ / "figs").string();
  const testing::CliResult r = testing::cli({"analyze", "figures", run(), "--out", out});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* stem : {"training_loss", "confusion_counts", "per_class_f1"})
    for (const char* ext : {".svg", ".png", ".pdf"}) {
      const std::string path = (fs::path(out) / (std::string(stem) + ext)).string();
      EXPECT_TRUE(fs::exists(path)) << path;
      EXPECT_NE(r.out.find(path), std::string::npos) << r.out;
    }
  const testing::CliResult s = testing::cli({"analyze", "figures", sweep()});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_TRUE(fs::exists(fs::path(sweep()) / "figures" / "missing_rate_accuracy.png"));
}

TEST_F(RunFiguresTest, RefusesWhatIsNotARunOrASweep) {
  const std::string empty = (dir_ / "empty").string();
  fs::create_directories(empty);
  EXPECT_NE(error_text([&] { run_figures(empty); }).find("is not a run directory"), std::string::npos);
  EXPECT_NE(error_text([&] { sweep_figures(empty); }).find("is not a sweep directory"), std::string::npos);
  const testing::CliResult r = testing::cli({"analyze", "figures", empty});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is not a run directory"), std::string::npos) << r.err;
}

TEST(RunFigures, ParseTrainLogReadsMetricAndNamesBadLines) {
  const std::string log =
      "{\"epoch\":1,\"stage\":0,\"train_loss\":0.9,\"valid_loss\":1.0,\"valid\":{\"mae\":0.8},\"selected\":true}\n"
      "{\"epoch\":2,\"stage\":1,\"train_loss\":0.7,\"valid\":{\"mae\":null},\"test\":{\"mae\":0.6}}\n";
  const auto epochs = parse_train_log(log, "mae", "x/train_log.jsonl");
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[1].stage, 1);
  EXPECT_DOUBLE_EQ(epochs[0].valid_metric, 0.8);
  EXPECT_TRUE(std::isnan(epochs[1].valid_metric));  // null
  EXPECT_TRUE(std::isnan(epochs[1].valid_loss));    // absent
  EXPECT_DOUBLE_EQ(epochs[1].test_metric, 0.6);
  EXPECT_TRUE(epochs[0].selected);
  EXPECT_FALSE(epochs[1].selected);
  const std::string err = error_text([] { parse_train_log("{\"epoch\":1}\n{oops\n", "mae", "x/train_log.jsonl"); });
  EXPECT_NE(err.find("x/train_log.jsonl"), std::string::npos) << err;
  EXPECT_NE(err.find("line 2"), std::string::npos) << err;
}

}  // namespace
}  // namespace merc::app
