// Parity with the authors' GCNet (zeroQiaoba/GCNet@8cce4a0): the fixtures in
// tests/fixtures/parity/gcnet/ were written by scripts/parity/gcnet.py, which runs the authors'
// own train_gcnet.py functions (build_model, train_or_eval_model) on a small CMU-MOSI-layout
// dataset (label pickle + feature folders) at the published MOSI command with --hidden 12.
// merc reads the same files with its own readers (gcnet-labels + feature folders), imports the
// state_dict through the gcnet name table and must reproduce:
//   - the eval-mode regression output of every test utterance with complete modalities, audio
//     missing everywhere (drop:a) and text + visual missing (drop:tv), and for the --time-attn
//     checkpoint with complete modalities. Batching as upstream: the test loader's batch of 32
//     holds all four test videos, so one batch (the recurrent layers run unpacked on the padded
//     batch, pack: false, merc's default, so the padded length must be the same);
//   - one training step (dropout 0, audio missing everywhere, the three training videos in one
//     batch): MSE loss, reconstruction loss (with recon_reference_rows, the reference's row
//     order), gradients and the weights after Adam(lr 1e-3, weight decay 1e-5).

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "parity_util.h"
#include "merc/core/error.h"
#include "merc/data/missing_protocol.h"
#include "merc/data/readers/registry.h"
#include "merc/io/npy.h"
#include "merc/models/registry.h"
#include "merc/models/upstream/import.h"
#include "merc/models/upstream/registry.h"
#include "merc/train/evaluate.h"
#include "merc/train/experiment_config.h"
#include "merc/train/losses.h"
#include "merc/train/optimizers.h"

