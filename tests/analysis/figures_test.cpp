// The figures of issue 18 §3 from data: names, the numbers they show (hand-computed), stage and
// selection markers, and refusals of inputs that do not fit.
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "merc/analysis/figures.h"
#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "../support/error_text.h"

namespace merc::analysis {
namespace {

using testing_support::error_text;

bool has_text(const std::string& svg, const std::string& text) { return svg.find(">" + text + "<") != std::string::npos; }

std::vector<EpochRecord> two_stage_log() {
  std::vector<EpochRecord> epochs;
  for (int64_t e = 1; e <= 4; ++e) {
    EpochRecord r;
    r.epoch = e;
    r.stage = e <= 2 ? 0 : 1;
    r.train_loss = 1.0 / static_cast<double>(e);
    r.valid_loss = 1.2 / static_cast<double>(e);
    r.valid_metric = 50.0 + 5.0 * static_cast<double>(e);
    r.test_metric = NAN;  // validation selection logs no test metric
    r.selected = e == 3;
    epochs.push_back(r);
  }
  return epochs;
}

TEST(Figures, TrainingCurvesMarkStageChangeAndSelectedEpoch) {
  const auto figs = training_curve_figures(two_stage_log(), "weighted_f1", "mlp on synthetic");
  ASSERT_EQ(figs.size(), 2u);
  EXPECT_EQ(figs[0].name, "training_loss");
  EXPECT_EQ(figs[1].name, "training_metric");
  for (const auto& f : figs) {
    EXPECT_TRUE(has_text(f.svg, "stage 1")) << f.name;
    EXPECT_TRUE(has_text(f.svg, "selected")) << f.name;
    EXPECT_TRUE(has_text(f.svg, "epoch")) << f.name;
    EXPECT_TRUE(has_text(f.svg, "valid")) << f.name;
  }
  EXPECT_TRUE(has_text(figs[0].svg, "train"));
  EXPECT_TRUE(has_text(figs[1].svg, "weighted F1 (%)"));
  EXPECT_TRUE(has_text(figs[1].svg, "weighted_f1 per epoch: mlp on synthetic"));
  // No finite test value: no test line in the legend.
  EXPECT_FALSE(has_text(figs[1].svg, "test"));
  EXPECT_NE(error_text([] { training_curve_figures({}, "mae", ""); }).find("no epochs"), std::string::npos);
}

TEST(Figures, ConfusionCountsAndRowNormalisedValues) {
  const auto report = metrics::classification_report({0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 2, 2}, 3);
  const auto figs = confusion_figures(report.confusion, {"neg", "neu", "pos"}, "");
  ASSERT_EQ(figs.size(), 2u);
  EXPECT_EQ(figs[0].name, "confusion_counts");
  EXPECT_EQ(figs[1].name, "confusion_normalised");
  // Counts: rows neg (2, 1, 0), neu (0, 1, 1), pos (0, 0, 1).
  for (const char* v : {"2", "1", "0"}) EXPECT_TRUE(has_text(figs[0].svg, v)) << v;
  // Row-normalised: neg 2/3 = 66.7 %, 1/3 = 33.3 %; neu 50.0 %; pos 100.0 %.
  for (const char* v : {"66.7", "33.3", "50.0", "100.0", "0.0"}) EXPECT_TRUE(has_text(figs[1].svg, v)) << v;
  EXPECT_NE(figs[0].caption.find("6 utterances"), std::string::npos);
  EXPECT_NE(error_text([&] { confusion_figures(report.confusion, {"a", "b"}, ""); }).find("2 class names"),
            std::string::npos);
}

TEST(Figures, PerClassF1BarsShowTheReportsF1) {
  // neg: P = 1, R = 2/3, F1 = 0.8; neu: P = 1/2, R = 1/2, F1 = 0.5; pos: P = 1/2, R = 1, F1 = 2/3.
  const auto report = metrics::classification_report({0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 2, 2}, 3);
  const Figure f = per_class_f1_figure(report, {"neg", "neu", "pos"}, "run");
  EXPECT_EQ(f.name, "per_class_f1");
  for (const char* v : {"80.0", "50.0", "66.7", "neg (3)", "neu (2)", "pos (1)", "F1 (%)"})
    EXPECT_TRUE(has_text(f.svg, v)) << v;
  // macro F1 = (0.8 + 0.5 + 2/3) / 3 = 65.56 %.
  EXPECT_NE(f.caption.find("macro F1 65.56 %"), std::string::npos) << f.caption;
}

TEST(Figures, MissingRateCurvesOneLinePerCurveInRateOrder) {
  std::vector<RateCurve> curves = {{"mlp, random", {{0.5, 60, 2, 2}, {0.0, 80, 1, 2}}},
                                   {"mlp, imder", {{0.5, 55, 0, 2}}}};
  const Figure f = missing_rate_figure(curves, "accuracy", "sweep");
  EXPECT_EQ(f.name, "missing_rate_accuracy");
  for (const char* v : {"mlp, random", "mlp, imder", "missing rate (%)", "accuracy (%)"})
    EXPECT_TRUE(has_text(f.svg, v)) << v;
  EXPECT_NE(f.caption.find("std over seeds"), std::string::npos);
  EXPECT_NE(error_text([] { missing_rate_figure({{"x", {}}}, "accuracy", ""); }).find("no curve has a point"),
            std::string::npos);
}

TEST(Figures, TsnePanelsSideBySideWithClassLegend) {
  std::vector<EmbeddingPanel> panels = {{"before training", {0, 1, 2}, {0, 1, 0}, {0, 1, 1}},
                                        {"after training", {0, 5, 6}, {0, 5, 5}, {0, 1, 1}}};
  const Figure f = tsne_figure(panels, {"neg", "pos"}, "t-SNE of the test utterances");
  EXPECT_EQ(f.name, "tsne");
  for (const char* v : {"before training", "after training", "neg", "pos", "t-SNE 1"})
    EXPECT_TRUE(has_text(f.svg, v)) << v;
  panels[1].labels[2] = 2;
  EXPECT_NE(error_text([&] { tsne_figure(panels, {"neg", "pos"}, ""); }).find("label 2 of point 2"),
            std::string::npos);
  panels[1].labels.pop_back();
  EXPECT_NE(error_text([&] { tsne_figure(panels, {"neg", "pos"}, ""); }).find("3 x, 3 y and 2 labels"),
            std::string::npos);
}

TEST(Figures, PredictedVsTrueRefusesMismatchedLengths) {
  const Figure f = predicted_vs_true_figure({-1.0, 0.0, 2.5}, {-0.5, 0.2, 1.9}, "bc_lstm");
  EXPECT_TRUE(has_text(f.svg, "true score"));
  EXPECT_TRUE(has_text(f.svg, "predicted score"));
  EXPECT_THROW(predicted_vs_true_figure({1.0}, {}, ""), Error);
}

TEST(Figures, WriteFigureWritesThreeFormats) {
  const auto dir = std::filesystem::temp_directory_path() / ("merc_figures_test_" + std::to_string(::getpid()));
  const Figure f = missing_rate_figure({{"a", {{0.0, 1.0, 0.0, 1}, {0.3, 0.5, 0.0, 1}}}}, "mae", "");
  const FigureFiles files = write_figure(f, dir.string());
  EXPECT_EQ(files.svg, (dir / "missing_rate_mae.svg").string());
  EXPECT_EQ(io::read_file_bytes(files.svg), f.svg);
  EXPECT_EQ(io::read_file_bytes(files.png).substr(1, 3), "PNG");
  EXPECT_EQ(io::read_file_bytes(files.pdf).substr(0, 4), "%PDF");
  Figure bad = f;
  bad.name = "../escape";
  EXPECT_NE(error_text([&] { write_figure(bad, dir.string()); }).find("not a file stem"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Figures, MetricAxisLabelsCarryUnits) {
  EXPECT_EQ(metric_axis_label("accuracy"), "accuracy (%)");
  EXPECT_EQ(metric_axis_label("mae"), "MAE (score units)");
  EXPECT_EQ(metric_axis_label("custom"), "custom");
}

}  // namespace
}  // namespace merc::analysis
