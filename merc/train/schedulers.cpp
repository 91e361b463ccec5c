#include "merc/train/schedulers.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/core/registry.h"

namespace merc::train {

const std::vector<SchedulerEntry>& scheduler_registry() {
  static const std::vector<SchedulerEntry> table = registry_checked(
      std::vector<SchedulerEntry>{
          {"none", "constant lr"},
          {"step", "multiply by gamma every step_size epochs"},
          {"cosine", "cosine annealing from lr to min_lr over the epochs after warm-up"},
          {"plateau", "multiply by gamma after plateau_patience epochs without improvement of the selection metric"},
          {"linear", "linear decay from lr towards 0 over the epochs after warm-up (Hugging Face's linear schedule)"},
      },
      "scheduler");
  return table;
}

LrScheduler::LrScheduler(const TrainConfig& config, std::vector<int64_t> stage_starts)
    : config_(config), stage_starts_(std::move(stage_starts)) {
  registry_find(scheduler_registry(), config.scheduler, "scheduler");
  MERC_CHECK(config.warmup_epochs >= 0, "train.warmup_epochs must be >= 0, got {}", config.warmup_epochs);
  MERC_CHECK(config.warmup_ratio >= 0 && config.warmup_ratio < 1, "train.warmup_ratio must be in [0, 1), got {}",
             config.warmup_ratio);
  MERC_CHECK(config.warmup_epochs == 0 || config.warmup_ratio == 0,
             "train.warmup_epochs ({}) and train.warmup_ratio ({}) are exclusive: set one", config.warmup_epochs,
             config.warmup_ratio);
  MERC_CHECK(stage_starts_.empty() || stage_starts_.front() == 0, "LrScheduler: stage starts must begin at epoch 0");
  MERC_CHECK(config.scheduler != "step" || config.step_size >= 1, "train.step_size must be >= 1, got {}",
             config.step_size);
  MERC_CHECK(config.gamma > 0 && config.gamma <= 1, "train.gamma must be in (0, 1], got {}", config.gamma);
}

double LrScheduler::lr_for_epoch(int64_t epoch) const {
  const double base = config_.lr;
  // The span the epoch belongs to: the whole run, or its stage.
  int64_t start = 0, end = config_.epochs;
  for (size_t i = 0; i < stage_starts_.size(); ++i)
    if (stage_starts_[i] <= epoch) {
      start = stage_starts_[i];
      end = i + 1 < stage_starts_.size() ? stage_starts_[i + 1] : config_.epochs;
    }
  const int64_t span = std::max<int64_t>(1, end - start);
  const int64_t local = epoch - start;
  const int64_t w = config_.warmup_ratio > 0
                        ? static_cast<int64_t>(std::floor(config_.warmup_ratio * static_cast<double>(span)))
                        : config_.warmup_epochs;
  if (local < w) return base * static_cast<double>(local + 1) / static_cast<double>(w + 1);
  const int64_t e = local - w;
  const std::string& kind = config_.scheduler;
  if (kind == "step") return base * std::pow(config_.gamma, static_cast<double>(e / config_.step_size));
  if (kind == "linear")
    return base * static_cast<double>(span - local) / static_cast<double>(std::max<int64_t>(1, span - w));
  if (kind == "cosine") {
    const double cos_span = static_cast<double>(std::max<int64_t>(1, span - w));
    const double lo = std::min(config_.min_lr, base);
    return lo + (base - lo) * (1.0 + std::cos(M_PI * static_cast<double>(e) / cos_span)) / 2.0;
  }
  if (kind == "plateau") return std::max(std::min(config_.min_lr, base), base * plateau_scale_);
  return base;
}

void LrScheduler::observe(double value, bool higher_is_better) {
  if (config_.scheduler != "plateau" || !std::isfinite(value)) return;
  const bool better = !has_best_ || (higher_is_better ? value > best_ : value < best_);
  if (better) {
    best_ = value;
    has_best_ = true;
    bad_epochs_ = 0;
    return;
  }
  if (++bad_epochs_ >= config_.plateau_patience) {
    plateau_scale_ *= config_.gamma;
    bad_epochs_ = 0;
  }
}

std::string LrScheduler::state() const {
  nlohmann::json j = {{"plateau_scale", plateau_scale_}, {"best", best_}, {"has_best", has_best_}, {"bad_epochs", bad_epochs_}};
  return j.dump();
}

void LrScheduler::set_state(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    plateau_scale_ = j.at("plateau_scale").get<double>();
    best_ = j.at("best").get<double>();
    has_best_ = j.at("has_best").get<bool>();
    bad_epochs_ = j.at("bad_epochs").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("scheduler state in checkpoint is malformed: ") + e.what());
  }
}

}  // namespace merc::train
