// Parity with the authors' MMGCN (hujingwen6666/MMGCN@85732d9): the fixtures in
// tests/fixtures/parity/mmgcn/ were written by scripts/parity/mmgcn.py, which builds the
// authors' DialogueGCNModel exactly as train.py does for run.sh's IEMOCAP command (published,
// hard-coded sizes: D_e 100, graph_h 100, 64 GCNII layers; synthetic feature dims) and runs it on
// a small IEMOCAP_features.pkl written as Python 2 pickled it. merc reads that file with its own
// reader (m3net-iemocap), imports {'net': state_dict} through the mmgcn name table and must
// reproduce:
//   - the eval-mode class probabilities of every test utterance (the test loader's batch of 16
//     holds the three test dialogues, so one batch; the text LSTM runs unpacked on the padded
//     batch, packed_rnn: false, merc's default);
//   - one training step (dropout 0, the four training dialogues in one batch, class-weighted
//     NLL): loss, gradients and weights after Adam(lr 3e-4, weight decay 3e-5).
// Also: a checkpoint of another model (GCNet's) is refused with its keys listed, and the MMGCN
// checkpoint into gcnet likewise.

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
#include "merc/data/readers/registry.h"
#include "merc/io/npy.h"
#include "merc/models/registry.h"
#include "merc/models/upstream/import.h"
#include "merc/models/upstream/registry.h"
#include "merc/train/evaluate.h"
#include "merc/train/experiment_config.h"
#include "merc/train/losses.h"
#include "merc/train/optimizers.h"

