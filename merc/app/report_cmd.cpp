#include "merc/app/report_cmd.h"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/analysis/html_report.h"
#include "merc/app/eval_outputs.h"
#include "merc/app/report_data.h"
#include "merc/app/report_warnings.h"
#include "merc/app/run_figures.h"
#include "merc/app/run_predictions.h"
#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/train/trainer.h"
#include "merc/version.h"

namespace merc::app {

namespace report_cmd_detail {

namespace fs = std::filesystem;
using analysis::HtmlReport;
using analysis::HtmlTable;
using nlohmann::ordered_json;
using Rows = std::vector<std::pair<std::string, std::string>>;

// Errors and correlations are small numbers: 4 decimals; percentages: 2.
std::string format_metric(const std::string& name, const ordered_json& v) {
  if (!v.is_number()) return "n/a";
  static const std::set<std::string> raw = {"mae", "mae_non0", "corr", "corr_non0", "loss"};
  return fmt::format(raw.count(name) ? "{:.4f}" : "{:.2f}", v.get<double>());
}

std::vector<std::string> metric_names(const ordered_json& object) {
  std::vector<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it) out.push_back(it.key());
  return out;
}

std::string sizes_text(const std::vector<PartitionSize>& parts) {
  std::vector<std::string> s;
  for (const auto& p : parts) s.push_back(fmt::format("{} {} dialogues / {} utterances", p.name, p.dialogues, p.utterances));
  return fmt::format("{}", fmt::join(s, "; "));
}

std::string modality_text(const data::DatasetInfo& info) {
  std::vector<std::string> s;
  for (size_t m = 0; m < info.modality_dims.size(); ++m) {
    if (info.modality_dims[m] == 0) continue;
    s.push_back(fmt::format("{} {}-d ({})", data::modality_name(static_cast<data::Modality>(m)), info.modality_dims[m],
                            info.modality_sources[m].empty() ? "source not recorded" : info.modality_sources[m]));
  }
  return fmt::format("{}", fmt::join(s, "; "));
}

std::string protocol_text(const std::string& protocol, const std::string& redraw, const char* what) {
  return fmt::format("{} (masks {}: {})", protocol, what, redraw);
}

// The protocol card of one run; sweeps and folds overwrite the rows that vary (set_row).
Rows card_rows(const RunFiles& f, const DataFacts& d) {
  const train::ExperimentConfig& c = f.config;
  const std::string modalities = c.model->modalities.empty() ? "all the dataset has"
                                                             : fmt::format("{}", fmt::join(c.model->modalities, ", "));
  Rows rows = {
      {"dataset", fmt::format("{} (read by {})", d.info.name, d.info.source_format)},
      {"data file", c.data.path.empty() ? "the embedded default (data/mosi.safetensors; data/README.md)" : c.data.path},
      {"provenance", d.info.notes.empty() ? "not recorded" : d.info.notes},
      {"modalities", modality_text(d.info)},
      {"task", d.task == data::Task::kClassification ? "classification" : "regression"},
      {"split", d.split + (d.notes.empty() ? "" : fmt::format(" ({})", fmt::join(d.notes, "; ")))},
      {"partitions", sizes_text(d.partitions)},
      {"model", fmt::format("{} (modalities used: {})", c.model->name, modalities)},
      {"training protocol", protocol_text(c.protocol.train, c.protocol.redraw, "redrawn")},
      {"evaluation protocol", protocol_text(c.protocol.test, c.protocol.test_redraw, "redrawn")},
      {"mask seed", c.protocol.seed < 0 ? fmt::format("train.seed ({})", c.train.seed) : std::to_string(c.protocol.seed)},
      {"seed", std::to_string(c.train.seed)},
      {"selection", fmt::format("{} on {}", train::selection_label(c), f.metrics.value("metric", "(not recorded)"))},
      {"selected epoch", fmt::format("{} of {} epochs run{}", f.metrics.value("best_epoch", int64_t{-1}),
                                     f.metrics.value("epochs_run", int64_t{-1}),
                                     f.metrics.value("early_stopped", false) ? " (early stopped)" : "")},
  };
  if (c.protocol.from_stage > 0)
    rows.push_back({"protocol stage gate", fmt::format("masks apply from model stage {}", c.protocol.from_stage)});
  if (f.imported) rows.push_back({"weights", "imported (imported.json)"});
  return rows;
}

void set_row(Rows& rows, const std::string& key, const std::string& value) {
  for (auto& r : rows)
    if (r.first == key) r.second = value;
}

// Appends `value` unless present: the first-seen order of a sweep's protocols and seeds.
void add_unique(std::vector<std::string>& list, const std::string& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

void add_warnings(HtmlReport& r, const std::vector<analysis::HtmlWarning>& warnings) {
  std::set<std::string> seen;
  for (const auto& w : warnings)
    if (seen.insert(w.title + w.text).second) r.warning(w);
}

HtmlTable run_metric_table(const ordered_json& metrics) {
  HtmlTable t;
  t.caption = "Metrics of the selected epoch (percent, except mae, corr and loss)";
  t.header = {"partition"};
  const std::vector<std::string> names = metric_names(metrics.at("test"));
  t.header.insert(t.header.end(), names.begin(), names.end());
  for (const char* part : {"valid", "test"}) {
    std::vector<std::string> row = {part};
    for (const auto& n : names) row.push_back(format_metric(n, metrics.at(part).value(n, ordered_json())));
    t.rows.push_back(row);
  }
  return t;
}

HtmlTable train_log_table(const std::vector<ordered_json>& log, const std::string& metric) {
  HtmlTable t;
  t.header = {"epoch", "stage", "lr", "train loss", "valid loss", "valid " + metric, "improved", "seconds"};
  auto num = [](const ordered_json& j, const char* key, const char* spec) {
    return j.contains(key) && j[key].is_number() ? fmt::format(fmt::runtime(spec), j[key].get<double>()) : "n/a";
  };
  for (const auto& e : log) {
    const ordered_json valid = e.value("valid", ordered_json::object());
    t.rows.push_back({num(e, "epoch", "{:.0f}"), num(e, "stage", "{:.0f}"), num(e, "lr", "{:.3g}"),
                      num(e, "train_loss", "{:.4f}"), num(e, "valid_loss", "{:.4f}"),
                      format_metric(metric, valid.value(metric, ordered_json())),
                      e.value("selected", false) ? "yes" : "", num(e, "seconds", "{:.1f}")});
  }
  return t;
}

void add_figures(HtmlReport& r, const std::string& dir, ReportKind kind) {
  r.section("Figures");
  const std::vector<ReportFigure> figures = report_figures(dir, kind);
  if (figures.empty()) r.note("No figures for this directory.");
  // The title is drawn inside the SVG; the caption says what is shown.
  for (const auto& fig : figures) r.figure(fig.caption.empty() ? fig.title : fig.caption, fig.svg);
}

void add_config(HtmlReport& r, const RunFiles& f) {
  r.section("Resolved config");
  r.details(fmt::format("config.yaml of {}", f.dir), f.config_text);
}

// The test predictions of every run in `dirs` pooled into one report: a run's own, or a k-fold
// run's over all folds (each utterance is in exactly one fold's test partition).
void classification_section(HtmlReport& r, const std::vector<std::string>& dirs) {
  std::vector<train::UtterancePrediction> pooled;
  RunPredictions p;
  for (const auto& dir : dirs) {
    p = predict_saved_run(dir, RunPredictionRequest{});
    pooled.insert(pooled.end(), p.result.predictions.begin(), p.result.predictions.end());
  }
  const auto report = prediction_report(pooled, static_cast<int64_t>(p.run.class_names.size()));
  r.subheading(dirs.size() == 1
                   ? fmt::format("Classification report ({} partition, protocol {})", p.partition, p.protocol)
                   : fmt::format("Classification report (test partitions of all {} folds pooled, protocol {})",
                                 dirs.size(), p.protocol));
  r.preformatted(report_text(report, p.run.class_names));
}

void run_report(HtmlReport& r, const std::string& dir) {
  const RunFiles f = read_run_files(dir);
  const data::Dataset ds = load_run_dataset(dir, f.config);
  const DataFacts d = data_facts(ds, f.config);
  r.section("Protocol card");
  add_warnings(r, config_warnings(f.config, d.info, d.split, f.imported));
  r.key_values(card_rows(f, d));
  r.section("Metrics");
  r.table(run_metric_table(f.metrics));
  if (d.task == data::Task::kClassification) classification_section(r, {dir});
  if (!f.log.empty())
    r.details_table(fmt::format("Training log ({} epochs, train_log.jsonl)", f.log.size()),
                    train_log_table(f.log, f.metrics.value("metric", "loss")));
  add_figures(r, dir, ReportKind::kRun);
  add_config(r, f);
}

HtmlTable summary_table(const ResultsTable& t, const char* group_name) {
  HtmlTable out;
  out.caption = fmt::format("Test metrics, mean ± population std over {}", group_name);
  const std::vector<std::string> names = metric_names(t.summary.front().at("mean"));
  out.header = {t.kind == ReportKind::kFolds ? "folds" : "protocol", "runs"};
  out.header.insert(out.header.end(), names.begin(), names.end());
  for (const auto& s : t.summary) {
    std::vector<std::string> row = {s.value("group", ""), std::to_string(s.value("runs", int64_t{0}))};
    for (const auto& n : names)
      row.push_back(format_metric(n, s.at("mean").value(n, ordered_json())) + " ± " +
                    format_metric(n, s.at("std").value(n, ordered_json())));
    out.rows.push_back(row);
  }
  return out;
}

HtmlTable runs_table(const ResultsTable& t) {
  HtmlTable out;
  out.caption = "Every run: test metrics of its selected epoch";
  const std::vector<std::string> names = metric_names(t.cells.front().json.at("test"));
  out.header = {"protocol", "seed", "split", "best epoch"};
  out.header.insert(out.header.end(), names.begin(), names.end());
  for (const auto& c : t.cells) {
    std::vector<std::string> row = {c.json.value("protocol", ""), std::to_string(c.json.value("seed", int64_t{0})),
                                    c.json.value("split", ""), std::to_string(c.json.value("best_epoch", int64_t{-1}))};
    for (const auto& n : names) row.push_back(format_metric(n, c.json.at("test").value(n, ordered_json())));
    out.rows.push_back(row);
  }
  return out;
}

HtmlTable fold_sizes_table(const data::Dataset& ds, const ResultsTable& t) {
  HtmlTable out;
  out.caption = "Partitions of each fold";
  out.header = {"fold", "partitions"};
  for (const auto& c : t.cells) {
    const DataFacts d = data_facts(ds, read_run_files(c.dir).config);
    out.rows.push_back({d.split, sizes_text(d.partitions)});
  }
  return out;
}

void table_report(HtmlReport& r, const std::string& dir, const ResultsTable& t) {
  const bool folds = t.kind == ReportKind::kFolds;
  const RunFiles first = read_run_files(t.cells.front().dir);
  const data::Dataset ds = load_run_dataset(t.cells.front().dir, first.config);
  const DataFacts d = data_facts(ds, first.config);
  std::vector<analysis::HtmlWarning> warnings;
  std::vector<std::string> protocols, seeds, splits;
  for (const auto& c : t.cells) {
    const RunFiles f = read_run_files(c.dir);
    const std::vector<analysis::HtmlWarning> w = config_warnings(f.config, d.info, data_facts(ds, f.config).split, f.imported);
    warnings.insert(warnings.end(), w.begin(), w.end());
    add_unique(protocols, f.config.protocol.test);
    add_unique(seeds, std::to_string(f.config.train.seed));
    add_unique(splits, c.json.value("split", ""));
  }
  r.section("Protocol card");
  add_warnings(r, warnings);
  Rows rows = card_rows(first, d);
  if (folds) {
    set_row(rows, "split", fmt::format("{} folds: {}", t.cells.size(), fmt::join(splits, ", ")));
    set_row(rows, "partitions", "per fold, see below");
  } else {
    set_row(rows, "training protocol", fmt::format("per cell, train = test protocol: {}", fmt::join(protocols, ", ")));
    set_row(rows, "evaluation protocol", fmt::format("per cell: {} (masks redrawn: {})", fmt::join(protocols, ", "),
                                                     first.config.protocol.test_redraw));
    set_row(rows, "seed", fmt::format("{}", fmt::join(seeds, ", ")));
    set_row(rows, "mask seed", "train.seed of each run");
  }
  set_row(rows, "selected epoch", "per run, see below");
  rows.push_back({"runs", fmt::format("{} ({})", t.cells.size(), dir)});
  r.key_values(rows);
  if (folds) r.table(fold_sizes_table(ds, t));
  r.section("Metrics");
  if (!t.summary.empty()) r.table(summary_table(t, folds ? "folds" : "seeds"));
  r.table(runs_table(t));
  if (folds && d.task == data::Task::kClassification) {
    std::vector<std::string> dirs;
    for (const auto& c : t.cells) dirs.push_back(c.dir);
    classification_section(r, dirs);
  }
  add_figures(r, dir, t.kind);
  add_config(r, first);
}

}  // namespace report_cmd_detail

ReportKind detect_report_kind(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path p(dir);
  MERC_CHECK(fs::is_directory(p), "{}: no such directory", dir);
  if (fs::exists(p / "results.json")) return read_run_table(dir).kind;
  if (fs::exists(p / "config.yaml") || fs::exists(p / "metrics.json") || fs::exists(p / "model.pt"))
    return ReportKind::kRun;
  throw Error(fmt::format("{}: not a run directory (config.yaml, metrics.json) nor a k-fold or sweep directory "
                          "(results.json)",
                          dir));
}

std::vector<ReportFigure> report_figures(const std::string& dir, ReportKind kind) {
  // The one place the report calls the figure library (merc/app/run_figures.h).
  std::vector<ReportFigure> out;
  auto add = [&out](const std::vector<analysis::Figure>& figures, const std::string& prefix) {
    for (const auto& f : figures)
      out.push_back({f.name, prefix.empty() ? f.title : prefix + ": " + f.title,
                     prefix.empty() || f.caption.empty() ? f.caption : prefix + ": " + f.caption, f.svg});
  };
  if (kind == ReportKind::kRun) add(run_figures(dir), "");
  else if (kind == ReportKind::kSweep) add(sweep_figures(dir), "");
  else
    for (const auto& cell : read_run_table(dir).cells) add(run_figures(cell.dir), cell.json.value("split", ""));
  return out;
}

std::string report_html(const std::string& dir) {
  namespace d = report_cmd_detail;
  const ReportKind kind = detect_report_kind(dir);
  const char* what = kind == ReportKind::kRun ? "run" : kind == ReportKind::kFolds ? "k-fold run" : "sweep";
  analysis::HtmlReport r(fmt::format("merc report: {} {}", what, std::filesystem::path(dir).lexically_normal().string()));
  r.paragraph(fmt::format("Written by merc {} from the files in {}; no network access is needed to view it.",
                          MERC_VERSION, dir));
  if (kind == ReportKind::kRun) d::run_report(r, dir);
  else d::table_report(r, dir, read_run_table(dir));
  return r.str();
}

int run_report(const ReportArgs& args, std::ostream& out) {
  const std::string html = report_html(args.dir);
  const std::string path = args.out.empty() ? (std::filesystem::path(args.dir) / "report.html").string() : args.out;
  io::write_file_atomically(path, html);
  out << "wrote " << path << "\n";
  return 0;
}

}  // namespace merc::app
