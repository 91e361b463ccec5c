#include "merc/app/run_figures.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "merc/app/run_predictions.h"
#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/metrics/classification.h"
#include "merc/train/experiment_config.h"
#include "merc/train/trainer.h"

namespace merc::app {

namespace run_figures_detail {

namespace fs = std::filesystem;
using nlohmann::json;

double number_or_nan(const json& object, const std::string& key) {
  if (!object.is_object()) return NAN;
  const auto it = object.find(key);
  return it == object.end() || !it->is_number() ? NAN : it->get<double>();
}

// The curve metric of a run: its selection metric (train.metric, auto resolved per task).
std::string curve_metric(const train::ExperimentConfig& config, data::Task task) {
  return train::selection_metric(config, task);
}

std::string run_label(const RunPredictions& p) {
  return fmt::format("{} on {}", p.run.config.model->name, p.dataset);
}

std::vector<analysis::Figure> prediction_figures(const RunPredictions& p) {
  const std::string label = run_label(p) + ", " + p.partition;
  std::vector<analysis::Figure> out;
  if (p.run.dims.task == data::Task::kRegression) {
    std::vector<double> truth, pred;
    for (const auto& u : p.result.predictions)
      if (std::isfinite(u.score)) truth.push_back(u.score), pred.push_back(u.pred_score);
    if (!truth.empty()) out.push_back(analysis::predicted_vs_true_figure(truth, pred, label));
    return out;
  }
  std::vector<int64_t> y_true, y_pred;
  for (const auto& u : p.result.predictions)
    if (u.label >= 0) y_true.push_back(u.label), y_pred.push_back(u.pred_class);
  if (y_true.empty()) return out;
  const int64_t classes = static_cast<int64_t>(p.run.class_names.size());
  const metrics::ClassificationReport report = metrics::classification_report(y_true, y_pred, classes);
  out = analysis::confusion_figures(report.confusion, p.run.class_names, label);
  out.push_back(analysis::per_class_f1_figure(report, p.run.class_names, label));
  return out;
}

// ---- sweeps ----

struct GroupSummary {
  std::string group;
  int64_t runs = 1;
  std::map<std::string, double> mean, std;
  std::vector<std::string> metrics;  // in file order
};

// "random:0.3" -> family "random", rate 0.3; false for "complete", "fixed:a", ...
bool parse_rate_protocol(const std::string& group, std::string& family, double& rate) {
  const size_t colon = group.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string tail = group.substr(colon + 1);
  try {
    size_t used = 0;
    rate = std::stod(tail, &used);
    if (used != tail.size() || !(rate >= 0.0 && rate < 1.0)) return false;
  } catch (const std::exception&) {
    return false;
  }
  family = group.substr(0, colon);
  return true;
}

std::vector<GroupSummary> read_summary(const std::string& path) {
  std::vector<GroupSummary> rows;
  try {
    const json j = json::parse(io::read_file_bytes(path));
    for (const auto& r : j.at("summary")) {
      GroupSummary g;
      g.group = r.at("group").get<std::string>();
      g.runs = r.value("runs", int64_t{1});
      for (const auto& [name, _] : r.at("mean").items()) {
        g.metrics.push_back(name);
        g.mean[name] = number_or_nan(r.at("mean"), name);
        g.std[name] = number_or_nan(r.value("std", json::object()), name);
      }
      rows.push_back(std::move(g));
    }
  } catch (const json::exception& e) {
    throw FormatError(path, std::string("malformed results.json: ") + e.what());
  }
  if (rows.empty()) throw FormatError(path, "results.json has no summary rows");
  return rows;
}

// The metrics a paper reports, where the sweep has them; otherwise every metric but the loss.
std::vector<std::string> main_metrics(const GroupSummary& row) {
  static const std::vector<std::string> kMain = {"accuracy", "weighted_f1", "macro_f1", "ua", "acc2",
                                                 "f1",       "acc7",        "mae",      "corr"};
  std::vector<std::string> out;
  for (const auto& m : kMain)
    if (row.mean.count(m)) out.push_back(m);
  if (out.empty())
    for (const auto& m : row.metrics)
      if (m != "loss") out.push_back(m);
  return out;
}

// The model of the sweep, from its first run's saved config (best effort: "" when unreadable).
std::string sweep_model(const std::string& sweep_dir, const std::vector<GroupSummary>& rows) {
  std::string safe = rows.front().group;
  for (char& ch : safe)
    if (ch == ':' || ch == '/' || ch == ' ') ch = '-';
  const fs::path dir = fs::path(sweep_dir) / safe;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path config = entry.path() / "config.yaml";
    if (!fs::exists(config)) continue;
    try {
      return train::load_config_file(config.string()).model->name;
    } catch (const Error&) {
      return "";
    }
  }
  return "";
}

std::vector<analysis::RateCurve> rate_curves(const std::vector<GroupSummary>& rows, const std::string& metric,
                                             const std::string& model) {
  std::vector<analysis::RateCurve> curves;
  auto curve_for = [&](const std::string& family) -> analysis::RateCurve& {
    const std::string label = model.empty() ? family : model + ", " + family;
    for (auto& c : curves)
      if (c.label == label) return c;
    curves.push_back({label, {}});
    return curves.back();
  };
  const GroupSummary* complete = nullptr;
  for (const auto& row : rows) {
    std::string family;
    double rate = 0.0;
    if (row.group == "complete") complete = &row;
    if (!parse_rate_protocol(row.group, family, rate)) continue;
    curve_for(family).points.push_back({rate, row.mean.at(metric), row.std.at(metric), row.runs});
  }
  // Complete modalities are rate 0 of every family that has no own rate-0 point.
  if (complete)
    for (auto& c : curves)
      if (std::none_of(c.points.begin(), c.points.end(), [](const analysis::RatePoint& p) { return p.rate == 0.0; }))
        c.points.push_back({0.0, complete->mean.at(metric), complete->std.at(metric), complete->runs});
  return curves;
}

analysis::Figure conditions_figure(const std::vector<GroupSummary>& rows, const std::string& metric,
                                   const std::string& label) {
  analysis::BarChartSpec spec;
  spec.title = fmt::format("{} per condition: {}", metric, label);
  spec.x_label = "missing-modality condition";
  spec.y_label = analysis::metric_axis_label(metric);
  analysis::BarSeries s;
  bool seeds = false;
  for (const auto& row : rows) {
    std::string family;
    double rate = 0.0;
    // Rate-0 groups ("random:0") stay as the reference; other rates are the curves' business.
    if (parse_rate_protocol(row.group, family, rate) && rate != 0.0) continue;
    const double m = row.mean.at(metric), sd = row.std.at(metric);
    if (!std::isfinite(m)) continue;
    spec.categories.push_back(row.group);
    s.values.push_back(m);
    s.errors.push_back(std::isfinite(sd) ? sd : 0.0);
    seeds = seeds || row.runs > 1;
  }
  spec.series.push_back(s);
  spec.value_decimals = 2;
  return analysis::make_figure("conditions_" + metric, spec.title,
                               seeds ? "Test metric mean over seeds; error bars ± one population std."
                                     : "Test metric of one run per condition.",
                               analysis::bar_chart(spec));
}

}  // namespace run_figures_detail

