#include "merc/app/compare_cmd.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "merc/analysis/compare.h"
#include "merc/app/report_data.h"
#include "merc/app/report_warnings.h"
#include "merc/app/run_predictions.h"
#include "merc/core/config.h"
#include "merc/core/error.h"
#include "merc/io/binary_file.h"

namespace merc::app {

namespace compare_cmd_detail {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

enum class DirKind { kRun, kRunSet };

DirKind dir_kind(const std::string& dir) {
  MERC_CHECK(fs::is_directory(dir), "compare: {} is not a directory", dir);
  if (fs::exists(fs::path(dir) / "model.pt")) return DirKind::kRun;
  if (fs::exists(fs::path(dir) / "results.json")) return DirKind::kRunSet;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::exists(e.path() / "metrics.json")) return DirKind::kRunSet;
  throw Error(fmt::format("compare: {} is neither a run (model.pt), a sweep (results.json) nor a directory of "
                          "finished runs (sub-directories with metrics.json)", dir));
}

ordered_json parse_json_file(const std::string& path) {
  try {
    return ordered_json::parse(io::read_file_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("malformed JSON: ") + e.what());
  }
}

// "test-max (published protocol: ...)" -> "test-max".
std::string selection_word(const std::string& label) {
  return label.rfind("test-max", 0) == 0 ? "test-max" : label;
}

// ---- runs ------------------------------------------------------------------------------------

// The report's warnings (app/report_warnings.h) as the lines compare prints: one list of what
// makes a run's numbers optimistic or incomparable, for both outputs.
std::vector<std::string> warning_lines(const std::string& name, const std::vector<analysis::HtmlWarning>& warnings) {
  std::vector<std::string> lines;
  for (const auto& w : warnings) lines.push_back(fmt::format("WARNING: {}: {}: {}", name, w.title, w.text));
  return lines;
}

// masks: the first run's mask plan for every later run (nullopt for the first run itself).
analysis::ComparedRun load_compared_run(const std::string& dir, const CompareArgs& args,
                                        const std::optional<MaskPlan>& masks, MaskPlan* used) {
  RunPredictionRequest req;
  req.threads = args.threads;
  req.device = args.device;
  req.masks = masks;
  RunPredictions p = predict_saved_run(dir, req);
  *used = p.masks;
  analysis::ComparedRun r;
  r.name = dir;
  r.model = p.run.config.model->name;
  r.dataset = p.dataset;
  r.dataset_path = p.dataset_path;
  r.split = p.split;
  r.partition = p.partition;
  r.protocol = p.protocol;
  r.task = p.run.dims.task;
  r.num_classes = p.run.dims.num_classes;
  r.selection = p.selection;
  r.selection_note = p.selection_note;
  r.warnings = warning_lines(dir, config_warnings(p.run.config, p.dataset_info, p.split, p.run.imported));
  r.predictions = std::move(p.result.predictions);
  return r;
}

// ---- sets of runs ----------------------------------------------------------------------------

// A finished run's own record: metrics.json (model, dataset, task, selection, test metrics) and
// config.yaml (data path, seed, gold-history options).
analysis::SeedRun read_seed_run(const std::string& run_dir) {
  const std::string path = (fs::path(run_dir) / "metrics.json").string();
  const ordered_json m = parse_json_file(path);
  analysis::SeedRun r;
  r.run_dir = run_dir;
  try {
    r.model = m.at("model").get<std::string>();
    r.dataset = m.at("dataset").get<std::string>();
    r.task = m.at("task").get<std::string>();
    r.split = m.at("split").get<std::string>();
    r.selection = selection_word(m.at("selection").get<std::string>());
    r.protocol = r.group = m.at("protocol").at("test").get<std::string>();
    r.test = train::metrics_from_json(m.at("test"));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("malformed metrics.json: ") + e.what());
  }
  const std::string config_path = (fs::path(run_dir) / "config.yaml").string();
  const train::ExperimentConfig config = train::load_config_file(config_path);
  r.dataset_path = config.data.path;
  r.seed = config.train.seed;
  return r;
}

// A cell's run directory: results.json keeps it as the sweep saw it (often relative to another
// working directory), so look under the sweep directory first.
std::string locate_cell(const std::string& sweep_dir, const std::string& recorded) {
  const fs::path rec(recorded);
  const std::vector<fs::path> candidates = {fs::path(sweep_dir) / rec.parent_path().filename() / rec.filename(),
                                            fs::path(sweep_dir) / rec.filename(), rec};
  for (const auto& c : candidates)
    if (fs::exists(c / "metrics.json")) return c.string();
  throw Error(fmt::format("compare: {}/results.json lists run {} but no such finished run (metrics.json) is under {}",
                          sweep_dir, recorded, sweep_dir));
}

