#include "merc/train/runners.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/train/evaluate.h"
#include "merc/train/trainer.h"

namespace merc::train {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

std::vector<RunCell> plan_sweep(const SweepSpec& spec, const std::string& out_dir) {
  MERC_CHECK(!spec.seeds.empty(), "sweep: no seeds given");
  MERC_CHECK(!spec.rates.empty() || !spec.conditions.empty(), "sweep: give missing rates and/or conditions");
  std::vector<std::string> protocols;
  for (double r : spec.rates) {
    MERC_CHECK(r >= 0 && r < 1, "sweep: missing rate {} is outside [0, 1)", r);
    protocols.push_back(fmt::format("random:{}", r));
  }
  for (const auto& c : spec.conditions) protocols.push_back(c);
  std::vector<RunCell> cells;
  for (const auto& p : protocols) {
    for (int64_t seed : spec.seeds) {
      RunCell c;
      c.group = p;
      c.protocol = p;
      c.seed = seed;
      std::string safe = p;
      for (char& ch : safe)
        if (ch == ':' || ch == '/' || ch == ' ') ch = '-';
      c.run_dir = (fs::path(out_dir) / safe / fmt::format("seed-{}", seed)).string();
      cells.push_back(c);
    }
  }
  return cells;
}

void read_run_metrics(const std::string& run_dir, RunCell& cell) {
  const std::string path = (fs::path(run_dir) / "metrics.json").string();
  try {
    const auto j = ordered_json::parse(io::read_file_bytes(path));
    cell.best_epoch = j.at("best_epoch").get<int64_t>();
    cell.valid = metrics_from_json(j.at("valid"));
    cell.test = metrics_from_json(j.at("test"));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("malformed metrics.json: ") + e.what());
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(path, std::string("malformed metrics.json: ") + e.what());
  }
}

namespace {

void run_cell(const ExperimentConfig& config, const data::Dataset& dataset, RunCell& cell, std::ostream* log,
              RunTable& table, size_t index, size_t total) {
  const fs::path dir(cell.run_dir);
  if (fs::exists(dir / "config.yaml")) {
    // Reusing or resuming a cell is only right when it was started with the same config.
    ExperimentConfig saved = load_config_file((dir / "config.yaml").string());
    ExperimentConfig wanted = config;
    saved.train.progress = wanted.train.progress = "none";
    MERC_CHECK(to_yaml_text(saved) == to_yaml_text(wanted),
               "{} was started with a different config than this sweep asks for; use another --out or delete it",
               cell.run_dir);
  }
  if (fs::exists(dir / "metrics.json")) {
    read_run_metrics(cell.run_dir, cell);
    cell.reused = true;
    if (log) *log << fmt::format("[{}/{}] {} seed {}: done earlier ({})\n", index + 1, total, cell.group, cell.seed, cell.run_dir);
  } else {
    TrainOptions opts;
    opts.out_dir = cell.run_dir;
    opts.resume = fs::exists(dir / "checkpoint.pt");
    opts.log = nullptr;
    if (log) *log << fmt::format("[{}/{}] {} seed {}: {} {}\n", index + 1, total, cell.group, cell.seed,
                                 opts.resume ? "resuming" : "training", cell.run_dir);
    ExperimentConfig c = config;
    if (c.train.progress == "auto") c.train.progress = "none";
    const TrainResult r = train_model(c, dataset, opts);
    cell.best_epoch = r.best_epoch;
    read_run_metrics(cell.run_dir, cell);  // the same numbers a later resume reads back
  }
  table.selection = selection_label(config);
}

}  // namespace

RunTable run_sweep(const ExperimentConfig& base, const data::Dataset& dataset, const SweepSpec& spec,
                   const std::string& out_dir, std::ostream* log) {
  RunTable table;
  table.cells = plan_sweep(spec, out_dir);
  fs::create_directories(out_dir);
  for (size_t i = 0; i < table.cells.size(); ++i) {
    RunCell& cell = table.cells[i];
    ExperimentConfig c = base;
    c.protocol.train = cell.protocol;
    c.protocol.test = cell.protocol;
    c.train.seed = cell.seed;
    cell.split = c.data.split;
    run_cell(c, dataset, cell, log, table, i, table.cells.size());
  }
  summarize(table);
  write_run_table(table, out_dir);
  return table;
}

RunTable run_folds(const ExperimentConfig& base, const data::Dataset& dataset, const std::string& prefix,
                   const std::string& out_dir, std::ostream* log) {
  RunTable table;
  for (const auto& s : dataset.split_schemes) {
    if (s.name.rfind(prefix + "-", 0) != 0) continue;
    RunCell c;
    c.group = prefix;
    c.protocol = base.protocol.test;
    c.seed = base.train.seed;
    c.split = s.name;
    c.run_dir = (fs::path(out_dir) / s.name).string();
    table.cells.push_back(c);
  }
  std::vector<std::string> names;
  for (const auto& s : dataset.split_schemes) names.push_back(s.name);
  MERC_CHECK(!table.cells.empty(), "no split scheme named '{}-N' in dataset '{}' (schemes: {}); for IEMOCAP use "
             "data.loso=true", prefix, dataset.info.name, fmt::join(names, ", "));
  fs::create_directories(out_dir);
  for (size_t i = 0; i < table.cells.size(); ++i) {
    ExperimentConfig c = base;
    c.data.split = table.cells[i].split;
    run_cell(c, dataset, table.cells[i], log, table, i, table.cells.size());
  }
  summarize(table);
  write_run_table(table, out_dir);
  return table;
}

