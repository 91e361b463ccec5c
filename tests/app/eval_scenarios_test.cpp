// `merc eval --scenarios` end to end: a tiny trained run, CADGL's scenario rows and summary in the
// text and JSON outputs, and the summary rows equal to the means of the per-scenario rows.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "merc/data/dataset_file.h"
#include "../train/synthetic_data.h"

namespace merc::app {
namespace eval_scenarios_test_detail {

namespace fs = std::filesystem;

// The synthetic dataset with a 2-d visual modality added, so that all seven scenarios apply.
data::Dataset three_modality_dataset() {
  data::Dataset ds = train::testing::synthetic_dataset();
  ds.info.modality_dims[static_cast<size_t>(data::index_of(data::Modality::kVisual))] = 2;
  float v = 0.0f;
  for (auto& d : ds.dialogues) {
    data::FeatureMatrix& m = d.features[data::index_of(data::Modality::kVisual)];
    m = data::FeatureMatrix(static_cast<int64_t>(d.utterances.size()), 2);
    for (float& x : m.values) {
      v += 0.37f;
      x = v - std::floor(v);  // fractional parts: varied values in [0, 1)
    }
  }
  return ds;
}

// The numbers of the table row whose first cell is `name` in `text` (empty when there is none).
std::vector<double> table_row(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> cells;
    std::istringstream row(line);
    std::string cell;
    while (std::getline(row, cell, '|')) cells.push_back(cell);
    // "| name | v1 | v2 |" splits into "", " name ", " v1 ", " v2 ".
    if (cells.size() < 3 || cells[1].find_first_not_of(' ') == std::string::npos) continue;
    const std::string first = cells[1].substr(1, cells[1].find_last_not_of(' '));
    if (first != name) continue;
    std::vector<double> values;
    for (size_t i = 2; i < cells.size(); ++i) values.push_back(std::stod(cells[i]));
    return values;
  }
  return {};
}

// The text before and after the summary heading: the per-scenario table, then the summary.
std::pair<std::string, std::string> split_at_summary(const std::string& out) {
  const size_t at = out.find("scenario summary (CADGL)");
  if (at == std::string::npos) return {out, ""};
  return {out.substr(0, at), out.substr(at)};
}

// Every value is printed to 2 decimals (error <= 0.005): the mean of printed values and the printed
// mean may differ by up to 0.005 + 0.005.
constexpr double kPrintedTol = 0.01 + 1e-9;
// JSON values are the doubles themselves; the mean is recomputed in another summation order.
constexpr double kJsonTol = 1e-12;

// Checks that summary["group"] is the mean of the per-protocol results named in it, metric by metric.
void expect_json_mean(const nlohmann::json& j, const std::string& group, size_t n) {
  SCOPED_TRACE(group);
  const auto& g = j["scenarios"]["summary"][group];
  ASSERT_EQ(g["n"].get<size_t>(), n);
  ASSERT_EQ(g["protocols"].size(), n);
  for (const auto& [metric, mean] : g["metrics"].items()) {
    double sum = 0.0;
    bool null = false;
    for (const auto& p : g["protocols"]) {
      bool found = false;
      for (const auto& r : j["results"]) {
        if (r["protocol"] != p) continue;
        found = true;
        if (r["metrics"][metric].is_null()) null = true;
        else sum += r["metrics"][metric].get<double>();
      }
      ASSERT_TRUE(found) << p;
    }
    if (null) {
      EXPECT_TRUE(mean.is_null()) << metric;
    } else {
      EXPECT_NEAR(mean.get<double>(), sum / static_cast<double>(n), kJsonTol) << metric;
    }
  }
}

class EvalScenariosTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("merc_eval_scenarios_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string three = (dir_ / "tav.safetensors").string();
    const std::string two = (dir_ / "ta.safetensors").string();
    data::write_dataset_file(three_modality_dataset(), three);
    data::write_dataset_file(train::testing::synthetic_dataset(), two);
    for (const auto& [path, out, task] : {std::tuple{three, cls_run(), "classification"},
                                          std::tuple{two, regression_run(), "regression"}}) {
      const testing::CliResult r =
          testing::cli({"train", "--data", path, "--split", "given", "--set", "model.name=mlp", "--set",
                        std::string("data.task=") + task, "--set", "train.epochs=2", "--set", "train.progress=none",
                        "--threads", "1", "--out", out});
      ASSERT_EQ(r.code, 0) << r.err << r.out;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string cls_run() { return (dir_ / "cls").string(); }         // text + audio + visual
  static std::string regression_run() { return (dir_ / "reg").string(); }  // text + audio
  static fs::path dir_;
};
fs::path EvalScenariosTest::dir_;

}  // namespace eval_scenarios_test_detail

namespace {

using namespace eval_scenarios_test_detail;
using testing::cli;

TEST_F(EvalScenariosTest, ThreeModalityRunPrintsSevenScenariosAndTheirMeans) {
  const testing::CliResult r = cli({"eval", "--run", cls_run(), "--scenarios"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto [table, summary] = split_at_summary(r.out);
  ASSERT_FALSE(summary.empty()) << r.out;
  EXPECT_NE(table.find("|    accuracy |"), std::string::npos) << table;
  EXPECT_NE(table.find("|    macro_f1 |"), std::string::npos) << table;
  std::map<std::string, std::vector<double>> rows;
  for (const char* p : {"complete", "drop:a", "drop:v", "drop:t", "drop:av", "drop:at", "drop:tv"}) {
    rows[p] = table_row(table, p);
    ASSERT_EQ(rows[p].size(), 4u) << p << "\n" << r.out;  // accuracy, weighted_f1, macro_f1, ua
  }
  EXPECT_EQ(summary.find("skipped"), std::string::npos) << summary;
  const std::vector<std::pair<std::string, std::vector<const char*>>> groups = {
      {"complete", {"complete"}},
      {"1 missing (mean of 3)", {"drop:a", "drop:v", "drop:t"}},
      {"2 missing (mean of 3)", {"drop:av", "drop:at", "drop:tv"}},
      {"average (mean of 7)", {"complete", "drop:a", "drop:v", "drop:t", "drop:av", "drop:at", "drop:tv"}}};
  for (const auto& [label, members] : groups) {
    const std::vector<double> printed = table_row(summary, label);
    ASSERT_EQ(printed.size(), 4u) << label << "\n" << summary;
    for (size_t k = 0; k < printed.size(); ++k) {
      double sum = 0.0;
      for (const char* p : members) sum += rows[p][k];
      EXPECT_NEAR(printed[k], sum / static_cast<double>(members.size()), kPrintedTol) << label << " column " << k;
    }
  }
  // Scenarios differ from complete: the run reads every modality, so dropping two changes its input.
  EXPECT_NE(rows["complete"], rows["drop:at"]);
}

TEST_F(EvalScenariosTest, JsonCarriesPerScenarioMetricsGroupMeansAndN) {
  const testing::CliResult r = cli({"eval", "--run", cls_run(), "--scenarios", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 7u);
  ASSERT_EQ(j["scenarios"]["per_scenario"].size(), 7u);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(j["scenarios"]["per_scenario"][i]["protocol"], j["results"][i]["protocol"]);
    EXPECT_EQ(j["scenarios"]["per_scenario"][i]["metrics"], j["results"][i]["metrics"]);
  }
  EXPECT_EQ(j["scenarios"]["per_scenario"][4]["protocol"], "drop:av");
  EXPECT_EQ(j["scenarios"]["per_scenario"][4]["missing"], 2);
  EXPECT_EQ(j["scenarios"]["summary"]["1 missing"]["label"], "1 missing (mean of 3)");
  expect_json_mean(j, "complete", 1);
  expect_json_mean(j, "1 missing", 3);
  expect_json_mean(j, "2 missing", 3);
  expect_json_mean(j, "average", 7);
  EXPECT_TRUE(j["scenarios"]["skipped"].empty());
  // Without the flag the JSON is as before.
  const auto plain = nlohmann::json::parse(cli({"eval", "--run", cls_run(), "--json"}).out);
  EXPECT_FALSE(plain.contains("scenarios"));
}

TEST_F(EvalScenariosTest, TwoModalityRegressionRunSkipsWhatItCannotMissAndKeepsExplicitProtocolsOut) {
  testing::CliResult r = cli({"eval", "--run", regression_run(), "--scenarios"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto [table, summary] = split_at_summary(r.out);
  for (const char* col : {"acc2", "f1", "acc7", "mae", "corr"})
    EXPECT_NE(table.find(fmt::format("| {:>11} |", col)), std::string::npos) << col << "\n" << table;
  EXPECT_EQ(table_row(table, "drop:a").size(), 10u) << table;
  EXPECT_TRUE(table_row(table, "drop:v").empty()) << table;
  EXPECT_NE(summary.find("| 1 missing (mean of 2) |"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| average (mean of 3)   |"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("2 missing"), std::string::npos) << summary;
  EXPECT_NE(summary.find("skipped: drop:v (the run does not read visual)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("drop:at (it drops every modality the run reads)"), std::string::npos) << summary;

  // Explicit protocols: evaluated after the scenarios, once each, never averaged.
  r = cli({"eval", "--run", regression_run(), "--scenarios", "--json", "--protocol", "random:0.5", "--protocol",
           "drop:t", "--protocol", "drop:v"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  std::vector<std::string> evaluated;
  for (const auto& e : j["results"]) evaluated.push_back(e["protocol"]);
  EXPECT_EQ(evaluated, (std::vector<std::string>{"complete", "drop:a", "drop:t", "random:0.5", "drop:v"}));
  EXPECT_EQ(j["scenarios"]["per_scenario"].size(), 3u);
  EXPECT_FALSE(j["scenarios"]["summary"].contains("2 missing"));
  expect_json_mean(j, "1 missing", 2);
  expect_json_mean(j, "average", 3);
  EXPECT_EQ(j["scenarios"]["skipped"].size(), 4u);
}

}  // namespace
}  // namespace merc::app
