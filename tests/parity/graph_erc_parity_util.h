#pragma once
// Shared steps of the M3Net / MoED parity tests (moed_parity_test.cpp, m3net_parity_test.cpp):
// the fixtures under tests/fixtures/parity/{moed,m3net} were written by scripts/parity/moed.py and
// m3net.py from the authors' code (see their docstrings). A test builds merc's model from the
// published-command config (+ the fixture's sizes), imports the fixture checkpoint through the
// model's upstream name table, reads the fixture dataset with merc's own reader, and compares.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "parity_util.h"
#include "merc/data/batch.h"
#include "merc/data/readers/registry.h"
#include "merc/io/npy.h"
#include "merc/io/npz.h"
#include "merc/models/registry.h"
#include "merc/models/upstream/import.h"
#include "merc/models/upstream/registry.h"
#include "merc/train/evaluate.h"
#include "merc/train/experiment_config.h"
#include "merc/train/losses.h"
#include "merc/train/optimizers.h"

namespace merc::parity::graph_erc {

namespace fs = std::filesystem;

// Tolerances of the M3Net / MoED parity tests (float32 on both sides):
// Probabilities: the same function in float32 (2 GRU layers, up to 6 + 3 graph layers) differs
// in summation order only (BLAS blocking, PyG's scatter-add vs merc's index_add); measured max
// differences are in docs/parity/{moed,m3net}.md (<= 1e-7). 1e-6 keeps a margin and is still
// 1000 times below what a behavioural difference moves (a wrong edge, norm or speaker letter moves
// these probabilities by >= 1e-3).
constexpr double kProbTol = 1e-6;
// The fused representation z is unnormalised (|z| up to ~10): relative to max(1, max |z|).
constexpr double kFusedRelTol = 1e-5;
// One training step: the loss relative 1e-5 (float32 loss; merc's IEMOCAP class weights are the
// reference's 1/freq rounded to 6 decimals in the config, 2e-8 relative); gradients relative to each
// tensor's largest entry 1e-4 (float32 backward through the same graph; measured <= 1e-6); weights
// after Adam's first step absolute 5e-6: that step moves a weight by lr * g / (|g| + eps), about
// lr = 1e-4 towards -sign(g), so a wrong gradient sign shows as 2e-4; entries whose gradient is
// near eps = 1e-8 amplify float32 gradient rounding (measured up to 6e-7, M3Net's linear_l).
constexpr double kLossRelTol = 1e-5;
constexpr double kGradRelTol = 1e-4;
constexpr double kWeightTol = 5e-6;

inline fs::path fixture_dir(const std::string& sub) {
  return fs::path(MERC_SOURCE_DIR) / "tests" / "fixtures" / "parity" / sub;
}

inline torch::Tensor to_tensor(const io::NdArray& a) {
  std::vector<int64_t> shape = a.shape;
  if (io::is_integer_dtype(a.dtype)) {
    const auto v = a.to_int64();
    return torch::tensor(v, torch::kInt64).reshape(shape);
  }
  const auto v = a.to_float32();
  return torch::tensor(v, torch::kFloat32).reshape(shape);
}

inline torch::Tensor read_npy(const fs::path& p) { return to_tensor(io::read_npy_file(p.string())); }

inline std::map<std::string, torch::Tensor> read_npz(const fs::path& p) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [k, v] : io::read_npz_file(p.string())) out[k] = to_tensor(v);
  return out;
}

struct Imported {
  data::Dataset dataset;
  models::ModelDims dims;
  std::shared_ptr<models::Model> model;
  models::upstream::NameTable table;
  models::upstream::ImportReport report;
};

// Reads the fixture dataset (merc's reader, format detected), builds the model and imports the
// fixture checkpoint through the registered name table.
inline Imported import_fixture(const train::ExperimentConfig& cfg, const fs::path& data_file,
                               const fs::path& checkpoint) {
  Imported r;
  r.dataset = data::read_dataset(data_file);
  r.dims = models::model_dims(r.dataset.info, cfg.model->modalities, r.dataset.info.task);
  r.model = models::build_model(*cfg.model, r.dims);
  r.table = models::upstream::find_upstream(cfg.model->name).table(*cfg.model, r.dims);
  const auto state = models::upstream::read_state_dict(checkpoint.string());
  r.report = models::upstream::load_upstream_state(*r.model, r.table, state, checkpoint.string());
  return r;
}