void summarize(RunTable& table) {
  table.summary.clear();
  std::vector<std::string> groups;
  for (const auto& c : table.cells)
    if (std::find(groups.begin(), groups.end(), c.group) == groups.end()) groups.push_back(c.group);
  for (const auto& g : groups) {
    SummaryRow row;
    row.group = g;
    std::vector<const RunCell*> cells;
    for (const auto& c : table.cells)
      if (c.group == g) cells.push_back(&c);
    row.runs = static_cast<int64_t>(cells.size());
    for (const auto& [name, _] : cells.front()->test) row.metrics.push_back(name);
    for (const auto& name : row.metrics) {
      double sum = 0;
      // A metric missing from some run (e.g. results written by an older merc) averages to NaN.
      auto value = [&](const RunCell* c) { return c->test.contains(name) ? c->test.get(name) : NAN; };
      for (const auto* c : cells) sum += value(c);
      const double mean = sum / static_cast<double>(cells.size());
      double var = 0;
      for (const auto* c : cells) var += (value(c) - mean) * (value(c) - mean);
      row.mean.push_back(mean);
      row.std.push_back(std::sqrt(var / static_cast<double>(cells.size())));
    }
    table.summary.push_back(std::move(row));
  }
}

std::string markdown_summary(const RunTable& table, const std::vector<std::string>& wanted) {
  if (table.summary.empty()) return "";
  std::vector<std::string> metrics = wanted.empty() ? table.summary.front().metrics : wanted;
  std::ostringstream md;
  md << "| protocol | runs |";
  for (const auto& m : metrics) md << " " << m << " |";
  md << "\n|---|---|";
  for (size_t i = 0; i < metrics.size(); ++i) md << "---|";
  md << "\n";
  for (const auto& row : table.summary) {
    md << "| " << row.group << " | " << row.runs << " |";
    for (const auto& m : metrics) {
      const auto it = std::find(row.metrics.begin(), row.metrics.end(), m);
      if (it == row.metrics.end()) {
        md << " - |";
        continue;
      }
      const size_t k = static_cast<size_t>(it - row.metrics.begin());
      md << (row.runs > 1 ? fmt::format(" {:.2f} ± {:.2f} |", row.mean[k], row.std[k]) : fmt::format(" {:.2f} |", row.mean[k]));
    }
    md << "\n";
  }
  md << "\nTest-set metrics; model selection: " << table.selection << ". Mean ± population std over runs.\n";
  return md.str();
}

std::string write_run_table(const RunTable& table, const std::string& out_dir) {
  // CSV: one row per run, every test metric.
  std::vector<std::string> names;
  for (const auto& c : table.cells)
    for (const auto& [n, _] : c.test)
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  std::ostringstream csv;
  csv << "group,protocol,seed,split,best_epoch,run_dir,selection";
  for (const auto& n : names) csv << ",test_" << n;
  csv << "\n";
  ordered_json runs = ordered_json::array();
  for (const auto& c : table.cells) {
    csv << c.group << "," << c.protocol << "," << c.seed << "," << c.split << "," << c.best_epoch << "," << c.run_dir
        << "," << (table.selection.rfind("test-max", 0) == 0 ? "test-max" : "validation")
        << (table.selection.find("gold history") != std::string::npos ? "+gold-history" : "");
    ordered_json t = ordered_json::object();
    for (const auto& n : names) {
      const double x = c.test.contains(n) ? c.test.get(n) : NAN;
      csv << "," << (std::isfinite(x) ? fmt::format("{}", x) : "");
      t[n] = std::isfinite(x) ? ordered_json(x) : ordered_json(nullptr);
    }
    csv << "\n";
    runs.push_back({{"group", c.group}, {"protocol", c.protocol}, {"seed", c.seed}, {"split", c.split},
                    {"best_epoch", c.best_epoch}, {"run_dir", c.run_dir}, {"valid", metrics_to_json(c.valid)}, {"test", t}});
  }
  ordered_json summary = ordered_json::array();
  for (const auto& row : table.summary) {
    ordered_json mean = ordered_json::object(), sd = ordered_json::object();
    for (size_t k = 0; k < row.metrics.size(); ++k) {
      mean[row.metrics[k]] = std::isfinite(row.mean[k]) ? ordered_json(row.mean[k]) : ordered_json(nullptr);
      sd[row.metrics[k]] = std::isfinite(row.std[k]) ? ordered_json(row.std[k]) : ordered_json(nullptr);
    }
    summary.push_back({{"group", row.group}, {"runs", row.runs}, {"mean", mean}, {"std", sd}});
  }
  ordered_json j = {{"selection", table.selection}, {"runs", runs}, {"summary", summary}};
  const std::string md = markdown_summary(table);
  io::write_file_atomically((fs::path(out_dir) / "results.csv").string(), csv.str());
  io::write_file_atomically((fs::path(out_dir) / "results.json").string(), j.dump(2) + "\n");
  io::write_file_atomically((fs::path(out_dir) / "results.md").string(), md);
  return md;
}

}  // namespace merc::train
