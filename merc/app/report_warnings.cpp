#include "merc/app/report_warnings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/core/config.h"

namespace merc::app {

namespace report_warnings_detail {

constexpr const char* kPoriaFeatures = "mosi-poria";

}  // namespace report_warnings_detail

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
  const std::vector<std::string> gold = train::gold_history_switches(config);
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
