#include "merc/train/optimizers.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "merc/core/error.h"
#include "merc/core/registry.h"

namespace merc::train {

namespace optimizer_detail {
// The options classes of the registry's optimizers share no weight_decay setter.
void set_weight_decay(torch::optim::OptimizerOptions& options, double wd) {
  if (auto* o = dynamic_cast<torch::optim::AdamOptions*>(&options)) o->weight_decay(wd);
  else if (auto* o = dynamic_cast<torch::optim::AdamWOptions*>(&options)) o->weight_decay(wd);
  else if (auto* o = dynamic_cast<torch::optim::SGDOptions*>(&options)) o->weight_decay(wd);
  else throw Error("a parameter group's weight_decay override is not supported by this optimizer");
}
}  // namespace optimizer_detail

const std::vector<OptimizerEntry>& optimizer_registry() {
  using torch::optim::OptimizerParamGroup;
  static const std::vector<OptimizerEntry> table = registry_checked(
      std::vector<OptimizerEntry>{
          {"adam", "Adam (Kingma & Ba 2015); weight_decay is an L2 term added to the gradient",
           [](std::vector<OptimizerParamGroup> g, const TrainConfig& c) -> std::unique_ptr<torch::optim::Optimizer> {
             return std::make_unique<torch::optim::Adam>(
                 std::move(g), torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
           }},
          {"adamw", "AdamW (Loshchilov & Hutter 2019); decoupled weight decay",
           [](std::vector<OptimizerParamGroup> g, const TrainConfig& c) -> std::unique_ptr<torch::optim::Optimizer> {
             return std::make_unique<torch::optim::AdamW>(
                 std::move(g), torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
           }},
          {"sgd", "SGD with momentum (train.momentum) and L2 weight decay",
           [](std::vector<OptimizerParamGroup> g, const TrainConfig& c) -> std::unique_ptr<torch::optim::Optimizer> {
             return std::make_unique<torch::optim::SGD>(
                 std::move(g), torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay));
           }},
      },
      "optimizer");
  return table;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& config,
                                                        const std::vector<models::ParamGroup>& groups,
                                                        std::vector<double>* lr_scales) {
  const OptimizerEntry& entry = registry_find(optimizer_registry(), config.optimizer, "optimizer");
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  std::vector<double> scales;
  std::vector<double> decays;
  for (const auto& g : groups) {
    std::vector<torch::Tensor> params;
    for (const auto& p : g.params)
      if (p.requires_grad()) params.push_back(p);
    if (params.empty()) continue;
    torch_groups.emplace_back(std::move(params));
    scales.push_back(g.lr_scale);
    decays.push_back(g.weight_decay);
  }
  MERC_CHECK(!torch_groups.empty(), "the model has no trainable parameters in this stage");
  auto opt = entry.make(std::move(torch_groups), config);
  // Param groups added by the constructor get the default options; apply the per-group scales
  // and weight-decay overrides.
  set_learning_rate(*opt, config.lr, scales);
  for (size_t i = 0; i < decays.size(); ++i)
    if (decays[i] >= 0) optimizer_detail::set_weight_decay(opt->param_groups()[i].options(), decays[i]);
  if (lr_scales) *lr_scales = scales;
  return opt;
}

void set_learning_rate(torch::optim::Optimizer& opt, double lr, const std::vector<double>& lr_scales) {
  auto& groups = opt.param_groups();
  for (size_t i = 0; i < groups.size(); ++i)
    groups[i].options().set_lr(lr * (i < lr_scales.size() ? lr_scales[i] : 1.0));
}

double learning_rate(const torch::optim::Optimizer& opt, size_t group) {
  return opt.param_groups().at(group).options().get_lr();
}

}  // namespace merc::train
