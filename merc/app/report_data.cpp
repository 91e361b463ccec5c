#include "merc/app/report_data.h"

#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "merc/app/run_dir.h"
#include "merc/app/train_cmd.h"
#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/train/run_data.h"

namespace merc::app {

namespace report_data_detail {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

std::string need_file(const std::string& dir, const char* name, const char* what) {
  const std::string path = (fs::path(dir) / name).string();
  if (!fs::is_regular_file(path)) throw FormatError(path, fmt::format("missing ({})", what));
  return path;
}

ordered_json parse_json(const std::string& path, const std::string& text) {
  try {
    return ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("malformed JSON: ") + e.what());
  }
}

void need_object(const std::string& path, const ordered_json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_object())
    throw FormatError(path, fmt::format("expected an object \"{}\"", key));
}

std::vector<ordered_json> read_jsonl(const std::string& path) {
  std::istringstream in(io::read_file_bytes(path));
  std::vector<ordered_json> rows;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    rows.push_back(parse_json(fmt::format("{}: line {}", path, n), line));
  }
  return rows;
}

train::ExperimentConfig read_config(const std::string& path) {
  try {
    return train::load_config_file(path);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(path, e.what());
  }
}

// The run directory a results.json entry recorded (relative to where the sweep ran, or absolute),
// found under `root`: the shortest tail of the recorded path that is a run there.
std::string find_cell_dir(const std::string& root, const std::string& results, const std::string& recorded) {
  std::vector<fs::path> parts;
  for (const auto& p : fs::path(recorded)) if (!p.empty() && p != ".") parts.push_back(p);
  for (size_t k = 1; k <= std::min<size_t>(parts.size(), 3); ++k) {
    fs::path candidate(root);
    for (size_t i = parts.size() - k; i < parts.size(); ++i) candidate /= parts[i];
    if (fs::exists(candidate / "config.yaml")) return candidate.string();
  }
  throw FormatError(results, fmt::format("run directory '{}' not found under {}", recorded, root));
}

}  // namespace report_data_detail

RunFiles read_run_files(const std::string& dir) {
  namespace d = report_data_detail;
  RunFiles f;
  f.dir = dir;
  const std::string config = d::need_file(dir, "config.yaml", "a run directory has config.yaml and metrics.json");
  f.config_text = io::read_file_bytes(config);
  f.config = d::read_config(config);
  const std::string metrics = d::need_file(dir, "metrics.json", "a finished run has metrics.json");
  f.metrics = d::parse_json(metrics, io::read_file_bytes(metrics));
  d::need_object(metrics, f.metrics, "valid");
  d::need_object(metrics, f.metrics, "test");
  f.imported = std::filesystem::exists(std::filesystem::path(dir) / kImportedFile);
  if (!f.imported) f.log = d::read_jsonl(d::need_file(dir, "train_log.jsonl", "a trained run has its epoch log"));
  return f;
}

data::Dataset load_run_dataset(const std::string& dir, const train::ExperimentConfig& config) {
  return load_experiment_dataset(config.data, run_featurizer_path(dir), "");
}

DataFacts data_facts(const data::Dataset& ds, const train::ExperimentConfig& config) {
  const train::RunData rd = train::select_partitions(ds, config, /*require_valid=*/false);
  DataFacts f;
  f.info = ds.info;
  f.split = rd.scheme.name;
  f.task = rd.task;
  f.notes = rd.notes;
  auto add = [&f](const std::string& name, const std::vector<const data::Dialogue*>& part) {
    if (part.empty()) return;
    PartitionSize p{name, static_cast<int64_t>(part.size()), 0};
    for (const data::Dialogue* dlg : part) p.utterances += static_cast<int64_t>(dlg->utterances.size());
    f.partitions.push_back(p);
  };
  add("train", rd.train);
  add(rd.valid_name.empty() ? "valid" : rd.valid_name, rd.valid);
  add("test", rd.test);
  return f;
}

ResultsTable read_run_table(const std::string& dir) {
  namespace d = report_data_detail;
  namespace fs = std::filesystem;
  const std::string path = d::need_file(dir, "results.json", "a k-fold or sweep directory has results.json");
  const nlohmann::ordered_json j = d::parse_json(path, io::read_file_bytes(path));
  if (!j.is_object() || !j.contains("runs") || !j["runs"].is_array() || j["runs"].empty())
    throw FormatError(path, "expected a non-empty array \"runs\"");
  ResultsTable t;
  bool folds = true;
  for (const auto& run : j["runs"]) {
    if (!run.is_object() || !run.contains("run_dir") || !run["run_dir"].is_string() || !run.contains("test") ||
        !run["test"].is_object())
      throw FormatError(path, "every entry of \"runs\" needs \"run_dir\" and a \"test\" object");
    const std::string recorded = run["run_dir"].get<std::string>();
    folds = folds && fs::path(recorded).filename().string() == run.value("split", "");
    t.cells.push_back({d::find_cell_dir(dir, path, recorded), run});
  }
  t.kind = folds ? ReportKind::kFolds : ReportKind::kSweep;
  if (j.contains("summary") && j["summary"].is_array())
    for (const auto& s : j["summary"]) {
      if (!s.is_object() || !s.contains("mean") || !s["mean"].is_object() || !s.contains("std") || !s["std"].is_object())
        throw FormatError(path, "every entry of \"summary\" needs \"mean\" and \"std\" objects");
      t.summary.push_back(s);
    }
  return t;
}

}  // namespace merc::app