std::vector<analysis::EpochRecord> parse_train_log(const std::string& text, const std::string& metric,
                                                   const std::string& source) {
  using run_figures_detail::number_or_nan;
  std::vector<analysis::EpochRecord> out;
  std::istringstream lines(text);
  std::string line;
  for (int64_t n = 1; std::getline(lines, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      analysis::EpochRecord e;
      e.epoch = j.at("epoch").get<int64_t>();
      e.stage = j.value("stage", int64_t{0});
      e.train_loss = number_or_nan(j, "train_loss");
      e.valid_loss = number_or_nan(j, "valid_loss");
      e.valid_metric = number_or_nan(j.value("valid", nlohmann::json::object()), metric);
      e.test_metric = number_or_nan(j.value("test", nlohmann::json::object()), metric);
      e.selected = j.value("selected", false);
      out.push_back(e);
    } catch (const nlohmann::json::exception& e) {
      MERC_FORMAT_ERROR(source, "line {}: {}", n, e.what());
    }
  }
  return out;
}

bool is_sweep_dir(const std::string& dir) { return std::filesystem::exists(std::filesystem::path(dir) / "results.json"); }

std::vector<analysis::Figure> run_figures(const std::string& run_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(run_dir);
  const bool has_log = fs::exists(dir / "train_log.jsonl"), has_model = fs::exists(dir / "model.pt");
  MERC_CHECK(has_log || has_model, "{} is not a run directory (no train_log.jsonl, no model.pt)", run_dir);
  std::vector<analysis::Figure> out;
  if (!has_model) {  // curves only: the config says which metric
    const train::ExperimentConfig config = train::load_config_file((dir / "config.yaml").string());
    const std::string log = (dir / "train_log.jsonl").string();
    std::string metric = config.train.metric;
    if (metric == "auto") metric = io::read_file_bytes(log).find("\"weighted_f1\"") != std::string::npos ? "weighted_f1" : "mae";
    return analysis::training_curve_figures(parse_train_log(io::read_file_bytes(log), metric, log), metric,
                                            config.model->name);
  }
  const RunPredictions p = predict_saved_run(run_dir, RunPredictionRequest{});
  if (has_log) {
    const std::string log = (dir / "train_log.jsonl").string();
    const std::string metric = run_figures_detail::curve_metric(p.run.config, p.run.dims.task);
    const auto epochs = parse_train_log(io::read_file_bytes(log), metric, log);
    if (!epochs.empty()) out = analysis::training_curve_figures(epochs, metric, run_figures_detail::run_label(p));
  }
  for (auto& f : run_figures_detail::prediction_figures(p)) out.push_back(std::move(f));
  return out;
}

