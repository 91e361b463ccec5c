#include "merc/app/scenario_table.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/app/eval_outputs.h"
#include "merc/core/error.h"
#include "merc/data/missing_protocol.h"
#include "merc/train/evaluate.h"

namespace merc::app {

namespace scenario_table_detail {

// Plain mean per metric over `rows` (>= 1), which share their metric names and order.
metrics::MetricValues mean_metrics(const std::vector<const metrics::MetricValues*>& rows) {
  metrics::MetricValues mean;
  for (size_t k = 0; k < rows.front()->size(); ++k) {
    double sum = 0.0;
    for (const metrics::MetricValues* m : rows) sum += m->entries()[k].value;
    mean.set(rows.front()->entries()[k].name, sum / static_cast<double>(rows.size()));
  }
  return mean;
}

}  // namespace scenario_table_detail

const std::vector<Scenario>& cadgl_scenarios() {
  using data::Modality;
  // evaluate.py's order: audio, visual, text missing, then audio+visual, audio+text, visual+text.
  static const std::vector<Scenario> kScenarios = {
      {"complete", {}},
      {"drop:a", {Modality::kAudio}},
      {"drop:v", {Modality::kVisual}},
      {"drop:t", {Modality::kText}},
      {"drop:av", {Modality::kAudio, Modality::kVisual}},
      {"drop:at", {Modality::kAudio, Modality::kText}},
      {"drop:tv", {Modality::kText, Modality::kVisual}},
  };
  return kScenarios;
}

ScenarioPlan plan_scenarios(const std::array<bool, data::kNumModalities>& use) {
  const auto used_count = std::count(use.begin(), use.end(), true);
  ScenarioPlan plan;
  for (const Scenario& s : cadgl_scenarios()) {
    const auto unread = std::find_if(s.dropped.begin(), s.dropped.end(),
                                     [&](data::Modality m) { return !use[static_cast<size_t>(data::index_of(m))]; });
    if (unread != s.dropped.end()) {
      plan.skipped.push_back({s.protocol, fmt::format("the run does not read {}", data::modality_name(*unread))});
    } else if (static_cast<int64_t>(s.missing()) == used_count) {
      plan.skipped.push_back({s.protocol, "it drops every modality the run reads"});
    } else {
      plan.scenarios.push_back(s);
    }
  }
  return plan;
}

std::string ScenarioGroup::label() const {
  if (name == "complete") return name;
  return fmt::format("{} (mean of {})", name, protocols.size());
}

std::vector<ScenarioGroup> summarize_scenarios(
    const std::vector<std::pair<Scenario, metrics::MetricValues>>& results) {
  MERC_CHECK(!results.empty(), "scenario summary: no scenario was evaluated");
  const std::vector<std::string> names = results.front().second.names();
  for (size_t i = 0; i < results.size(); ++i) {
    MERC_CHECK(results[i].second.names() == names, "scenario summary: {} has metrics [{}] but {} has [{}]",
               results[i].first.protocol, fmt::join(results[i].second.names(), ", "), results.front().first.protocol,
               fmt::join(names, ", "));
    for (size_t j = 0; j < i; ++j)
      MERC_CHECK(results[j].first.protocol != results[i].first.protocol, "scenario summary: {} is given twice",
                 results[i].first.protocol);
  }
  // Which scenarios enter a row: complete / 1 missing / 2 missing by the number dropped, average all.
  auto group = [&](const std::string& name, auto keep) {
    ScenarioGroup g;
    g.name = name;
    std::vector<const metrics::MetricValues*> rows;
    for (const auto& [s, m] : results) {
      if (!keep(s)) continue;
      g.protocols.push_back(s.protocol);
      rows.push_back(&m);
    }
    if (!rows.empty()) g.mean = scenario_table_detail::mean_metrics(rows);
    return g;
  };
  std::vector<ScenarioGroup> summary = {
      group("complete", [](const Scenario& s) { return s.missing() == 0; }),
      group("1 missing", [](const Scenario& s) { return s.missing() == 1; }),
      group("2 missing", [](const Scenario& s) { return s.missing() == 2; }),
      group("average", [](const Scenario&) { return true; }),
  };
  summary.erase(std::remove_if(summary.begin(), summary.end(),
                               [](const ScenarioGroup& g) { return g.protocols.empty(); }),
                summary.end());
  return summary;
}

std::vector<std::string> scenario_protocols(const ScenarioPlan& plan,
                                            const std::vector<std::string>& explicit_protocols) {
  std::vector<std::string> out;
  for (const Scenario& s : plan.scenarios) out.push_back(s.protocol);
  for (const std::string& p : explicit_protocols) {
    // The registry's canonical text (seed and mode do not change it); invalid specs fail here.
    const std::string canonical = data::make_missing_protocol(p, 0)->spec();
    const bool seen = std::any_of(out.begin(), out.end(), [&](const std::string& q) {
      return q == p || data::make_missing_protocol(q, 0)->spec() == canonical;
    });
    if (!seen) out.push_back(p);
  }
  return out;
}

std::string scenario_summary_text(const std::vector<ScenarioGroup>& summary,
                                  const std::vector<SkippedScenario>& skipped) {
  std::vector<std::pair<std::string, metrics::MetricValues>> rows;
  for (const ScenarioGroup& g : summary) rows.emplace_back(g.label(), g.mean);
  std::string s = "scenario summary (CADGL): each row is the plain mean of its scenarios' rows above; "
                  "average = every scenario row, complete included\n" +
                  metric_table("scenarios", rows);
  if (!skipped.empty()) {
    std::vector<std::string> items;
    for (const SkippedScenario& k : skipped) items.push_back(fmt::format("{} ({})", k.protocol, k.reason));
    s += fmt::format("skipped: {}\n", fmt::join(items, ", "));
  }
  return s;
}

nlohmann::ordered_json scenarios_json(const std::vector<std::pair<Scenario, metrics::MetricValues>>& results,
                                      const std::vector<ScenarioGroup>& summary,
                                      const std::vector<SkippedScenario>& skipped) {
  nlohmann::ordered_json per = nlohmann::ordered_json::array();
  for (const auto& [s, m] : results)
    per.push_back({{"protocol", s.protocol}, {"missing", s.missing()}, {"metrics", train::metrics_to_json(m)}});
  nlohmann::ordered_json groups = nlohmann::ordered_json::object();
  for (const ScenarioGroup& g : summary)
    groups[g.name] = {{"label", g.label()},
                      {"n", g.protocols.size()},
                      {"protocols", g.protocols},
                      {"metrics", train::metrics_to_json(g.mean)}};
  nlohmann::ordered_json skip = nlohmann::ordered_json::array();
  for (const SkippedScenario& s : skipped) skip.push_back({{"protocol", s.protocol}, {"reason", s.reason}});
  return {{"per_scenario", per},
          {"summary", groups},
          {"skipped", skip},
          {"averaging", "plain mean of the per-scenario metric values; average = every evaluated scenario, "
                        "complete included"}};
}

}  // namespace merc::app