analysis::SeedSet read_seed_runs(const std::string& dir) {
  analysis::SeedSet set;
  set.name = dir;
  const fs::path results = fs::path(dir) / "results.json";
  if (fs::exists(results)) {
    const ordered_json j = parse_json_file(results.string());
    try {
      for (const auto& cell : j.at("runs")) {
        analysis::SeedRun r = read_seed_run(locate_cell(dir, cell.at("run_dir").get<std::string>()));
        r.group = cell.at("group").get<std::string>();
        r.protocol = cell.at("protocol").get<std::string>();
        r.split = cell.at("split").get<std::string>();
        r.seed = cell.at("seed").get<int64_t>();
        r.test = train::metrics_from_json(cell.at("test"));
        set.runs.push_back(std::move(r));
      }
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(results.string(), std::string("malformed results.json: ") + e.what());
    }
    return set;
  }
  std::vector<std::string> subdirs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::exists(e.path() / "metrics.json")) subdirs.push_back(e.path().string());
  std::sort(subdirs.begin(), subdirs.end());
  for (const auto& s : subdirs) set.runs.push_back(read_seed_run(s));
  return set;
}

// A set's runs with the warnings of its first run (check_seed_set refuses sets whose runs differ in
// data, split or selection), made from its config and data as the HTML report makes them.
analysis::SeedSet read_seed_set(const std::string& dir) {
  analysis::SeedSet set = read_seed_runs(dir);
  if (set.runs.empty()) return set;
  const std::string& first = set.runs.front().run_dir;
  const train::ExperimentConfig config = train::load_config_file((fs::path(first) / "config.yaml").string());
  const data::Dataset ds = load_run_dataset(first, config);
  const bool imported = fs::exists(fs::path(first) / kImportedFile);
  const std::vector<std::string> lines =
      warning_lines(set.name, config_warnings(config, ds.info, set.runs.front().split, imported));
  for (auto& r : set.runs) r.warnings = lines;
  return set;
}

// ---- output ----------------------------------------------------------------------------------

ordered_json number(double x) { return std::isfinite(x) ? ordered_json(x) : ordered_json(nullptr); }

// A p-value table cell: "0.004", "< 0.001", "n/a".
std::string p_cell(double p) {
  const std::string s = analysis::format_p(p);
  return s.rfind("p = ", 0) == 0 ? s.substr(4) : s.substr(2);
}

std::vector<std::string> paired_warnings(const analysis::ComparedRun& r) {
  return r.warnings;
}

void print_warnings(std::ostream& out, const std::vector<std::string>& w) {
  for (const auto& line : w) out << "!!! " << line << "\n";
}

void print_paired(std::ostream& out, const analysis::PairedComparison& c, const analysis::ComparedRun& a,
                  const analysis::ComparedRun& b) {
  out << fmt::format("A = {} ({})\nB = {} ({})\n", a.name, a.model, b.name, b.model);
  std::vector<std::string> w = paired_warnings(a);
  for (const auto& x : paired_warnings(b)) w.push_back(x);
  print_warnings(out, w);
  out << fmt::format("test set: {} ({}), split {}, partition {}, protocol {}: {} utterances in {} dialogues\n",
                     a.dataset, a.dataset_path.empty() ? "embedded" : a.dataset_path, a.split, a.partition, a.protocol,
                     c.utterances, c.dialogues);
  out << fmt::format("paired bootstrap: {} resamples of {}s (seed {}), {:g}% percentile CI of B - A\n\n",
                     c.bootstrap.resamples, analysis::unit_name(c.unit), c.bootstrap.seed, 100 * c.bootstrap.level);
  out << fmt::format("{:<12} {:>9} {:>9} {:>9} {:>21} {:>9}\n", "metric", "A", "B", "B - A",
                     fmt::format("{:g}% CI", 100 * c.bootstrap.level), "p");
  for (const auto& m : c.metrics) {
    const auto& d = m.difference;
    out << fmt::format("{:<12} {:>9} {:>9} {:>9} {:>21} {:>9}\n", m.metric, analysis::format_metric(m.metric, m.value_a),
                       analysis::format_metric(m.metric, m.value_b), analysis::format_metric(m.metric, d.estimate, true),
                       fmt::format("[{}, {}]", analysis::format_metric(m.metric, d.low),
                                   analysis::format_metric(m.metric, d.high)),
                       p_cell(d.p));
  }
  out << "\nverdicts (significant only when the CI excludes 0):\n";
  for (const auto& m : c.metrics) out << "  " << m.metric << ": " << m.verdict << "\n";
  out << "  McNemar (exact) on " << c.mcnemar_on << ": " << c.mcnemar_verdict << "\n";
}

