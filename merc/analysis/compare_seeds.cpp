// The seed-level half of compare.h: two sets of runs (sweeps, k-fold runs, directories of seed
// runs), per protocol group, mean and sample std over seeds and Welch's t-test.
#include <algorithm>
#include <cmath>
#include <set>

#include "merc/analysis/compare.h"
#include "merc/core/error.h"
#include "merc/metrics/accumulator.h"

namespace merc::analysis {

namespace compare_seeds_detail {

std::vector<std::string> groups_in_order(const SeedSet& s) {
  std::vector<std::string> g;
  for (const auto& r : s.runs)
    if (std::find(g.begin(), g.end(), r.group) == g.end()) g.push_back(r.group);
  return g;
}

std::vector<const SeedRun*> runs_of(const SeedSet& s, const std::string& group) {
  std::vector<const SeedRun*> out;
  for (const auto& r : s.runs)
    if (r.group == group) out.push_back(&r);
  return out;
}

std::set<std::string> splits_of(const std::vector<const SeedRun*>& runs) {
  std::set<std::string> s;
  for (const auto* r : runs) s.insert(r->split);
  return s;
}

std::vector<double> values_of(const std::vector<const SeedRun*>& runs, const std::string& metric) {
  std::vector<double> v;
  for (const auto* r : runs) {
    MERC_CHECK(r->test.contains(metric), "compare: {} has no test metric '{}' (it has {})", r->run_dir, metric,
               fmt::join(r->test.names(), ", "));
    v.push_back(r->test.get(metric));
  }
  return v;
}

// The first field on which a set's runs disagree, as "field 'x' (run) vs 'y' (run)"; "" if none.
std::string first_mismatch(const SeedSet& s) {
  const SeedRun& f = s.runs.front();
  for (const auto& r : s.runs) {
    const std::pair<const char*, std::pair<std::string, std::string>> fields[] = {
        {"model", {f.model, r.model}},       {"dataset", {f.dataset, r.dataset}},
        {"dataset path", {f.dataset_path, r.dataset_path}}, {"task", {f.task, r.task}},
        {"selection", {f.selection, r.selection}}};
    for (const auto& [name, v] : fields)
      if (v.first != v.second)
        return fmt::format("{} '{}' ({}) vs '{}' ({})", name, v.first, f.run_dir, v.second, r.run_dir);
  }
  return "";
}

}  // namespace compare_seeds_detail

void check_seed_set(const SeedSet& set) {
  MERC_CHECK(!set.runs.empty(), "compare: {} holds no finished runs", set.name);
  const std::string m = compare_seeds_detail::first_mismatch(set);
  MERC_CHECK(m.empty(), "compare: the runs of {} are not one model on one dataset: {}", set.name, m);
}

SeedComparison compare_seed_sets(const SeedSet& a, const SeedSet& b, const std::vector<std::string>& metrics,
                                 double alpha) {
  using namespace compare_seeds_detail;
  check_seed_set(a);
  check_seed_set(b);
  const SeedRun& fa = a.runs.front();
  const SeedRun& fb = b.runs.front();
  std::vector<std::string> diffs;
  if (fa.dataset != fb.dataset) diffs.push_back(fmt::format("dataset '{}' vs '{}'", fa.dataset, fb.dataset));
  if (fa.dataset_path != fb.dataset_path)
    diffs.push_back(fmt::format("dataset path '{}' vs '{}'", fa.dataset_path, fb.dataset_path));
  if (fa.task != fb.task) diffs.push_back(fmt::format("task '{}' vs '{}'", fa.task, fb.task));
  SeedComparison out;
  out.a = a.name;
  out.b = b.name;
  out.model_a = fa.model;
  out.model_b = fb.model;
  out.dataset = fa.dataset;
  out.task = fa.task;
  const auto ga = groups_in_order(a), gb = groups_in_order(b);
  std::vector<std::string> shared;
  for (const auto& g : ga) (std::find(gb.begin(), gb.end(), g) != gb.end() ? shared : out.only_in_a).push_back(g);
  for (const auto& g : gb)
    if (std::find(ga.begin(), ga.end(), g) == ga.end()) out.only_in_b.push_back(g);
  if (shared.empty())
    diffs.push_back(fmt::format("no protocol group in common ([{}] vs [{}])", fmt::join(ga, ", "), fmt::join(gb, ", ")));
  for (const auto& g : shared) {
    const auto ra = runs_of(a, g), rb = runs_of(b, g);
    if (ra.front()->protocol != rb.front()->protocol)
      diffs.push_back(fmt::format("group {}: protocol '{}' vs '{}'", g, ra.front()->protocol, rb.front()->protocol));
    if (splits_of(ra) != splits_of(rb))
      diffs.push_back(fmt::format("group {}: splits [{}] vs [{}]", g, fmt::join(splits_of(ra), ", "),
                                  fmt::join(splits_of(rb), ", ")));
  }
  MERC_CHECK(diffs.empty(), "compare: {} and {} were not run under the same design, so their difference would mean "
             "nothing: {}", a.name, b.name, fmt::join(diffs, "; "));
  const data::Task task = fa.task == "regression" ? data::Task::kRegression : data::Task::kClassification;
  const std::vector<std::string> names = metrics.empty() ? default_metrics(task) : metrics;
  for (const auto& g : shared) {
    const auto ra = runs_of(a, g), rb = runs_of(b, g);
    for (const auto& m : names) {
      GroupComparison row;
      row.group = g;
      row.protocol = ra.front()->protocol;
      row.metric = m;
      row.higher_is_better = metrics::higher_is_better(m);
      row.welch = welch_t_test(values_of(ra, m), values_of(rb, m));
      row.verdict = welch_verdict(m, row.higher_is_better, row.welch, alpha);
      out.rows.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace merc::analysis