namespace merc::gcnet_parity {
namespace {

namespace fs = std::filesystem;

// Forward tolerance (float32): merc and torch run the same LSTM kernels, but the graph layers
// aggregate in another order (PyG scatter-mean / scatter-add vs merc's index_add), the feature
// folders are averaged in double by merc and in float32 by numpy, and the values pass through four
// stacked LSTM layers; observed differences are a few float32 ulps of outputs of size ~1, so
// 1e-5 leaves a wide margin and still catches any real difference (a wrong weight, gate or
// relation moves outputs by 1e-2 or more).
constexpr double kForwardTol = 1e-5;
// Loss and gradients: sums over all utterances and feature entries, same float32 argument.
constexpr double kLossTol = 1e-5;
constexpr double kGradTol = 1e-5;
// Weights after one Adam step: the update is lr * m / (sqrt(v) + eps), about lr * sign(g) on the
// first step, so a gradient within kGradTol moves the weight by far less than 1e-6.
constexpr double kStepTol = 1e-6;

const fs::path& fixture_dir() {
  static const fs::path dir = fs::path(MERC_SOURCE_DIR) / "tests" / "fixtures" / "parity" / "gcnet";
  return dir;
}

torch::Tensor read_npy(const std::string& name) {
  const io::NdArray a = io::read_npy_file((fixture_dir() / name).string());
  EXPECT_EQ(a.dtype, io::DType::kFloat32) << name;
  torch::Tensor t = torch::empty(a.shape, torch::kFloat);
  std::memcpy(t.data_ptr(), a.data.data(), a.data.size());
  return t;
}

data::Dataset read_fixture_dataset() {
  data::ReadOptions options;
  options.format = "gcnet-labels";
  options.feature_dirs = {{data::Modality::kAudio, fixture_dir() / "features" / "wav2vec-large-c-UTT"},
                          {data::Modality::kText, fixture_dir() / "features" / "deberta-large-4-UTT"},
                          {data::Modality::kVisual, fixture_dir() / "features" / "manet_UTT"}};
  return data::read_dataset(fixture_dir() / "CMUMOSI_features_raw_2way.pkl", options);
}

// The published MOSI experiment file at the fixture's size, with the checkpoint's relation order
// (scripts/parity/gcnet.py runs with PYTHONHASHSEED=4: now, future, past; meta.json).
train::ExperimentConfig parity_config(std::vector<std::string> extra = {}) {
  std::vector<std::string> overrides = {"model.hidden_dim=12", "model.upstream_temporal_relations=now,future,past"};
  for (auto& e : extra) overrides.push_back(std::move(e));
  return parity::published_config("gcnet_mosi_published.yaml", overrides);
}

struct Imported {
  std::shared_ptr<models::Model> model;
  models::ModelDims dims;
  models::upstream::ImportReport report;
};

Imported import_checkpoint(const train::ExperimentConfig& config, const data::Dataset& ds, const std::string& file) {
  Imported out;
  out.dims = models::model_dims(ds.info, config.model->modalities, ds.info.task);
  out.model = models::build_model(*config.model, out.dims);
  const auto table = models::upstream::find_upstream("gcnet").table(*config.model, out.dims);
  const std::string path = (fixture_dir() / file).string();
  out.report = models::upstream::load_upstream_state(*out.model, table, models::upstream::read_state_dict(path), path);
  return out;
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// merc's evaluation on the test videos in one batch (as the reference's test loader of 32), the
// outputs in test_uids.txt order.
torch::Tensor merc_test_outputs(Imported& imp, const data::Dataset& ds, const std::string& protocol) {
  train::EvalOptions options;
  options.protocol = protocol;
  options.batch_size = 32;
  options.keep_predictions = true;
  const auto test = ds.partition("test");
  const train::TaskLoss loss = train::find_loss("auto", ds.info.task);
  const train::EvalResult result = train::evaluate(*imp.model, test, ds.info, imp.dims, loss, options);
  std::map<std::string, double> by_uid;
  for (const auto& p : result.predictions) {
    const data::Dialogue* dlg = nullptr;
    for (const auto* d : test)
      if (d->id == p.dialogue_id) dlg = d;
    by_uid[dlg->utterances[static_cast<size_t>(p.utterance_idx)].id] = p.pred_score;
  }
  const auto uids = read_lines(fixture_dir() / "test_uids.txt");
  torch::Tensor out = torch::empty({static_cast<int64_t>(uids.size())}, torch::kDouble);
  for (size_t i = 0; i < uids.size(); ++i) out[static_cast<int64_t>(i)] = by_uid.at(uids[i]);
  return out;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

TEST(GcnetParity, ImportsEveryKeyOfTheAuthorsCheckpoint) {
  const data::Dataset ds = read_fixture_dataset();
  const Imported imp = import_checkpoint(parity_config(), ds, "checkpoint.pth");
  // 48 LSTM tensors (3 LSTMs x 2 layers x 2 directions x 4) + 2 x (3 RGCN + 3 GraphConv + 2
  // linear) + smax_fc, linear_rec (4) = 68 mapped; the GRU (16) and both MatchingAttentions (4)
  // ignored.
  EXPECT_EQ(imp.report.mapped_keys, 68);
  EXPECT_EQ(imp.report.ignored_keys, 20);
  EXPECT_EQ(imp.report.upstream_keys, 88);
}

class GcnetForwardParity : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(GcnetForwardParity, ReproducesTheAuthorsTestOutputs) {
  const auto& [protocol, file] = GetParam();
  const data::Dataset ds = read_fixture_dataset();
  Imported imp = import_checkpoint(parity_config(), ds, "checkpoint.pth");
  const torch::Tensor expected = read_npy(file);
  const torch::Tensor got = merc_test_outputs(imp, ds, protocol);
  const double diff = max_abs_diff(got, expected);
  RecordProperty("max_abs_diff", std::to_string(diff));
  std::cout << "[gcnet parity] " << protocol << ": max |merc - upstream| = " << diff << "\n";
  EXPECT_LT(diff, kForwardTol);
  EXPECT_GT(expected.abs().max().item<double>(), 1e-2);  // not a trivially zero output
}

INSTANTIATE_TEST_SUITE_P(Masks, GcnetForwardParity,
                         ::testing::Values(std::make_pair(std::string("complete"), std::string("pred_complete.npy")),
                                           std::make_pair(std::string("drop:a"), std::string("pred_drop_a.npy")),
                                           std::make_pair(std::string("drop:tv"), std::string("pred_drop_tv.npy"))));

TEST(GcnetParity, ReproducesTheTimeAttnCheckpoint) {
  const data::Dataset ds = read_fixture_dataset();
  Imported imp = import_checkpoint(parity_config({"model.time_attn=true"}), ds, "checkpoint_time_attn.pth");
  EXPECT_EQ(imp.report.ignored_keys, 16);  // only the GRU: both MatchingAttentions are used
  const double diff = max_abs_diff(merc_test_outputs(imp, ds, "complete"), read_npy("pred_time_attn_complete.npy"));
  std::cout << "[gcnet parity] time_attn complete: max |merc - upstream| = " << diff << "\n";
  EXPECT_LT(diff, kForwardTol);
}

TEST(GcnetParity, RelationOrderMatters) {
  // The same checkpoint read with merc's own relation order (as if it came from a run whose
  // Python set iterated past, now, future) gives other outputs: the option is needed.
  const data::Dataset ds = read_fixture_dataset();
  train::ExperimentConfig config = parity_config({"model.upstream_temporal_relations=past,now,future"});
  Imported imp = import_checkpoint(config, ds, "checkpoint.pth");
  EXPECT_GT(max_abs_diff(merc_test_outputs(imp, ds, "complete"), read_npy("pred_complete.npy")), 1e-4);
}

TEST(GcnetParity, OneTrainingStepMatches) {
  const data::Dataset ds = read_fixture_dataset();
  // Dropout 0 as the fixture's step (--dropout 0.0); the reference's reconstruction-loss rows.
  const train::ExperimentConfig config = parity_config({"model.dropout=0", "model.recon_reference_rows=true"});
  Imported imp = import_checkpoint(config, ds, "checkpoint.pth");
  std::ifstream in(fixture_dir() / "step.json");
  const nlohmann::json step = nlohmann::json::parse(in);

  data::DialogueBatch batch = data::collate(ds.partition("train"), ds.info);
  auto protocol = data::make_missing_protocol("drop:a", 0);
  data::apply_missing(batch, protocol->draw(batch, data::BatchPosition{}));
  imp.model->train();
  const models::ModelOutput out = imp.model->forward(batch, models::ForwardContext{});
  const torch::Tensor task_loss = train::find_loss("auto", ds.info.task).compute(out.logits, batch);
  const torch::Tensor recon = out.aux_losses.at("recon");
  const double d_mse = std::abs(task_loss.item<double>() - step["loss1_mse"].get<double>());
  const double d_recon = std::abs(recon.item<double>() - step["loss2_recon"].get<double>());
  std::cout << "[gcnet parity] step: |d mse| = " << d_mse << ", |d recon| = " << d_recon << "\n";
  EXPECT_LT(d_mse, kLossTol);
  EXPECT_LT(d_recon, kLossTol);

  std::vector<double> scales;
  auto optimizer = train::make_optimizer(config.train, imp.model->parameter_groups(0), &scales);
  optimizer->zero_grad();
  (task_loss + recon).backward();
  // The upstream names of the recorded tensors -> merc names through the table's copy rules
  // (the relation-permuted RGCN weight is compared in merc's order).
  const auto table = models::upstream::find_upstream("gcnet").table(*config.model, imp.dims);
  std::map<std::string, torch::Tensor> grads_before_step;
  auto params = imp.model->named_parameters();
  const auto keys = step["keys"].get<std::vector<std::string>>();
  auto merc_name = [&](const std::string& up) {
    for (const auto& r : table.rules)
      if (r.upstream.size() == 1 && r.upstream[0] == up) return std::make_pair(r.merc[0], bool(r.to_upstream));
    ADD_FAILURE() << "no rule for " << up;
    return std::make_pair(std::string(), false);
  };
  for (const auto& k : keys) grads_before_step[k] = params[merc_name(k).first].grad().clone();
  optimizer->step();
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto [name, permuted] = merc_name(keys[i]);
    const auto rule_it = std::find_if(table.rules.begin(), table.rules.end(),
                                      [&](const auto& r) { return r.merc.size() == 1 && r.merc[0] == name; });
    auto to_upstream = [&](const torch::Tensor& t) { return permuted ? rule_it->to_upstream({t})[0] : t; };
    const std::string idx = (i < 10 ? "0" : "") + std::to_string(i);
    const double dg = max_abs_diff(to_upstream(grads_before_step[keys[i]]), read_npy("step_grad_" + idx + ".npy"));
    const double dw = max_abs_diff(to_upstream(params[name].detach()), read_npy("step_after_" + idx + ".npy"));
    std::cout << "[gcnet parity] step " << keys[i] << ": grad " << dg << ", weight " << dw << "\n";
    EXPECT_LT(dg, kGradTol) << keys[i];
    EXPECT_LT(dw, kStepTol) << keys[i];
  }
}

TEST(GcnetParity, OlderPygGraphConvNames) {
  // PyG before 2.0.2 (GCNet's environment.yml pins 2.0.1) names GraphConv's weights lin_l
  // (neighbours) / lin_r (root): the same checkpoint under those names loads with
  // upstream_graph_conv: lin_l, and is refused under the default names with the keys listed.
  const data::Dataset ds = read_fixture_dataset();
  auto state = models::upstream::read_state_dict((fixture_dir() / "checkpoint.pth").string());
  for (auto& t : state) {
    for (const auto& [from, to] : {std::pair<std::string, std::string>{".lin_rel.", ".lin_l."}, {".lin_root.", ".lin_r."}}) {
      const auto at = t.name.find(from);
      if (at != std::string::npos) t.name.replace(at, from.size(), to);
    }
  }
  const train::ExperimentConfig config = parity_config({"model.upstream_graph_conv=lin_l"});
  const models::ModelDims dims = models::model_dims(ds.info, config.model->modalities, ds.info.task);
  auto model = models::build_model(*config.model, dims);
  EXPECT_NO_THROW(models::upstream::load_upstream_state(
      *model, models::upstream::find_upstream("gcnet").table(*config.model, dims), state, "renamed"));

  const train::ExperimentConfig plain = parity_config();
  auto model2 = models::build_model(*plain.model, dims);
  try {
    models::upstream::load_upstream_state(*model2, models::upstream::find_upstream("gcnet").table(*plain.model, dims),
                                          state, "renamed");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("graph_net_temporal.conv2.lin_l.weight"), std::string::npos) << e.what();
  }
}

TEST(GcnetParity, WrongSizeCheckpointListsTheKeys) {
  // The fixture checkpoint (hidden 12) into the published size (hidden 200): shape errors that
  // name the keys.
  const data::Dataset ds = read_fixture_dataset();
  const train::ExperimentConfig config =
      parity::published_config("gcnet_mosi_published.yaml", {"model.upstream_temporal_relations=now,future,past"});
  try {
    import_checkpoint(config, ds, "checkpoint.pth");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("lstm.weight_ih_l0"), std::string::npos) << what;
    EXPECT_NE(what.find("graph_net_temporal.conv1.root"), std::string::npos) << what;
    // every tensor whose shape depends on the hidden size (all but smax_fc.bias, linear_rec.bias)
    EXPECT_NE(what.find("shape mismatches (66)"), std::string::npos) << what;
  }
}

TEST(GcnetParity, BadRelationOrderIsAnError) {
  const data::Dataset ds = read_fixture_dataset();
  EXPECT_THROW(import_checkpoint(parity_config({"model.upstream_temporal_relations=now,past"}), ds, "checkpoint.pth"),
               Error);
  EXPECT_THROW(import_checkpoint(parity_config({"model.upstream_temporal_relations=now,now,past"}), ds, "checkpoint.pth"),
               Error);
}

}  // namespace
}  // namespace merc::gcnet_parity
