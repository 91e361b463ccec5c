#pragma once
// THE optimizer table (adam, adamw, sgd) and helpers to read/set learning rates per group.
// Each ParamGroup of a model becomes one torch param group whose lr is base_lr * lr_scale.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>

#include "merc/models/model.h"
#include "merc/train/experiment_config.h"

namespace merc::train {

struct OptimizerEntry {
  std::string name;
  std::string description;
  std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::optim::OptimizerParamGroup>,
                                                         const TrainConfig&)>
      make;
};

const std::vector<OptimizerEntry>& optimizer_registry();

// An optimizer over `groups` (empty groups are dropped; no parameters at all -> merc::Error).
// `lr_scales` receives one scale per torch param group, for set_learning_rate.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& config,
                                                        const std::vector<models::ParamGroup>& groups,
                                                        std::vector<double>* lr_scales);

// Sets every param group's lr to lr * scale[i].
void set_learning_rate(torch::optim::Optimizer& opt, double lr, const std::vector<double>& lr_scales);
double learning_rate(const torch::optim::Optimizer& opt, size_t group = 0);

}  // namespace merc::train