ordered_json paired_json(const analysis::PairedComparison& c, const analysis::ComparedRun& a,
                         const analysis::ComparedRun& b) {
  std::vector<std::string> w = paired_warnings(a);
  for (const auto& x : paired_warnings(b)) w.push_back(x);
  ordered_json metrics = ordered_json::array();
  for (const auto& m : c.metrics)
    metrics.push_back({{"metric", m.metric}, {"higher_is_better", m.higher_is_better}, {"a", number(m.value_a)},
                       {"b", number(m.value_b)}, {"difference", number(m.difference.estimate)},
                       {"ci_low", number(m.difference.low)}, {"ci_high", number(m.difference.high)},
                       {"p", number(m.difference.p)}, {"finite_resamples", m.difference.finite_resamples},
                       {"verdict", m.verdict}});
  return {{"a", c.a}, {"b", c.b}, {"model_a", a.model}, {"model_b", b.model}, {"selection_a", a.selection},
          {"selection_b", b.selection}, {"warnings", w}, {"dataset", a.dataset}, {"dataset_path", a.dataset_path},
          {"split", a.split}, {"partition", a.partition}, {"protocol", a.protocol}, {"utterances", c.utterances},
          {"dialogues", c.dialogues}, {"unit", analysis::unit_name(c.unit)}, {"resamples", c.bootstrap.resamples},
          {"level", c.bootstrap.level}, {"seed", c.bootstrap.seed}, {"metrics", metrics},
          {"mcnemar", {{"on", c.mcnemar_on}, {"a_right_b_wrong", c.mcnemar.a_only},
                       {"a_wrong_b_right", c.mcnemar.b_only}, {"both_right", c.mcnemar.both},
                       {"both_wrong", c.mcnemar.neither}, {"p", number(c.mcnemar.p)},
                       {"verdict", c.mcnemar_verdict}}}};
}

std::vector<std::string> set_warnings(const analysis::SeedSet& s) {
  return s.runs.front().warnings;
}

void print_seeds(std::ostream& out, const analysis::SeedComparison& c, const analysis::SeedSet& a,
                 const analysis::SeedSet& b) {
  out << fmt::format("A = {} ({}, {} runs)\nB = {} ({}, {} runs)\n", c.a, c.model_a, a.runs.size(), c.b, c.model_b,
                     b.runs.size());
  std::vector<std::string> w = set_warnings(a);
  for (const auto& x : set_warnings(b)) w.push_back(x);
  print_warnings(out, w);
  out << fmt::format("dataset {}, task {}; mean ± sample std over runs, Welch's t-test of mean(B) - mean(A)\n\n",
                     c.dataset, c.task);
  out << fmt::format("{:<14} {:<12} {:>17} {:>17} {:>9} {:>7} {:>6} {:>9}\n", "group", "metric", "A", "B", "B - A",
                     "t", "df", "p");
  for (const auto& r : c.rows) {
    const auto& wt = r.welch;
    auto ms = [&](double m, double s) {
      return fmt::format("{} ± {}", analysis::format_metric(r.metric, m), analysis::format_metric(r.metric, s));
    };
    out << fmt::format("{:<14} {:<12} {:>17} {:>17} {:>9} {:>7.2f} {:>6.1f} {:>9}\n", r.group, r.metric,
                       ms(wt.mean_a, wt.std_a), ms(wt.mean_b, wt.std_b),
                       analysis::format_metric(r.metric, wt.difference, true), wt.t, wt.df, p_cell(wt.p));
  }
  out << "\nverdicts:\n";
  for (const auto& r : c.rows) out << "  " << r.group << " " << r.metric << ": " << r.verdict << "\n";
  if (!c.only_in_a.empty()) out << fmt::format("not compared (only in A): {}\n", fmt::join(c.only_in_a, ", "));
  if (!c.only_in_b.empty()) out << fmt::format("not compared (only in B): {}\n", fmt::join(c.only_in_b, ", "));
}

