#include "merc/train/run_data.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/core/error.h"
#include "merc/data/splits.h"

namespace merc::train {

data::Task resolve_task(const data::Dataset& ds, const std::string& task) {
  data::Task t = ds.info.task;
  if (task == "classification") t = data::Task::kClassification;
  else if (task == "regression") t = data::Task::kRegression;
  else MERC_CHECK(task == "auto", "data.task: expected auto, classification or regression, got '{}'", task);
  bool any = false;
  for (const auto& d : ds.dialogues) {
    for (const auto& u : d.utterances) {
      any = t == data::Task::kClassification ? u.label >= 0 : !std::isnan(u.score);
      if (any) break;
    }
    if (any) break;
  }
  MERC_CHECK(any, "dataset '{}' has no {} targets, so it cannot be trained as {}", ds.info.name,
             t == data::Task::kClassification ? "class-label" : "score", data::task_name(t));
  if (t == data::Task::kClassification)
    MERC_CHECK(ds.info.class_names.size() >= 2, "dataset '{}' has fewer than 2 class names", ds.info.name);
  return t;
}

namespace {
std::vector<std::string> partition_names(const data::SplitScheme& s) {
  std::vector<std::string> n;
  for (const auto& p : s.partitions) n.push_back(p.name);
  return n;
}
std::vector<const data::Dialogue*> dialogues_of(const data::Dataset& ds, const data::Partition& p) {
  std::vector<const data::Dialogue*> out;
  for (int64_t i : p.dialogues) out.push_back(&ds.dialogues.at(static_cast<size_t>(i)));
  return out;
}
}  // namespace

RunData select_partitions(const data::Dataset& ds, const ExperimentConfig& config, bool require_valid) {
  RunData r;
  r.task = resolve_task(ds, config.data.task);
  r.scheme = ds.scheme(config.data.split);  // unknown -> error listing schemes
  const double carve = config.data.carve_valid;
  const uint64_t seed = static_cast<uint64_t>(config.data.split_seed);
  MERC_CHECK(r.scheme.find("train"), "split '{}' has no 'train' partition (partitions: {})", r.scheme.name,
             fmt::join(partition_names(r.scheme), ", "));

  const data::Partition* val = data::validation_partition(r.scheme);
  if (!r.scheme.find("test") && val) {
    // train + dev only: dev is the held-out test set.
    const std::string dev = val->name;
    for (auto& p : r.scheme.partitions)
      if (p.name == dev) p.name = "test";
    r.notes.push_back(fmt::format("split '{}' has no test partition: '{}' is used as the test set", r.scheme.name, dev));
    val = nullptr;
  }
  if (!val && carve > 0) {
    r.scheme = data::carve_validation(r.scheme, carve, seed);
    r.notes.push_back(fmt::format("carved {:.0f}% of train dialogues into 'valid' (split_seed {})", carve * 100, seed));
    val = data::validation_partition(r.scheme);
  }
  const data::Partition* test = r.scheme.find("test");
  MERC_CHECK(test, "split '{}' has no test partition (partitions: {})", r.scheme.name,
             fmt::join(partition_names(r.scheme), ", "));
  r.train = dialogues_of(ds, *r.scheme.find("train"));
  r.test = dialogues_of(ds, *test);
  r.test_name = "test";
  if (val) {
    r.valid = dialogues_of(ds, *val);
    r.valid_name = val->name;
  }
  MERC_CHECK(!r.train.empty(), "split '{}': the train partition is empty", r.scheme.name);
  MERC_CHECK(!r.test.empty(), "split '{}': the test partition is empty", r.scheme.name);
  if (require_valid && !config.test_max())
    MERC_CHECK(!r.valid.empty(),
               "split '{}' has no validation partition, so validation selection is impossible: set "
               "data.carve_valid (e.g. --set data.carve_valid=0.1) or use selection=test-max (the published "
               "protocol, which selects on test)",
               r.scheme.name);
  return r;
}

}  // namespace merc::train
