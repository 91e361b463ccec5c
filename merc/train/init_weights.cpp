#include "merc/train/init_weights.h"

#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/models/upstream/import.h"
#include "merc/models/upstream/registry.h"
#include "merc/train/checkpoint.h"
#include "merc/train/experiment_config.h"

namespace merc::train {
namespace init_weights_detail {

namespace fs = std::filesystem;

std::map<std::string, torch::Tensor> tensors_of(models::Model& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  for (const auto& b : model.named_buffers(/*recurse=*/true)) out[b.key()] = b.value();
  return out;
}

std::string shape_of(const torch::Tensor& t) { return fmt::format("{}", fmt::join(t.sizes().vec(), "x")); }

// A run directory -> its model.pt; a file -> itself.
std::string merc_weights_path(const std::string& from) {
  MERC_CHECK(fs::exists(from), "train.init_from: '{}' does not exist (expected a merc run directory or its model.pt)",
             from);
  if (!fs::is_directory(from)) return from;
  const std::string path = (fs::path(from) / "model.pt").string();
  MERC_CHECK(fs::exists(path), "train.init_from: the run directory '{}' has no model.pt (the run has not finished an "
             "epoch)", from);
  return path;
}

// model.pt -> a scratch model of this run's architecture (torch's loader adopts the file's shapes),
// compared tensor by tensor with `model`, then copied: a mismatch lists every offending tensor.
std::string load_merc(models::Model& model, const models::ModelConfig& config, const std::string& from,
                      const std::function<std::shared_ptr<models::Model>()>& build_scratch) {
  const std::string path = merc_weights_path(from);
  const CheckpointHeader header = read_checkpoint_header(path);
  ExperimentConfig saved;
  apply_yaml_text(saved, header.config_yaml, path + " (config)");
  if (saved.model->name != config.name)
    MERC_FORMAT_ERROR(path, "train.init_from: holds the weights of model '{}', this run builds '{}'", saved.model->name,
                      config.name);
  std::shared_ptr<models::Model> scratch = build_scratch();
  const WeightsInfo info = load_weights(path, *scratch);
  const auto mine = tensors_of(model), theirs = tensors_of(*scratch);
  std::vector<std::string> bad;
  for (const auto& [name, t] : mine) {
    auto it = theirs.find(name);
    if (it == theirs.end()) bad.push_back(name + ": not in the file");
    else if (it->second.sizes() != t.sizes())
      bad.push_back(fmt::format("{}: file {}, model {}", name, shape_of(it->second), shape_of(t)));
  }
  if (!bad.empty())
    MERC_FORMAT_ERROR(path, "train.init_from: the weights do not fit this run's model '{}' (another dataset, "
                      "modalities or model config?): {}", config.name, fmt::join(bad, "; "));
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : mine) t.copy_(theirs.at(name).to(t.device(), t.dtype()));
  return fmt::format("weights from {} (merc names, epoch {})", path, info.epoch);
}

std::string load_upstream(models::Model& model, const models::ModelConfig& config, const models::ModelDims& dims,
                          const std::string& from) {
  MERC_CHECK(fs::exists(from) && !fs::is_directory(from),
             "train.init_from: '{}' is not a file (train.init_names upstream reads a torch.save state_dict, e.g. the "
             "authors' .pth)", from);
  const models::upstream::UpstreamEntry& entry = models::upstream::find_upstream(config.name);
  const models::upstream::NameTable table = entry.table(config, dims);
  const auto state = models::upstream::read_state_dict(from);
  const models::upstream::ImportReport r = models::upstream::load_upstream_state(model, table, state, from);
  return fmt::format("weights from {} (upstream names of {}: {} keys mapped, {} ignored)", from, table.upstream,
                     r.mapped_keys, r.ignored_keys);
}

}  // namespace init_weights_detail

std::string load_initial_weights(models::Model& model, const models::ModelConfig& config,
                                 const models::ModelDims& dims, const InitWeightsRequest& request,
                                 const std::function<std::shared_ptr<models::Model>()>& build_scratch) {
  using namespace init_weights_detail;
  MERC_CHECK(request.names == "merc" || request.names == "upstream",
             "train.init_names: expected merc or upstream, got '{}'", request.names);
  // Building the scratch model draws from the generator: keep the run's streams as without init_from.
  const torch::Tensor rng = torch_rng_state();
  const std::string line = request.names == "merc" ? load_merc(model, config, request.from, build_scratch)
                                                   : load_upstream(model, config, dims, request.from);
  set_torch_rng_state(rng);
  return line;
}

}  // namespace merc::train