ordered_json seeds_json(const analysis::SeedComparison& c, const analysis::SeedSet& a, const analysis::SeedSet& b) {
  std::vector<std::string> w = set_warnings(a);
  for (const auto& x : set_warnings(b)) w.push_back(x);
  ordered_json rows = ordered_json::array();
  for (const auto& r : c.rows) {
    const auto& t = r.welch;
    rows.push_back({{"group", r.group}, {"protocol", r.protocol}, {"metric", r.metric},
                    {"higher_is_better", r.higher_is_better}, {"n_a", t.n_a}, {"n_b", t.n_b},
                    {"mean_a", number(t.mean_a)}, {"std_a", number(t.std_a)}, {"mean_b", number(t.mean_b)},
                    {"std_b", number(t.std_b)}, {"difference", number(t.difference)}, {"t", number(t.t)},
                    {"df", number(t.df)}, {"p", number(t.p)}, {"verdict", r.verdict}});
  }
  return {{"a", c.a}, {"b", c.b}, {"model_a", c.model_a}, {"model_b", c.model_b}, {"warnings", w},
          {"dataset", c.dataset}, {"task", c.task}, {"rows", rows}, {"only_in_a", c.only_in_a},
          {"only_in_b", c.only_in_b}};
}

int compare_runs(const CompareArgs& args, std::ostream& out) {
  analysis::PairedOptions o;
  o.metrics = args.metrics;
  o.bootstrap = {args.resamples, args.level, args.seed};
  o.unit = analysis::parse_unit(args.unit);
  // Every run sees A's mask draws: under a random protocol, runs with other seeds or selected
  // epochs would otherwise be scored on other masks of the same utterances.
  std::vector<analysis::ComparedRun> runs;
  MaskPlan plan;
  for (const auto& d : args.dirs)
    runs.push_back(load_compared_run(d, args, runs.empty() ? std::nullopt : std::optional<MaskPlan>(plan), &plan));
  if (!args.json) out << "missing-modality masks: every run evaluated under " << args.dirs.front() << "'s ("
                      << plan.describe() << ")\n";
  ordered_json all = ordered_json::array();
  for (size_t i = 1; i < runs.size(); ++i) {
    const analysis::PairedComparison c = analysis::compare_paired(runs[0], runs[i], o);
    if (args.json) {
      all.push_back(paired_json(c, runs[0], runs[i]));
      continue;
    }
    if (i > 1) out << "\n";
    print_paired(out, c, runs[0], runs[i]);
  }
  if (args.json)
    out << ordered_json{{"kind", "paired"}, {"masks", plan.describe()}, {"comparisons", all}}.dump(2) << "\n";
  return 0;
}

int compare_sets(const CompareArgs& args, std::ostream& out) {
  std::vector<analysis::SeedSet> sets;
  for (const auto& d : args.dirs) sets.push_back(read_seed_set(d));
  ordered_json all = ordered_json::array();
  for (size_t i = 1; i < sets.size(); ++i) {
    const analysis::SeedComparison c = analysis::compare_seed_sets(sets[0], sets[i], args.metrics, 1.0 - args.level);
    if (args.json) {
      all.push_back(seeds_json(c, sets[0], sets[i]));
      continue;
    }
    if (i > 1) out << "\n";
    print_seeds(out, c, sets[0], sets[i]);
  }
  if (args.json) out << ordered_json{{"kind", "seeds"}, {"comparisons", all}}.dump(2) << "\n";
  return 0;
}

}  // namespace compare_cmd_detail

int run_compare(const CompareArgs& args, std::ostream& out) {
  using namespace compare_cmd_detail;
  MERC_CHECK(args.dirs.size() >= 2, "compare: give at least two directories (got {})", args.dirs.size());
  MERC_CHECK(args.level > 0 && args.level < 1, "compare: --level must be in (0, 1), got {}", args.level);
  MERC_CHECK(args.resamples >= 1, "compare: --resamples must be >= 1, got {}", args.resamples);
  const DirKind first = dir_kind(args.dirs[0]);
  for (const auto& d : args.dirs)
    MERC_CHECK(dir_kind(d) == first, "compare: {} is a {} but {} is a {}; compare runs with runs and sweeps (or seed "
               "sets) with sweeps", args.dirs[0], first == DirKind::kRun ? "run" : "set of runs", d,
               first == DirKind::kRun ? "set of runs" : "run");
  return first == DirKind::kRun ? compare_runs(args, out) : compare_sets(args, out);
}

}  // namespace merc::app