std::vector<analysis::Figure> sweep_figures(const std::string& sweep_dir) {
  using namespace run_figures_detail;
  const std::string path = (fs::path(sweep_dir) / "results.json").string();
  MERC_CHECK(fs::exists(path), "{} is not a sweep directory (no results.json)", sweep_dir);
  const std::vector<GroupSummary> rows = read_summary(path);
  const std::string model = sweep_model(sweep_dir, rows);
  const std::string label = model.empty() ? fs::path(sweep_dir).filename().string() : model;
  bool has_conditions = false;
  for (const auto& row : rows) {
    std::string family;
    double rate = 0.0;
    // "complete" alone is rate 0 of the curves; a bar chart needs other conditions (fixed:a, ...).
    has_conditions = has_conditions || (row.group != "complete" && !parse_rate_protocol(row.group, family, rate));
  }
  std::vector<analysis::Figure> out;
  for (const auto& metric : main_metrics(rows.front())) {
    bool missing = false;
    for (const auto& row : rows) missing = missing || !row.mean.count(metric);
    if (missing) continue;  // results of mixed merc versions: skip what not every group has
    const auto curves = rate_curves(rows, metric, model);
    if (!curves.empty()) out.push_back(analysis::missing_rate_figure(curves, metric, label));
    if (has_conditions) out.push_back(conditions_figure(rows, metric, label));
  }
  MERC_CHECK(!out.empty(), "{}: no figure to draw (no metric common to every group)", path);
  return out;
}

int run_figures_cmd(const FiguresArgs& args, std::ostream& out) {
  const bool sweep = is_sweep_dir(args.dir);
  const std::vector<analysis::Figure> figures = sweep ? sweep_figures(args.dir) : run_figures(args.dir);
  const std::string dest = args.out.empty() ? (std::filesystem::path(args.dir) / "figures").string() : args.out;
  for (const auto& f : figures) {
    const analysis::FigureFiles files = analysis::write_figure(f, dest);
    out << files.svg << "\n" << files.png << "\n" << files.pdf << "\n";
  }
  return 0;
}

}  // namespace merc::app