// merc's evaluation of the test partition in file order, batch_size = train.batch_size (the
// upstream test loader: unshuffled, the command's --batch-size).
inline train::EvalResult evaluate_test(const train::ExperimentConfig& cfg, Imported& im) {
  im.model->eval();
  auto opts = train::evaluation_options(cfg, torch::kCPU);
  opts.keep_predictions = true;
  opts.keep_features = true;
  const auto loss = train::find_loss(cfg.train.loss, im.dataset.info.task, cfg.train.loss_options());
  return train::evaluate(*im.model, im.dataset.partition("test"), im.dataset.info, im.dims, loss, opts);
}

inline torch::Tensor probabilities(const train::EvalResult& r) {
  std::vector<torch::Tensor> rows;
  for (const auto& p : r.predictions) rows.push_back(torch::tensor(p.probabilities, torch::kFloat32));
  return torch::stack(rows);
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// The merc name that a plain-copy rule of `table` fills from upstream `key` ("" when none).
inline std::string merc_name_of(const models::upstream::NameTable& table, const std::string& key) {
  for (const auto& r : table.rules)
    if (r.upstream.size() == 1 && r.upstream[0] == key && !r.to_merc) return r.merc[0];
  return "";
}

inline std::map<std::string, torch::Tensor> merc_tensors(models::Model& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters(true)) out[p.key()] = p.value();
  for (const auto& b : m.named_buffers(true)) out[b.key()] = b.value();
  return out;
}

struct StepResult {
  double loss = 0.0;
  std::map<std::string, torch::Tensor> grads;    // merc name -> gradient before the step
  std::map<std::string, torch::Tensor> weights;  // merc name -> value after the step
};

// ONE training step as the fixture script did it: the train partition in file order as one batch,
// model.train(), the task loss of the config, backward, the config's optimizer step.
inline StepResult train_step(const train::ExperimentConfig& cfg, Imported& im) {
  im.model->train();
  const auto dialogues = im.dataset.partition("train");
  const data::DialogueBatch batch = data::collate(dialogues, im.dataset.info);
  std::vector<double> scales;
  auto opt = train::make_optimizer(cfg.train, im.model->parameter_groups(0), &scales);
  opt->zero_grad();
  const auto out = im.model->forward(batch, models::ForwardContext{});
  const auto loss = train::find_loss(cfg.train.loss, im.dataset.info.task, cfg.train.loss_options());
  torch::Tensor l = loss.compute(out.logits, batch);
  l.backward();
  StepResult r;
  r.loss = l.item<double>();
  for (const auto& p : im.model->named_parameters(true))
    if (p.value().grad().defined()) r.grads[p.key()] = p.value().grad().detach().clone();
  opt->step();
  for (const auto& [k, v] : merc_tensors(*im.model)) r.weights[k] = v.detach().clone();
  return r;
}

// Largest |merc - upstream| over the fixture's recorded tensors (upstream names, mapped through
// the table), each divided by max(floor, max |upstream tensor|): floor 1 = absolute differences
// for weights of magnitude <= 1; a tiny floor = relative differences (gradients).
inline double max_mapped_diff(const models::upstream::NameTable& table,
                              const std::map<std::string, torch::Tensor>& expected,
                              const std::map<std::string, torch::Tensor>& got, double floor,
                              std::string* worst = nullptr) {
  double m = 0.0;
  for (const auto& [key, value] : expected) {
    const std::string name = merc_name_of(table, key);
    EXPECT_FALSE(name.empty()) << key << " has no plain rule";
    auto it = got.find(name);
    EXPECT_TRUE(it != got.end()) << "merc has no " << name << " (upstream " << key << ")";
    if (name.empty() || it == got.end()) continue;
    const double scale = std::max(floor, value.to(torch::kDouble).abs().max().item<double>());
    const double d = max_abs_diff(it->second.to(torch::kFloat32).reshape(value.sizes()), value.to(torch::kFloat32)) /
                     scale;
    if (d > m) {
      m = d;
      if (worst) *worst = key;
    }
  }
  return m;
}

}  // namespace merc::parity::graph_erc
