// config_warnings: each loud warning appears exactly when its condition holds (test-max selection,
// imported weights, a gold-history switch, the Poria MOSI features on the contaminated `standard`
// split or with a validation set carved from `poria` train) and never otherwise.
#include <algorithm>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "merc/app/report_warnings.h"
#include "merc/models/hrg_ssa.h"
#include "merc/models/registry.h"
#include "merc/train/trainer.h"

namespace merc::app {
namespace {

std::vector<std::string> titles(const std::vector<analysis::HtmlWarning>& w) {
  std::vector<std::string> out;
  for (const auto& x : w) out.push_back(x.title);
  return out;
}

data::DatasetInfo info(const std::string& source_format) {
  data::DatasetInfo i;
  i.name = "CMU-MOSI";
  i.source_format = source_format;
  return i;
}

TEST(ConfigWarnings, NoneForAValidationSelectedRunOnCleanData) {
  train::ExperimentConfig c;
  EXPECT_TRUE(config_warnings(c, info("iemocap"), "standard", false).empty());
  EXPECT_TRUE(config_warnings(c, info("mosi-poria"), "poria", false).empty());  // no carved validation set
}

TEST(ConfigWarnings, TestMaxAndImportedAreReported) {
  train::ExperimentConfig c;
  c.selection = "test-max";
  EXPECT_EQ(titles(config_warnings(c, info("iemocap"), "given", false)), std::vector<std::string>{"Test-max selection"});
  c.selection = "validation";
  EXPECT_EQ(titles(config_warnings(c, info("iemocap"), "given", true)), std::vector<std::string>{"Imported weights"});
}

TEST(ConfigWarnings, ThePoriaMosiFeaturesAreContaminatedOnTheStandardSplit) {
  train::ExperimentConfig c;
  const auto w = config_warnings(c, info("mosi-poria"), "standard", false);
  ASSERT_EQ(titles(w), std::vector<std::string>{"Contaminated test set"});
  EXPECT_NE(w[0].text.find("data/README.md"), std::string::npos);  // says where the evidence is
  // Poria split: the test set is clean, a validation set carved from its train videos is not ...
  c.data.carve_valid = 0.2;
  EXPECT_EQ(titles(config_warnings(c, info("mosi-poria"), "poria", false)),
            std::vector<std::string>{"Contaminated validation set"});
  // ... unless selection does not use it (test-max is then the warning).
  c.selection = "test-max";
  EXPECT_EQ(titles(config_warnings(c, info("mosi-poria"), "poria", false)),
            std::vector<std::string>{"Test-max selection"});
  // Other MOSI features (MMSA's) on `standard` are not the contaminated ones.
  c.selection = "validation";
  EXPECT_TRUE(config_warnings(c, info("mmsa"), "standard", false).empty());
}

TEST(GoldHistoryKeys, FindsTrueKeysNamedGoldAtAnyDepth) {
  const YAML::Node n = YAML::Load(
      "model:\n  name: hrg\n  gold_history: true\n  sub:\n    use_gold_labels: yes\n  gold_off: false\n"
      "  label_history: gold\n  other_history: predicted\ntrain:\n  golden_ratio: 1.6\n");
  EXPECT_EQ(train::gold_history_switches(n), (std::vector<std::string>{"model.gold_history", "model.sub.use_gold_labels",
                                                                       "model.label_history=gold"}));
  EXPECT_TRUE(train::gold_history_switches(YAML::Load("model:\n  name: mlp\n")).empty());
}

// hrg_ssa's label_history=gold (the release's evaluation) marks the selection label, which every
// output of a run carries (log, metrics.json, sweep tables, report), and the report's warnings.
TEST(GoldHistoryKeys, HrgSsaGoldLabelHistoryMarksTheRun) {
  train::ExperimentConfig c;
  c.model = models::make_model_config("hrg_ssa");
  EXPECT_EQ(train::input_leak_note(c), "");
  dynamic_cast<models::HrgSsaConfig&>(*c.model).label_history = "gold";
  EXPECT_EQ(train::input_leak_note(c), "gold history: test labels leak into the input (model.label_history=gold)");
  EXPECT_NE(train::selection_label(c).find("gold history: test labels leak into the input"), std::string::npos);
  EXPECT_EQ(titles(config_warnings(c, info("mmsa"), "standard", false)), std::vector<std::string>{"Gold history"});
}

}  // namespace
}  // namespace merc::app
