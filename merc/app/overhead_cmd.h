#pragma once
// `merc eval --run DIR --overhead`: what the run's model costs at inference (analysis/overhead.h)
// on its data, one dialogue per forward under the run's test protocol, or on MoED's dummy batch
// (--overhead-dummy); a table, or one JSON object with --json.

#include <iosfwd>

#include <nlohmann/json_fwd.hpp>

#include "merc/analysis/overhead.h"
#include "merc/app/train_cmd.h"

namespace merc::app {

// MoED's dummy dialogue length (method_reference §4.8: B = 1, T = 40).
inline constexpr int64_t kOverheadDummyLength = 40;

// The measurement with what it was measured on (the run, its data and protocol).
struct OverheadResult {
  std::string run_dir;
  std::string model;       // config.model->name
  std::string dataset;     // DatasetInfo::name ("" for the dummy input)
  std::string split;
  std::string partition;   // "test", ... or "dummy"
  std::string protocol;    // applied to the inputs ("complete" for the dummy input)
  int64_t stage = 0;       // the model stage of the weights
  analysis::OverheadReport report;
};

OverheadResult measure_run_overhead(const EvalArgs& args);
nlohmann::ordered_json overhead_json(const OverheadResult& r);
std::string overhead_text(const OverheadResult& r);

// The body of `merc eval --overhead`: prints overhead_text, or overhead_json with --json. Returns 0.
int run_eval_overhead(const EvalArgs& args, std::ostream& out);

}  // namespace merc::app
