// CADGL's scenario table (merc/app/scenario_table.h): which scenarios a run gets, the hand-computed
// means of the summary rows, the protocol list with explicit --protocol, the JSON and text forms.
#include "merc/app/scenario_table.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/data/missing_protocol.h"

namespace merc::app {
namespace scenario_table_test_detail {

// The means below are of at most 7 values of order 100, summed in a different order than the
// hand-written fractions: a few ulps (~1e-14). 1e-12 allows that; a wrong member of a group moves
// a mean by >= 1/7.
constexpr double kTol = 1e-12;

using Use = std::array<bool, data::kNumModalities>;  // indexed text, audio, visual
constexpr Use kTextAudioVisual = {true, true, true};
constexpr Use kTextAudio = {true, true, false};
constexpr Use kTextOnly = {true, false, false};

std::vector<std::string> protocols_of(const std::vector<Scenario>& scenarios) {
  std::vector<std::string> out;
  for (const Scenario& s : scenarios) out.push_back(s.protocol);
  return out;
}

std::vector<std::string> protocols_of(const std::vector<SkippedScenario>& skipped) {
  std::vector<std::string> out;
  for (const SkippedScenario& s : skipped) out.push_back(s.protocol);
  return out;
}

metrics::MetricValues values(double accuracy, double weighted_f1) {
  metrics::MetricValues m;
  m.set("accuracy", accuracy);
  m.set("weighted_f1", weighted_f1);
  return m;
}

// Each scenario of the plan with accuracy from `acc` (by protocol) and weighted_f1 = accuracy / 2.
std::vector<std::pair<Scenario, metrics::MetricValues>> results_for(const ScenarioPlan& plan,
                                                                    const std::map<std::string, double>& acc) {
  std::vector<std::pair<Scenario, metrics::MetricValues>> out;
  for (const Scenario& s : plan.scenarios) out.emplace_back(s, values(acc.at(s.protocol), acc.at(s.protocol) / 2));
  return out;
}

const std::map<std::string, double> kAccuracy = {{"complete", 60}, {"drop:a", 50}, {"drop:v", 40}, {"drop:t", 30},
                                                 {"drop:av", 20},   {"drop:at", 10}, {"drop:tv", 15}};

const ScenarioGroup* find_group(const std::vector<ScenarioGroup>& summary, const std::string& name) {
  for (const ScenarioGroup& g : summary)
    if (g.name == name) return &g;
  return nullptr;
}

}  // namespace scenario_table_test_detail

namespace {

using namespace scenario_table_test_detail;
using Strings = std::vector<std::string>;

TEST(ScenarioTable, TheSevenScenariosAreCanonicalSpecsDroppingWhatTheySay) {
  const auto& all = cadgl_scenarios();
  EXPECT_EQ(protocols_of(all), (Strings{"complete", "drop:a", "drop:v", "drop:t", "drop:av", "drop:at", "drop:tv"}));
  for (const Scenario& s : all) {
    EXPECT_EQ(data::make_missing_protocol(s.protocol, 0)->spec(), s.protocol);
    // The spec names exactly the dropped modalities (canonical letters are in alphabetical order).
    std::string letters;
    for (data::Modality m : s.dropped) letters += data::modality_name(m)[0];
    std::sort(letters.begin(), letters.end());
    EXPECT_EQ(s.protocol, s.missing() == 0 ? "complete" : "drop:" + letters);
  }
}

TEST(ScenarioTable, PlanKeepsOnlyScenariosOverTheModalitiesTheRunReads) {
  ScenarioPlan p = plan_scenarios(kTextAudioVisual);
  EXPECT_EQ(protocols_of(p.scenarios), protocols_of(cadgl_scenarios()));
  EXPECT_TRUE(p.skipped.empty());

  p = plan_scenarios(kTextAudio);
  EXPECT_EQ(protocols_of(p.scenarios), (Strings{"complete", "drop:a", "drop:t"}));
  EXPECT_EQ(protocols_of(p.skipped), (Strings{"drop:v", "drop:av", "drop:at", "drop:tv"}));
  EXPECT_EQ(p.skipped[0].reason, "the run does not read visual");
  EXPECT_EQ(p.skipped[1].reason, "the run does not read visual");
  EXPECT_EQ(p.skipped[2].reason, "it drops every modality the run reads");

  p = plan_scenarios(kTextOnly);
  EXPECT_EQ(protocols_of(p.scenarios), (Strings{"complete"}));
  EXPECT_EQ(protocols_of(p.skipped), (Strings{"drop:a", "drop:v", "drop:t", "drop:av", "drop:at", "drop:tv"}));
  EXPECT_EQ(p.skipped[2].reason, "it drops every modality the run reads");  // drop:t
  EXPECT_EQ(p.skipped[0].reason, "the run does not read audio");
}

TEST(ScenarioTable, ThreeModalitiesGiveEveryRowAsHandComputedMeans) {
  const auto summary = summarize_scenarios(results_for(plan_scenarios(kTextAudioVisual), kAccuracy));
  ASSERT_EQ(summary.size(), 4u);
  EXPECT_EQ(summary[0].label(), "complete");
  EXPECT_EQ(summary[1].label(), "1 missing (mean of 3)");
  EXPECT_EQ(summary[2].label(), "2 missing (mean of 3)");
  EXPECT_EQ(summary[3].label(), "average (mean of 7)");
  EXPECT_EQ(summary[1].protocols, (Strings{"drop:a", "drop:v", "drop:t"}));
  EXPECT_EQ(summary[2].protocols, (Strings{"drop:av", "drop:at", "drop:tv"}));
  EXPECT_EQ(summary[0].mean.get("accuracy"), 60.0);               // nothing averaged: the value itself
  EXPECT_NEAR(summary[1].mean.get("accuracy"), 40.0, kTol);       // (50 + 40 + 30) / 3
  EXPECT_NEAR(summary[2].mean.get("accuracy"), 15.0, kTol);       // (20 + 10 + 15) / 3
  EXPECT_NEAR(summary[3].mean.get("accuracy"), 225.0 / 7, kTol);  // (60 + 120 + 45) / 7
  EXPECT_NEAR(summary[3].mean.get("weighted_f1"), 225.0 / 14, kTol);
  EXPECT_EQ(summary[3].mean.names(), (Strings{"accuracy", "weighted_f1"}));  // metric order kept
}

TEST(ScenarioTable, TwoModalitiesHaveNoTwoMissingRow) {
  const auto summary = summarize_scenarios(results_for(plan_scenarios(kTextAudio), kAccuracy));
  ASSERT_EQ(summary.size(), 3u);
  EXPECT_EQ(find_group(summary, "2 missing"), nullptr);
  const ScenarioGroup* one = find_group(summary, "1 missing");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->label(), "1 missing (mean of 2)");
  EXPECT_NEAR(one->mean.get("accuracy"), 40.0, kTol);  // (drop:a 50 + drop:t 30) / 2
  const ScenarioGroup* avg = find_group(summary, "average");
  ASSERT_NE(avg, nullptr);
  EXPECT_EQ(avg->label(), "average (mean of 3)");
  EXPECT_NEAR(avg->mean.get("accuracy"), 140.0 / 3, kTol);  // (60 + 50 + 30) / 3
}

TEST(ScenarioTable, OneModalityHasCompleteAndItsAverageOnly) {
  const auto summary = summarize_scenarios(results_for(plan_scenarios(kTextOnly), kAccuracy));
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_EQ(summary[0].name, "complete");
  EXPECT_EQ(summary[1].label(), "average (mean of 1)");
  EXPECT_EQ(summary[1].mean.get("accuracy"), 60.0);
}

TEST(ScenarioTable, ANanValueMakesItsMeanNan) {
  auto results = results_for(plan_scenarios(kTextAudio), kAccuracy);
  results[1].second.set("weighted_f1", std::numeric_limits<double>::quiet_NaN());  // drop:a
  const auto summary = summarize_scenarios(results);
  EXPECT_TRUE(std::isnan(find_group(summary, "1 missing")->mean.get("weighted_f1")));
  EXPECT_TRUE(std::isnan(find_group(summary, "average")->mean.get("weighted_f1")));
  EXPECT_EQ(find_group(summary, "complete")->mean.get("weighted_f1"), 30.0);
  EXPECT_NEAR(find_group(summary, "1 missing")->mean.get("accuracy"), 40.0, kTol);
}

TEST(ScenarioTable, SummaryRefusesMismatchedOrRepeatedScenarios) {
  EXPECT_THROW(summarize_scenarios({}), Error);
  auto results = results_for(plan_scenarios(kTextAudio), kAccuracy);
  auto repeated = results;
  repeated.push_back(results[1]);
  EXPECT_THROW(summarize_scenarios(repeated), Error);
  results[2].second.set("macro_f1", 1.0);
  try {
    summarize_scenarios(results);
    ADD_FAILURE() << "expected a merc::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("drop:t"), std::string::npos) << e.what();
  }
}

TEST(ScenarioTable, ExplicitProtocolsFollowTheScenariosOnceEach) {
  const ScenarioPlan p = plan_scenarios(kTextAudio);
  EXPECT_EQ(scenario_protocols(p, {}), (Strings{"complete", "drop:a", "drop:t"}));
  // drop:t and complete are scenarios already; random:0.30 is random:0.3 given twice; drop:v is
  // not a scenario of this run but was asked for.
  EXPECT_EQ(scenario_protocols(p, {"drop:t", "random:0.3", "complete", "random:0.30", "drop:v"}),
            (Strings{"complete", "drop:a", "drop:t", "random:0.3", "drop:v"}));
  const ScenarioPlan all = plan_scenarios(kTextAudioVisual);
  EXPECT_EQ(scenario_protocols(all, {"drop:ta", "fixed:tv"}).back(), "fixed:tv");  // other name, kept
  EXPECT_EQ(scenario_protocols(all, {"drop:ta", "fixed:tv"}).size(), 8u);         // drop:ta is drop:at
  EXPECT_THROW(scenario_protocols(all, {"random:1.5"}), Error);
}

TEST(ScenarioTable, JsonAndTextCarryEveryRowWithItsN) {
  const ScenarioPlan p = plan_scenarios(kTextAudio);
  const auto results = results_for(p, kAccuracy);
  const auto summary = summarize_scenarios(results);
  const nlohmann::ordered_json j = scenarios_json(results, summary, p.skipped);
  ASSERT_EQ(j["per_scenario"].size(), 3u);
  EXPECT_EQ(j["per_scenario"][1]["protocol"], "drop:a");
  EXPECT_EQ(j["per_scenario"][1]["missing"], 1);
  EXPECT_EQ(j["per_scenario"][1]["metrics"]["accuracy"], 50.0);
  EXPECT_EQ(j["summary"]["1 missing"]["n"], 2);
  EXPECT_EQ(j["summary"]["1 missing"]["label"], "1 missing (mean of 2)");
  EXPECT_EQ(j["summary"]["1 missing"]["protocols"], (Strings{"drop:a", "drop:t"}));
  EXPECT_NEAR(j["summary"]["average"]["metrics"]["accuracy"].get<double>(), 140.0 / 3, kTol);
  EXPECT_FALSE(j["summary"].contains("2 missing"));
  EXPECT_EQ(j["skipped"].size(), 4u);
  EXPECT_EQ(j["skipped"][0]["reason"], "the run does not read visual");

  const std::string text = scenario_summary_text(summary, p.skipped);
  for (const char* s : {"| complete              |", "| 1 missing (mean of 2) |", "| average (mean of 3)   |",
                        "skipped: drop:v (the run does not read visual), drop:av (the run does not read visual), "
                        "drop:at (it drops every modality the run reads)"})
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
  EXPECT_EQ(text.find("2 missing"), std::string::npos) << text;
}

}  // namespace
}  // namespace merc::app
