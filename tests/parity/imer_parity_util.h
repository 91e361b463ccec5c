#pragma once
// Shared by the ComP and MoMKE parity tests (tests/parity/comp_parity_test.cpp,
// momke_parity_test.cpp): their fixtures (scripts/parity/comp.py, momke.py) hold a synthetic
// CMU-MOSI dataset in the GCNet label-pickle + feature-folder layout, the authors' state_dict, the
// authors' eval outputs per test utterance and one training step per stage.

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../app/cli_test_util.h"
#include "parity_util.h"
#include "merc/core/error.h"
#include "merc/data/batch.h"
#include "merc/io/binary_file.h"
#include "merc/data/missing_protocol.h"
#include "merc/data/readers/registry.h"
#include "merc/io/npy.h"
#include "merc/models/registry.h"
#include "merc/models/upstream/import.h"
#include "merc/models/upstream/registry.h"
#include "merc/train/evaluate.h"
#include "merc/train/experiment_config.h"
#include "merc/train/losses.h"
#include "merc/train/run_data.h"
#include "merc/train/stage_optimizers.h"

namespace merc::parity {

namespace fs = std::filesystem;

inline fs::path fixture_dir(const std::string& model) { return fs::path(MERC_FIXTURE_DIR) / "parity" / model; }

// An .npy file as a float32 tensor of its shape.
inline torch::Tensor npy_tensor(const fs::path& path) {
  const io::NdArray a = io::read_npy_file(path.string());
  std::vector<float> v = a.to_float32();
  return torch::from_blob(v.data(), a.shape, torch::kFloat).clone();
}

// The fixture's dataset through merc's own readers (gcnet-labels + feature folders).
inline data::Dataset read_fixture_dataset(const fs::path& dir) {
  data::ReadOptions options;
  options.feature_dirs = {{data::Modality::kAudio, dir / "features" / "audio"},
                          {data::Modality::kText, dir / "features" / "text"},
                          {data::Modality::kVisual, dir / "features" / "visual"}};
  return data::read_dataset(dir / "CMUMOSI_features_raw_2way.pkl", options);
}

struct Imported {
  train::ExperimentConfig config;
  data::Dataset dataset;
  models::ModelDims dims;
  std::shared_ptr<models::Model> model;
  models::upstream::NameTable table;
  models::upstream::ImportReport report;
};

// Builds the config's model at the dataset's dims and loads `checkpoint` through the model's
// upstream name table.
inline Imported import_checkpoint(const fs::path& dir, const std::string& checkpoint, const std::string& experiment,
                                  const std::vector<std::string>& overrides) {
  Imported r;
  r.config = published_config(experiment, overrides);
  r.dataset = read_fixture_dataset(dir);
  const data::Task task = train::resolve_task(r.dataset, r.config.data.task);
  r.dims = models::model_dims(r.dataset.info, r.config.model->modalities, task);
  r.model = models::build_model(*r.config.model, r.dims);
  r.table = models::upstream::find_upstream(r.config.model->name).table(*r.config.model, r.dims);
  const std::string path = (dir / checkpoint).string();
  r.report = models::upstream::load_upstream_state(*r.model, r.table, models::upstream::read_state_dict(path), path);
  return r;
}

// merc's evaluation (train::evaluate, batches of `batch_size` consecutive test dialogues in the
// partition's order, as the fixture batched them) -> one regression value per test utterance.
inline std::vector<double> evaluate_test(Imported& r, const std::string& protocol, int stage, int64_t batch_size) {
  const train::RunData rd = train::select_partitions(r.dataset, r.config, /*require_valid=*/false);
  train::EvalOptions options;
  options.protocol = protocol;
  options.stage = stage;
  options.epoch = 0;
  options.batch_size = batch_size;
  options.keep_predictions = true;
  options.protocol_from_stage = 0;  // the protocol is given per case here
  r.model->set_stage(stage);
  const train::TaskLoss loss = train::find_loss("auto", rd.task);
  const train::EvalResult result = train::evaluate(*r.model, rd.test, r.dataset.info, r.dims, loss, options);
  std::vector<double> out;
  for (const auto& p : result.predictions) out.push_back(p.pred_score);
  return out;
}

inline double max_abs_diff(const std::vector<double>& a, const torch::Tensor& b) {
  EXPECT_EQ(static_cast<int64_t>(a.size()), b.numel());
  const auto bf = b.to(torch::kDouble).contiguous();
  double m = 0;
  for (int64_t i = 0; i < std::min<int64_t>(static_cast<int64_t>(a.size()), b.numel()); ++i)
    m = std::max(m, std::abs(a[static_cast<size_t>(i)] - bf.data_ptr<double>()[i]));
  return m;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// The dialogues `ids` of the dataset, in that order.
inline std::vector<const data::Dialogue*> dialogues_by_id(const data::Dataset& ds, const std::vector<std::string>& ids) {
  std::vector<const data::Dialogue*> out;
  for (const auto& id : ids)
    for (const auto& d : ds.dialogues)
      if (d.id == id) out.push_back(&d);
  EXPECT_EQ(out.size(), ids.size());
  return out;
}

// A keep mask in merc's modality order (text, audio, visual) from an (B, T, 3) a/t/v one.
inline torch::Tensor keep_from_atv(const torch::Tensor& atv) {
  torch::Tensor keep = torch::zeros_like(atv, torch::kBool);
  keep.select(2, data::index_of(data::Modality::kAudio)).copy_(atv.select(2, 0) > 0.5);
  keep.select(2, data::index_of(data::Modality::kText)).copy_(atv.select(2, 1) > 0.5);
  keep.select(2, data::index_of(data::Modality::kVisual)).copy_(atv.select(2, 2) > 0.5);
  return keep;
}

struct StepResult {
  double loss = 0;  // the trainer's total: task * task_loss_weight + aux losses
};

// One optimisation step exactly as train::train_model's inner loop does it (trainer.cpp): stage
// switch (set_stage + the stage's optimizers at config.train.lr), train mode, forward, total loss,
// backward, after_backward, step. `seed` seeds torch's generator right before the forward.
inline StepResult train_step(models::Model& model, const train::ExperimentConfig& config, const data::Dataset& ds,
                             const std::vector<const data::Dialogue*>& dialogues, const torch::Tensor& keep_atv,
                             int stage, uint64_t seed) {
  model.set_stage(stage);
  train::StageOptimizers optimizers;
  optimizers.build(model, stage, config.train);
  optimizers.set_lr(config.train.lr);
  model.train();
  data::DialogueBatch batch = data::collate(dialogues, ds.info);
  data::apply_missing(batch, keep_from_atv(keep_atv));
  const train::TaskLoss loss = train::find_loss(config.train.loss, ds.info.task, config.train.loss_options());
  const models::ForwardContext ctx{0, stage, 0};
  model.zero_grad();
  torch::manual_seed(seed);
  const models::ModelOutput out = model.forward(batch, ctx);
  torch::Tensor total = loss.compute(out.logits, batch) * out.task_loss_weight;
  for (const auto& [name, aux] : out.aux_losses) total = total + aux;
  total.backward();
  model.after_backward(ctx, out);
  optimizers.at(0).step();
  model.eval();
  return StepResult{total.item<double>()};
}

// merc's weights after a step (exported under the upstream names) against the upstream's `after`
// state, over every upstream tensor the table maps.
struct WeightDiff {
  int64_t tensors = 0;       // tensors compared
  int64_t elements = 0;      // elements compared
  double max = 0;            // max |merc - upstream| over all elements
  // The same over the elements whose upstream step |after - before| is at least 0.9 lr, i.e. whose
  // Adam update is saturated (|g| >> eps): there a gradient difference cannot move the update.
  double max_saturated = 0;
  int64_t unsaturated = 0;   // elements with 0 < |step| < 0.9 lr (|g| comparable to Adam's eps)
  std::string worst;         // tensor holding `max`
};

inline WeightDiff weight_diff(models::Model& model, const models::upstream::NameTable& table, const fs::path& before,
                              const fs::path& after, double lr) {
  std::map<std::string, torch::Tensor> b, a;
  for (auto& t : models::upstream::read_state_dict(before.string())) b[t.name] = t.value;
  for (auto& t : models::upstream::read_state_dict(after.string())) a[t.name] = t.value;
  WeightDiff r;
  for (const auto& t : models::upstream::export_upstream_state(model, table)) {
    const auto it = a.find(t.name);
    EXPECT_NE(it, a.end()) << t.name;
    if (it == a.end()) continue;
    EXPECT_EQ(t.value.sizes(), it->second.sizes()) << t.name;
    const torch::Tensor diff = (t.value.to(torch::kDouble) - it->second.to(torch::kDouble)).abs();
    const torch::Tensor step = (it->second.to(torch::kDouble) - b.at(t.name).to(torch::kDouble)).abs();
    const torch::Tensor saturated = step >= 0.9 * lr;
    const double m = diff.max().item<double>();
    if (m > r.max) {
      r.max = m;
      r.worst = t.name;
    }
    if (saturated.any().item<bool>())
      r.max_saturated = std::max(r.max_saturated, diff.masked_select(saturated).max().item<double>());
    r.unsaturated += ((step > 0) & ~saturated).sum().item<int64_t>();
    r.elements += t.value.numel();
    ++r.tensors;
  }
  return r;
}

// Exporting the imported model under the upstream names gives back every mapped tensor of the file
// bit for bit (the ignored keys are not produced). Returns the number of tensors compared.
inline int64_t expect_export_round_trip(const Imported& r, const fs::path& checkpoint) {
  std::map<std::string, torch::Tensor> file;
  for (auto& t : models::upstream::read_state_dict(checkpoint.string())) file[t.name] = t.value;
  const auto out = models::upstream::export_upstream_state(*r.model, r.table);
  for (const auto& t : out) {
    EXPECT_TRUE(file.count(t.name)) << t.name;
    if (file.count(t.name)) {
      EXPECT_TRUE(torch::equal(t.value, file[t.name])) << t.name;
    }
  }
  return static_cast<int64_t>(out.size());
}

// The user's path: `merc import-checkpoint` (experiment file, fixture data and feature folders,
// `overrides`) into a run directory under the system temp dir, then `merc predict --partition test
// --protocol P` for each protocol; returns the `pred` column per protocol (CSV order = the
// evaluation's prediction order). The run directory is removed afterwards.
inline std::map<std::string, std::vector<double>> cli_predictions(const fs::path& dir, const std::string& checkpoint,
                                                                   const std::string& experiment,
                                                                   const std::vector<std::string>& overrides,
                                                                   const std::vector<std::string>& protocols) {
  const fs::path tmp = fs::temp_directory_path() / fmt::format("merc_parity_{}_{}", experiment, ::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::vector<std::string> args = {
      "import-checkpoint", "--checkpoint", (dir / checkpoint).string(), "--config",
      (fs::path(MERC_SOURCE_DIR) / "configs" / "experiments" / experiment).string(), "--set",
      "data.path=" + (dir / "CMUMOSI_features_raw_2way.pkl").string(), "--set",
      "data.features=audio=" + (dir / "features/audio").string() + ",text=" + (dir / "features/text").string() +
          ",visual=" + (dir / "features/visual").string(),
      "--set", "train.progress=none", "--threads", "1", "--out", (tmp / "run").string()};
  for (const auto& o : overrides) args.insert(args.end() - 4, {"--set", o});
  std::map<std::string, std::vector<double>> out;
  const app::testing::CliResult imported = app::testing::cli(args);
  EXPECT_EQ(imported.code, 0) << imported.err << imported.out;
  if (imported.code == 0)
    for (const auto& protocol : protocols) {
      const std::string csv = (tmp / "p.csv").string();
      const app::testing::CliResult r = app::testing::cli(
          {"predict", "--run", (tmp / "run").string(), "--partition", "test", "--protocol", protocol, "--out", csv});
      EXPECT_EQ(r.code, 0) << r.err;
      if (r.code != 0) continue;
      std::istringstream lines(io::read_file_bytes(csv));
      std::string line;
      std::getline(lines, line);
      EXPECT_EQ(line, "dialogue_id,utterance_idx,speaker,label,pred");
      while (std::getline(lines, line)) out[protocol].push_back(std::stod(line.substr(line.rfind(',') + 1)));
    }
  fs::remove_all(tmp);
  return out;
}

}  // namespace merc::parity
