#pragma once
// The loud warnings of a report's protocol card (issue 18 §4): what makes a run's numbers
// optimistic or not comparable with the literature, decided from its resolved config and the
// dataset it read. One list, so the HTML report and any other output say the same thing.

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "merc/analysis/html_report.h"
#include "merc/data/dataset.h"
#include "merc/train/experiment_config.h"

namespace merc::app {

// The warnings of one run, in this order:
//   - test-max: selection=test-max picks the epoch on the TEST set (the published protocols of
//     several papers), so its test numbers are optimistic;
//   - imported: weights imported from a checkpoint; how that epoch was selected is not recorded;
//   - gold history: a switch that puts gold labels into the inputs (train::gold_history_switches);
//   - contaminated: the Poria et al. CMU-MOSI features (source_format "mosi-poria", the embedded
//     default) on the `standard` split, whose test videos trained the feature extractors
//     (data/README.md, docs/results.md "Read this first"); on the `poria` split a validation set
//     carved from train (its videos were seen by the extractors) makes validation selection
//     unreliable.
// `split` is the scheme the run used (config.data.split may be "" = the dataset's default).
std::vector<analysis::HtmlWarning> config_warnings(const train::ExperimentConfig& config, const data::DatasetInfo& info,
                                                   const std::string& split, bool imported);

}  // namespace merc::app
