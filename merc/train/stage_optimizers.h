#pragma once
// The optimizers of one training stage, built from the model's TrainingHooks: with one substep,
// all of the stage's parameter groups in one optimizer (each group its own lr scale); with S > 1
// substeps, one optimizer per group, and substep s steps for_substep(s) =
// substep_plan(stage, s).optimizer (checked to name an existing group).

#include <memory>
#include <vector>

#include <torch/optim/optimizer.h>

#include "merc/core/error.h"
#include "merc/models/model.h"
#include "merc/train/experiment_config.h"
#include "merc/train/optimizers.h"

namespace merc::train {

class StageOptimizers {
 public:
  void build(models::Model& model, int stage, const TrainConfig& config) {
    owned_.clear();
    scales_.clear();
    const auto groups = model.parameter_groups(stage);
    const int substeps = model.substeps(stage);
    MERC_CHECK(substeps >= 1, "model stage {} declares {} substeps", stage, substeps);
    if (substeps == 1) {
      std::vector<double> s;
      owned_.push_back(make_optimizer(config, groups, &s));
      scales_.push_back(s);
    } else {
      for (const auto& g : groups) {
        std::vector<double> s;
        owned_.push_back(make_optimizer(config, {g}, &s));
        scales_.push_back(s);
      }
      for (int s = 0; s < substeps; ++s) {
        const int o = model.substep_plan(stage, s).optimizer;
        MERC_CHECK(o >= 0 && o < static_cast<int>(groups.size()),
                   "model stage {} substep {} steps optimizer {} but the stage has {} parameter groups", stage, s, o,
                   groups.size());
      }
    }
  }
  std::vector<torch::optim::Optimizer*> raw() const {
    std::vector<torch::optim::Optimizer*> out;
    for (const auto& o : owned_) out.push_back(o.get());
    return out;
  }
  void set_lr(double lr) {
    for (size_t i = 0; i < owned_.size(); ++i) set_learning_rate(*owned_[i], lr, scales_[i]);
  }
  torch::optim::Optimizer& at(size_t i) { return *owned_.at(i); }

 private:
  std::vector<std::unique_ptr<torch::optim::Optimizer>> owned_;
  std::vector<std::vector<double>> scales_;
};

}  // namespace merc::train
