#pragma once
// Which dialogues a run trains, selects and tests on: resolves the config's split scheme into
// train / valid / test roles.
//
// Rules: test = the scheme's "test" partition; valid = its validation partition ("valid", "dev",
// "validation"). When the scheme has no validation partition and data.carve_valid > 0, that
// fraction of train dialogues is carved off (seeded by data.split_seed). When it has no "test"
// partition but a validation one (MELD/EmoryNLP/DailyDialog ship train + dev only), dev becomes
// the test set and, with carve_valid > 0, a validation set is carved from train. Validation
// selection without any validation set is an error that says how to get one.

#include <string>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/train/experiment_config.h"

namespace merc::train {

struct RunData {
  data::Task task = data::Task::kClassification;
  data::SplitScheme scheme;  // the scheme as used (after carving)
  std::vector<const data::Dialogue*> train, valid, test;
  std::string valid_name, test_name;  // partition names ("" when none)
  std::vector<std::string> notes;     // what was decided, for the run log
};

// `dataset` must outlive the result (it points into it).
// `require_valid` (training with validation selection) makes a missing validation set an error;
// evaluation of a finished run passes false.
RunData select_partitions(const data::Dataset& dataset, const ExperimentConfig& config, bool require_valid = true);

// auto -> the dataset's task; checks that the data carries targets for the chosen task.
data::Task resolve_task(const data::Dataset& dataset, const std::string& task);

}  // namespace merc::train
