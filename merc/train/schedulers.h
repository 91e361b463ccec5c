#pragma once
// Learning-rate schedules (per epoch), THE scheduler table, and linear warm-up.
//
// lr(e) for epoch e (0-based) of a span of T epochs (the whole run; with schedule_per_stage the
// current stage's epochs, e counted from the stage's first), base lr L, W = warmup_epochs or
// floor(warmup_ratio * T), e' = e - W:
//   warm-up (e < W): L * (e + 1) / (W + 1)
//   none:    L
//   step:    L * gamma^floor(e' / step_size)
//   cosine:  min_lr + (L - min_lr) * (1 + cos(pi * e' / (T - W))) / 2
//   linear:  L * (T - e) / (T - W)   (Hugging Face's get_linear_schedule_with_warmup per epoch instead
//            of per step: L at the end of warm-up, falling towards 0; the last epoch still trains
//            at L / (T - W))
//   plateau: L * gamma^k, k = decays so far; a decay happens when the monitored metric has not
//            improved for plateau_patience epochs (then the count restarts); never below min_lr.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "merc/train/experiment_config.h"

namespace merc::train {

class LrScheduler {
 public:
  // stage_starts: first epoch of each stage, ascending, starting with 0 (schedule_per_stage);
  // empty = one span over the whole run.
  explicit LrScheduler(const TrainConfig& config, std::vector<int64_t> stage_starts = {});
  // The lr to use during `epoch`.
  double lr_for_epoch(int64_t epoch) const;
  // Reports the end-of-epoch monitored metric (plateau only; others ignore it).
  void observe(double value, bool higher_is_better);
  // Resumable state as a small JSON object.
  std::string state() const;
  void set_state(const std::string& json);

 private:
  TrainConfig config_;
  std::vector<int64_t> stage_starts_;
  double plateau_scale_ = 1.0;
  double best_ = 0.0;
  bool has_best_ = false;
  int64_t bad_epochs_ = 0;
};

struct SchedulerEntry {
  std::string name;
  std::string description;
};
const std::vector<SchedulerEntry>& scheduler_registry();

}  // namespace merc::train
