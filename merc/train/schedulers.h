#pragma once
// Learning-rate schedules (per epoch), THE scheduler table, and linear warm-up.
//
// lr(e) for epoch e (0-based), base lr L, W = warmup_epochs, e' = e - W:
//   warm-up (e < W): L * (e + 1) / (W + 1)
//   none:    L
//   step:    L * gamma^floor(e' / step_size)
//   cosine:  min_lr + (L - min_lr) * (1 + cos(pi * e' / (epochs - W))) / 2
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
  explicit LrScheduler(const TrainConfig& config);
  // The lr to use during `epoch`.
  double lr_for_epoch(int64_t epoch) const;
  // Reports the end-of-epoch monitored metric (plateau only; others ignore it).
  void observe(double value, bool higher_is_better);
  // Resumable state as a small JSON object.
  std::string state() const;
  void set_state(const std::string& json);

 private:
  TrainConfig config_;
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
