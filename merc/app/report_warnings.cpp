#include "merc/app/report_warnings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/core/config.h"

namespace merc::app {

namespace report_warnings_detail {

bool is_true(const YAML::Node& n) {
  if (!n.IsScalar()) return false;
  const std::string v = n.Scalar();
  return v == "true" || v == "True" || v == "TRUE" || v == "yes" || v == "on" || v == "1";
}

void collect_gold(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& out) {
  if (!node.IsMap()) return;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (kv.second.IsMap()) collect_gold(kv.second, path, out);
    else if (key.find("gold") != std::string::npos && is_true(kv.second)) out.push_back(path);
  }
}

constexpr const char* kPoriaFeatures = "mosi-poria";

}  // namespace report_warnings_detail

std::vector<std::string> gold_history_keys(const YAML::Node& config) {
  std::vector<std::string> out;
  report_warnings_detail::collect_gold(config, "", out);
  return out;
}

std::vector<analysis::HtmlWarning> config_warnings(const train::ExperimentConfig& config, const data::DatasetInfo& info,
                                                   const std::string& split, bool imported) {
  namespace d = report_warnings_detail;
  std::vector<analysis::HtmlWarning> out;
  if (config.test_max())
    out.push_back({"Test-max selection",
                   "the epoch was selected on the TEST set (selection=test-max, the published protocol of several "
                   "papers): every test number in this report is optimistic and not a held-out estimate"});
  if (imported)
    out.push_back({"Imported weights", "the weights come from an imported checkpoint; how its epoch was selected "
                                       "(validation or test) is not recorded"});
  const std::vector<std::string> gold = gold_history_keys(parse_yaml(to_yaml_text(config), "config"));
  if (!gold.empty())
    out.push_back({"Gold history", fmt::format("{} is on: inputs at test time contain gold labels of earlier turns, "
                                               "so test numbers leak labels",
                                               fmt::join(gold, ", "))});
  if (info.source_format == d::kPoriaFeatures && split == "standard")
    out.push_back({"Contaminated test set",
                   "CMU-MOSI with the Poria et al. features on the `standard` split: 24 of its 31 test videos (and 9 "
                   "of 10 validation videos) trained the feature extractors (data/README.md). The numbers measure "
                   "the protocols and the engine, not generalisation; use the `poria` split for comparable numbers"});
  if (info.source_format == d::kPoriaFeatures && split == "poria" && !config.test_max() &&
      config.data.carve_valid > 0)
    out.push_back({"Contaminated validation set",
                   "the validation set was carved from the `poria` train videos, which trained the feature "
                   "extractors: validation scores are near 100% and validation selection picks a late, over-fitted "
                   "epoch (docs/results.md, \"Read this first\")"});
  return out;
}

}  // namespace merc::app
