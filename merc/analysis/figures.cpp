#include "merc/analysis/figures.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "merc/core/error.h"

namespace merc::analysis {

namespace figures_detail {

namespace fs = std::filesystem;

std::string with_label(const std::string& what, const std::string& label) {
  return label.empty() ? what : what + ": " + label;
}

std::vector<VerticalMarker> stage_markers(const std::vector<EpochRecord>& epochs) {
  std::vector<VerticalMarker> markers;
  for (size_t i = 1; i < epochs.size(); ++i)
    if (epochs[i].stage != epochs[i - 1].stage)
      markers.push_back({0.5 * static_cast<double>(epochs[i - 1].epoch + epochs[i].epoch),
                         fmt::format("stage {}", epochs[i].stage)});
  return markers;
}

// The epoch whose weights the run kept: the last one marked selected.
std::vector<VerticalMarker> selected_marker(const std::vector<EpochRecord>& epochs) {
  for (size_t i = epochs.size(); i-- > 0;)
    if (epochs[i].selected) return {{static_cast<double>(epochs[i].epoch), "selected"}};
  return {};
}

bool any_finite(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

LineSeries epoch_series(const std::vector<EpochRecord>& epochs, const std::string& label, bool dashed,
                        double EpochRecord::*field) {
  LineSeries s;
  s.label = label;
  s.dashed = dashed;
  for (const auto& e : epochs) {
    s.x.push_back(static_cast<double>(e.epoch));
    s.y.push_back(e.*field);
  }
  return s;
}

}  // namespace figures_detail

Figure make_figure(std::string name, std::string title, std::string caption, Plot plot) {
  Figure f;
  f.name = std::move(name);
  f.title = std::move(title);
  f.caption = std::move(caption);
  f.svg = plot.svg();
  f.plot = std::move(plot);
  return f;
}

FigureFiles write_figure(const Figure& figure, const std::string& dir) {
  MERC_CHECK(!figure.name.empty() && figure.name.find_first_of("/\\") == std::string::npos && figure.name != "." &&
                 figure.name != "..",
             "figure name '{}' is not a file stem", figure.name);
  MERC_CHECK(!figure.plot.empty(), "figure '{}' has no plot", figure.name);
  figures_detail::fs::create_directories(dir);
  const auto stem = figures_detail::fs::path(dir) / figure.name;
  FigureFiles files{stem.string() + ".svg", stem.string() + ".png", stem.string() + ".pdf"};
  figure.plot.write_svg(files.svg);
  figure.plot.write_png(files.png);
  figure.plot.write_pdf(files.pdf);
  return files;
}

std::string metric_axis_label(const std::string& metric) {
  static const std::map<std::string, std::string> kLabels = {
      {"accuracy", "accuracy (%)"},        {"weighted_f1", "weighted F1 (%)"},
      {"macro_f1", "macro F1 (%)"},        {"ua", "UA, macro recall (%)"},
      {"acc2", "Acc-2, non-zero (%)"},     {"f1", "F1, non-zero (%)"},
      {"acc2_has0", "Acc-2, has-0 (%)"},   {"f1_has0", "F1, has-0 (%)"},
      {"acc5", "Acc-5 (%)"},               {"acc7", "Acc-7 (%)"},
      {"mae", "MAE (score units)"},        {"mae_non0", "MAE, non-zero (score units)"},
      {"corr", "Pearson r"},               {"corr_non0", "Pearson r, non-zero"},
      {"loss", "loss"}};
  const auto it = kLabels.find(metric);
  return it == kLabels.end() ? metric : it->second;
}

std::vector<Figure> training_curve_figures(const std::vector<EpochRecord>& epochs, const std::string& metric,
                                           const std::string& run_label) {
  using namespace figures_detail;
  MERC_CHECK(!epochs.empty(), "training curves: no epochs (empty train_log.jsonl?)");
  std::vector<VerticalMarker> markers = stage_markers(epochs);
  const auto selected = selected_marker(epochs);
  markers.insert(markers.end(), selected.begin(), selected.end());

  LineChartSpec loss;
  loss.title = with_label("Loss per epoch", run_label);
  loss.x_label = "epoch";
  loss.y_label = "task loss (mean per utterance)";
  loss.integer_x = true;
  loss.markers = markers;
  loss.series.push_back(epoch_series(epochs, "train", false, &EpochRecord::train_loss));
  LineSeries valid_loss = epoch_series(epochs, "valid", true, &EpochRecord::valid_loss);
  if (any_finite(valid_loss.y)) loss.series.push_back(valid_loss);

  LineChartSpec score;
  score.title = with_label(fmt::format("{} per epoch", metric), run_label);
  score.x_label = "epoch";
  score.y_label = metric_axis_label(metric);
  score.integer_x = true;
  score.markers = markers;
  for (const auto& [label, field] : {std::pair{"valid", &EpochRecord::valid_metric}, {"test", &EpochRecord::test_metric}}) {
    LineSeries s = epoch_series(epochs, label, std::string(label) == "test", field);
    if (any_finite(s.y)) score.series.push_back(s);
  }
  std::vector<Figure> out;
  out.push_back(make_figure("training_loss", loss.title,
                            "Mean task loss on train (during the epoch) and on valid (after it); dotted lines mark "
                            "stage changes and the selected epoch.",
                            line_chart(loss)));
  if (!score.series.empty())
    out.push_back(make_figure("training_metric", score.title,
                              fmt::format("{} after each epoch; the selected epoch's weights are the run's model.",
                                          metric_axis_label(metric)),
                              line_chart(score)));
  return out;
}

std::vector<Figure> confusion_figures(const metrics::ConfusionMatrix& confusion,
                                      const std::vector<std::string>& class_names, const std::string& run_label) {
  const int64_t c = confusion.num_classes;
  MERC_CHECK(c >= 1 && static_cast<int64_t>(class_names.size()) == c &&
                 confusion.counts.size() == static_cast<size_t>(c * c),
             "confusion matrix: {} classes, {} class names, {} counts", c, class_names.size(), confusion.counts.size());
  HeatMapSpec counts;
  counts.title = figures_detail::with_label("Confusion matrix (counts)", run_label);
  counts.x_label = "predicted class";
  counts.y_label = "true class";
  counts.row_names = counts.col_names = class_names;
  counts.values = confusion.counts;
  counts.colour_bar_label = "utterances";
  // Weighted counts print with decimals only when they are not whole.
  const bool integral = std::all_of(confusion.counts.begin(), confusion.counts.end(),
                                    [](double v) { return v == std::round(v); });
  counts.value_decimals = integral ? 0 : 1;

  HeatMapSpec norm = counts;
  norm.title = figures_detail::with_label("Confusion matrix (% of true class)", run_label);
  norm.colour_bar_label = "% of the true class";
  norm.value_decimals = 1;
  for (int64_t t = 0; t < c; ++t) {
    const double support = confusion.true_count(t);
    for (int64_t p = 0; p < c; ++p)
      norm.values[static_cast<size_t>(t * c + p)] = support > 0 ? 100.0 * confusion.at(t, p) / support : 0.0;
  }
  std::vector<Figure> out;
  out.push_back(make_figure("confusion_counts", counts.title,
                            fmt::format("Rows: true class, columns: predicted class; {} utterances.", confusion.total()),
                            heat_map(counts)));
  out.push_back(make_figure("confusion_normalised", norm.title,
                            "Each row divided by its true-class support: the diagonal is the per-class recall.",
                            heat_map(norm)));
  return out;
}

Figure per_class_f1_figure(const metrics::ClassificationReport& report, const std::vector<std::string>& class_names,
                           const std::string& run_label) {
  MERC_CHECK(!report.classes.empty() && class_names.size() == report.classes.size(),
             "per-class F1: {} classes in the report, {} class names", report.classes.size(), class_names.size());
  BarChartSpec spec;
  spec.title = figures_detail::with_label("F1 per class", run_label);
  spec.x_label = "class";
  spec.y_label = "F1 (%)";
  spec.y_max = 100.0;
  BarSeries f1;
  for (size_t c = 0; c < class_names.size(); ++c) {
    spec.categories.push_back(fmt::format("{} ({:.0f})", class_names[c], report.classes[c].support));
    f1.values.push_back(100.0 * report.classes[c].f1);
  }
  spec.series.push_back(f1);
  return make_figure("per_class_f1", spec.title,
                     fmt::format("F1 per class (support in brackets); macro F1 {:.2f} %, weighted F1 {:.2f} %.",
                                 100.0 * report.macro_f1, 100.0 * report.weighted_f1),
                     bar_chart(spec));
}

Figure predicted_vs_true_figure(const std::vector<double>& truth, const std::vector<double>& predicted,
                                const std::string& run_label) {
  MERC_CHECK(!truth.empty() && truth.size() == predicted.size(),
             "predicted vs true: {} true values and {} predictions", truth.size(), predicted.size());
  ScatterSpec spec;
  ScatterPanel panel;
  panel.title = figures_detail::with_label("Predicted vs true score", run_label);
  panel.x_label = "true score";
  panel.y_label = "predicted score";
  panel.identity_line = true;
  panel.groups.push_back({"", truth, predicted});  // one group: no legend
  spec.panels.push_back(panel);
  return make_figure("predicted_vs_true", panel.title,
                     fmt::format("One point per utterance ({}); the dashed line is a perfect prediction.", truth.size()),
                     scatter_plot(spec, {650, 560}));
}

Figure missing_rate_figure(const std::vector<RateCurve>& curves, const std::string& metric,
                           const std::string& sweep_label) {
  LineChartSpec spec;
  spec.title = figures_detail::with_label(fmt::format("{} vs missing rate", metric), sweep_label);
  spec.x_label = "missing rate (%)";
  spec.y_label = metric_axis_label(metric);
  bool seeds = false;
  for (const auto& curve : curves) {
    std::vector<RatePoint> pts = curve.points;
    std::sort(pts.begin(), pts.end(), [](const RatePoint& a, const RatePoint& b) { return a.rate < b.rate; });
    LineSeries s;
    s.label = curve.label;
    for (const auto& p : pts) {
      s.x.push_back(100.0 * p.rate);
      s.y.push_back(p.mean);
      s.band.push_back(p.std);
      seeds = seeds || p.runs > 1;
    }
    if (!s.x.empty()) spec.series.push_back(s);
  }
  MERC_CHECK(!spec.series.empty(), "missing-rate curves of '{}': no curve has a point", metric);
  return make_figure("missing_rate_" + metric, spec.title,
                     seeds ? "Test metric mean over seeds; the band is ± one population std over seeds."
                           : "Test metric of one run per rate.",
                     line_chart(spec));
}

Figure tsne_figure(const std::vector<EmbeddingPanel>& panels, const std::vector<std::string>& class_names,
                   const std::string& title) {
  MERC_CHECK(!panels.empty(), "t-SNE figure: no panels");
  MERC_CHECK(!class_names.empty(), "t-SNE figure: no class names");
  ScatterSpec spec;
  spec.title = title;
  for (const auto& p : panels) {
    MERC_CHECK(p.x.size() == p.y.size() && p.x.size() == p.labels.size(),
               "t-SNE panel '{}': {} x, {} y and {} labels", p.title, p.x.size(), p.y.size(), p.labels.size());
    ScatterPanel panel;
    panel.title = p.title;
    panel.x_label = "t-SNE 1";
    panel.y_label = "t-SNE 2";
    for (const auto& name : class_names) panel.groups.push_back({name, {}, {}});
    for (size_t i = 0; i < p.labels.size(); ++i) {
      MERC_CHECK(p.labels[i] >= 0 && p.labels[i] < static_cast<int64_t>(class_names.size()),
                 "t-SNE panel '{}': label {} of point {} is outside [0, {})", p.title, p.labels[i], i,
                 class_names.size());
      ScatterGroup& g = panel.groups[static_cast<size_t>(p.labels[i])];
      g.x.push_back(p.x[i]);
      g.y.push_back(p.y[i]);
    }
    spec.panels.push_back(panel);
  }
  const int width = 150 + 480 * static_cast<int>(panels.size());
  return make_figure("tsne", title, "t-SNE embedding of the utterance representations, coloured by true class.",
                     scatter_plot(spec, {width, 520}));
}

}  // namespace merc::analysis
