#pragma once
// CADGL's scenario table for `merc eval --scenarios` (issue 15; method_reference.md §2.4d, §8.1).
// CADGL reports a model under seven test scenarios (premiree/CDAGL scripts/evaluate.py): complete;
// audio, visual, text missing; audio+visual, audio+text, visual+text missing. Its README table
// condenses them to "Complete / 1 Missing / 2 Missing" plus an average. Here:
//   - plan_scenarios: which of the seven a run can be evaluated under (its ModelDims::use);
//   - summarize_scenarios: the summary rows, each the PLAIN MEAN of its scenarios' metric values
//     (every scenario weighs the same, whatever its utterance count; a NaN value, e.g. an undefined
//     correlation, makes the mean NaN rather than being left out);
//   - scenario_protocols: the protocol list `merc eval` runs (scenarios, then explicit --protocol);
//   - scenarios_json: the "scenarios" object of `merc eval --json`.

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "merc/data/dataset.h"
#include "merc/metrics/metric_values.h"

namespace merc::app {

// One test scenario: a protocol spec that removes `dropped` for every utterance.
struct Scenario {
  std::string protocol;                  // canonical spec: "complete", "drop:a", ..., "drop:tv"
  std::vector<data::Modality> dropped;   // empty for complete
  size_t missing() const { return dropped.size(); }
};

// The seven scenarios in CADGL's evaluate.py order: complete, drop:a, drop:v, drop:t, drop:av,
// drop:at, drop:tv.
const std::vector<Scenario>& cadgl_scenarios();

struct SkippedScenario {
  std::string protocol;
  std::string reason;  // e.g. "the run does not read visual"
};

struct ScenarioPlan {
  std::vector<Scenario> scenarios;      // to evaluate, in cadgl_scenarios() order
  std::vector<SkippedScenario> skipped;  // the others, with why
};

// `use`: the modalities the run reads (ModelDims::use, indexed by data::index_of). A scenario is
// skipped when it drops a modality the run does not read (its numbers would repeat another
// scenario's under a misleading name) or every modality the run reads (nothing left to classify).
// So a text+audio run gets complete, drop:a, drop:t; a one-modality run gets complete only.
ScenarioPlan plan_scenarios(const std::array<bool, data::kNumModalities>& use);

// A summary row: "complete", "1 missing", "2 missing" or "average".
struct ScenarioGroup {
  std::string name;
  std::vector<std::string> protocols;  // the scenarios averaged (N = protocols.size() >= 1)
  metrics::MetricValues mean;          // per metric, the plain mean over those scenarios
  // "complete" (a single scenario, nothing averaged), else "<name> (mean of N)".
  std::string label() const;
};

// results: the metrics of each evaluated scenario (each protocol once, all with the same metric
// names in the same order; merc::Error otherwise). Returns the rows complete (the complete
// scenario), 1 missing, 2 missing (the scenarios dropping one / two modalities) and average (every
// scenario given, complete included), in that order, leaving out a row with no scenario.
std::vector<ScenarioGroup> summarize_scenarios(
    const std::vector<std::pair<Scenario, metrics::MetricValues>>& results);

// What `merc eval --scenarios [--protocol P ...]` evaluates: the plan's scenarios, then each
// explicit protocol that is not already in the list (compared by canonical spec, so drop:ta is
// drop:at). Explicit protocols are evaluated and printed but never enter the summary. An invalid
// explicit spec -> the protocol registry's merc::Error.
std::vector<std::string> scenario_protocols(const ScenarioPlan& plan, const std::vector<std::string>& explicit_protocols);

// The summary as `merc eval` prints it: a heading saying how rows are averaged, the metric table
// of the rows (by label), then a line listing the skipped scenarios and why (when any).
std::string scenario_summary_text(const std::vector<ScenarioGroup>& summary,
                                  const std::vector<SkippedScenario>& skipped);

// {"per_scenario": [{"protocol", "missing", "metrics"}...], "summary": {"<group name>": {"label",
// "n", "protocols", "metrics"}...}, "skipped": [{"protocol", "reason"}...], "averaging": "..."};
// metrics as train::metrics_to_json (non-finite -> null).
nlohmann::ordered_json scenarios_json(const std::vector<std::pair<Scenario, metrics::MetricValues>>& results,
                                      const std::vector<ScenarioGroup>& summary,
                                      const std::vector<SkippedScenario>& skipped);

}  // namespace merc::app