namespace merc::mmgcn_parity {
namespace {

namespace fs = std::filesystem;

// Probabilities (float32): 64 GCNII layers of 100-wide matmuls and a similarity graph through
// acos; merc propagates per dialogue block instead of one dense (3N x 3N) product, so sums run in
// another order. Differences are float32 rounding (~1e-7 relative per op) accumulated over the
// stack; 1e-5 on probabilities of size ~0.2 is far below any real difference (a misplaced
// weight or a transposed block moves them by 1e-2).
constexpr double kForwardTol = 1e-5;
constexpr double kLossTol = 1e-5;
constexpr double kGradTol = 1e-5;
constexpr double kStepTol = 1e-6;  // one Adam step moves a weight by ~lr * sign(g) = 3e-4

const fs::path& fixture_dir() {
  static const fs::path dir = fs::path(MERC_SOURCE_DIR) / "tests" / "fixtures" / "parity" / "mmgcn";
  return dir;
}

torch::Tensor read_npy(const fs::path& path) {
  const io::NdArray a = io::read_npy_file(path.string());
  EXPECT_EQ(a.dtype, io::DType::kFloat32) << path;
  torch::Tensor t = torch::empty(a.shape, torch::kFloat);
  std::memcpy(t.data_ptr(), a.data.data(), a.data.size());
  return t;
}

data::Dataset read_fixture_dataset() {
  data::ReadOptions options;
  options.format = "m3net-iemocap";  // detection expects the real feature dims (textCNN 100, ...)
  return data::read_dataset(fixture_dir() / "IEMOCAP_features" / "IEMOCAP_features.pkl", options);
}

train::ExperimentConfig parity_config(std::vector<std::string> overrides = {}) {
  return parity::published_config("mmgcn_iemocap.yaml", overrides);
}

struct Imported {
  std::shared_ptr<models::Model> model;
  models::ModelDims dims;
  models::upstream::ImportReport report;
};

Imported import_into(const std::string& model_name, const train::ExperimentConfig& config, const data::Dataset& ds,
                     const fs::path& file) {
  Imported out;
  out.dims = models::model_dims(ds.info, config.model->modalities, ds.info.task);
  out.model = models::build_model(*config.model, out.dims);
  const auto table = models::upstream::find_upstream(model_name).table(*config.model, out.dims);
  out.report = models::upstream::load_upstream_state(*out.model, table,
                                                     models::upstream::read_state_dict(file.string()), file.string());
  return out;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

TEST(MmgcnParity, ImportsEveryKeyOfTheAuthorsCheckpoint) {
  const data::Dataset ds = read_fixture_dataset();
  const Imported imp = import_into("mmgcn", parity_config(), ds, fixture_dir() / "model.pth");
  // linear_a/v/l (6) + lstm_l (16) + speaker embedding + fcs.0 (2) + 64 convs + smax_fc (2) = 91
  EXPECT_EQ(imp.report.mapped_keys, 91);
  EXPECT_GT(imp.report.ignored_keys, 0);
}

TEST(MmgcnParity, ReproducesTheAuthorsTestProbabilities) {
  const data::Dataset ds = read_fixture_dataset();
  Imported imp = import_into("mmgcn", parity_config(), ds, fixture_dir() / "model.pth");
  train::EvalOptions options;
  options.batch_size = 16;
  options.keep_predictions = true;
  const auto test = ds.partition("test");
  const train::EvalResult result =
      train::evaluate(*imp.model, test, ds.info, imp.dims, train::find_loss("auto", ds.info.task), options);
  std::map<std::string, std::vector<float>> by_uid;
  for (const auto& p : result.predictions)
    for (const auto* d : test)
      if (d->id == p.dialogue_id) by_uid[d->utterances[static_cast<size_t>(p.utterance_idx)].id] = p.probabilities;
  std::ifstream in(fixture_dir() / "test_uids.txt");
  std::vector<torch::Tensor> rows;
  for (std::string uid; std::getline(in, uid);)
    if (!uid.empty()) rows.push_back(torch::tensor(by_uid.at(uid)));
  const double diff = max_abs_diff(torch::stack(rows), read_npy(fixture_dir() / "prob_complete.npy"));
  std::cout << "[mmgcn parity] complete: max |merc - upstream| probability = " << diff << "\n";
  EXPECT_LT(diff, kForwardTol);
}

TEST(MmgcnParity, OneTrainingStepMatches) {
  const data::Dataset ds = read_fixture_dataset();
  const train::ExperimentConfig config = parity_config({"model.dropout=0"});
  Imported imp = import_into("mmgcn", config, ds, fixture_dir() / "model.pth");
  std::ifstream in(fixture_dir() / "step.json");
  const nlohmann::json step = nlohmann::json::parse(in);

  const data::DialogueBatch batch = data::collate(ds.partition("train"), ds.info);
  imp.model->train();
  const models::ModelOutput out = imp.model->forward(batch, models::ForwardContext{});
  const torch::Tensor loss =
      train::find_loss("auto", ds.info.task, config.train.loss_options()).compute(out.logits, batch);
  const double d_loss = std::abs(loss.item<double>() - step["loss"].get<double>());
  std::cout << "[mmgcn parity] step: |d loss| = " << d_loss << "\n";
  EXPECT_LT(d_loss, kLossTol);

  std::vector<double> scales;
  auto optimizer = train::make_optimizer(config.train, imp.model->parameter_groups(0), &scales);
  optimizer->zero_grad();
  loss.backward();
  const auto table = models::upstream::find_upstream("mmgcn").table(*config.model, imp.dims);
  auto merc_name = [&](const std::string& up) {
    for (const auto& r : table.rules)
      if (r.upstream.size() == 1 && r.upstream[0] == up) return r.merc[0];
    ADD_FAILURE() << "no rule for " << up;
    return std::string();
  };
  auto params = imp.model->named_parameters();
  const auto keys = step["keys"].get<std::vector<std::string>>();
  std::vector<torch::Tensor> grads;
  for (const auto& k : keys) grads.push_back(params[merc_name(k)].grad().clone());
  optimizer->step();
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string idx = (i < 10 ? "0" : "") + std::to_string(i);
    const double dg = max_abs_diff(grads[i], read_npy(fixture_dir() / ("step_grad_" + idx + ".npy")));
    const double dw =
        max_abs_diff(params[merc_name(keys[i])].detach(), read_npy(fixture_dir() / ("step_after_" + idx + ".npy")));
    std::cout << "[mmgcn parity] step " << keys[i] << ": grad " << dg << ", weight " << dw << "\n";
    EXPECT_LT(dg, kGradTol) << keys[i];
    EXPECT_LT(dw, kStepTol) << keys[i];
  }
}

TEST(MmgcnParity, AnotherModelsCheckpointIsRefusedWithItsKeys) {
  const data::Dataset ds = read_fixture_dataset();
  const fs::path gcnet_ckpt = fs::path(MERC_SOURCE_DIR) / "tests" / "fixtures" / "parity" / "gcnet" / "checkpoint.pth";
  try {
    import_into("mmgcn", parity_config(), ds, gcnet_ckpt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("graph_net_temporal.conv1.weight"), std::string::npos) << what;  // unmapped
    EXPECT_NE(what.find("smax_fc.weight"), std::string::npos) << what;                   // mis-shaped
    EXPECT_NE(what.find("linear_a.weight"), std::string::npos) << what;                  // missing
  }
}

}  // namespace
}  // namespace merc::mmgcn_parity
