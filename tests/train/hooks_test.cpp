// The trainer honours a model's TrainingHooks without knowing the model: stage per epoch,
// per-stage parameter groups, one optimizer per substep, the after-backward hook, and the stage
// used for evaluation. A test double with two linear heads makes every step observable.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include "merc/train/trainer.h"
#include "synthetic_data.h"

namespace merc::train {
namespace {

namespace fs = std::filesystem;

struct Event {
  int64_t epoch;
  int stage;
  int substep;
  bool a_has_grad, b_has_grad;
};

// Stage 0 (epochs 0-1): one optimizer over head A. Stage 1 (epochs 2+): two substeps per batch,
// substep 0 steps head A, substep 1 steps head B (RoHyDR-style separate optimisers).
class TwoStageModel : public models::Model {
 public:
  explicit TwoStageModel(const models::ModelDims& dims) : Model("TwoStageModel") {
    a_ = register_module("a", torch::nn::Linear(dims.input_dims[0], dims.output_dim()));
    b_ = register_module("b", torch::nn::Linear(dims.input_dims[0], dims.output_dim()));
  }
  models::ModelOutput forward(const data::DialogueBatch& batch, const models::ForwardContext& ctx) override {
    forward_stages.push_back(ctx.stage);
    models::ModelOutput out;
    const torch::Tensor x = batch.features[0];
    out.logits = ctx.stage == 0 ? a_(x) : a_(x) + b_(x);
    return out;
  }
  int stage_for_epoch(int64_t epoch, int64_t) const override { return epoch < 2 ? 0 : 1; }
  void set_stage(int stage) override { stages_set.push_back(stage); }
  std::vector<models::ParamGroup> parameter_groups(int stage) override {
    if (stage == 0) return {{"a", a_->parameters(), 1.0}};
    return {{"a", a_->parameters(), 1.0}, {"b", b_->parameters(), 0.5}};
  }
  int substeps(int stage) const override { return stage == 0 ? 1 : 2; }
  void after_backward(const models::ForwardContext& ctx, const models::ModelOutput&) override {
    events.push_back({ctx.epoch, ctx.stage, ctx.substep, a_->weight.grad().defined() && a_->weight.grad().abs().sum().item<double>() > 0,
                      b_->weight.grad().defined() && b_->weight.grad().abs().sum().item<double>() > 0});
    snapshots.push_back({a_->weight.detach().clone(), b_->weight.detach().clone()});
  }
  torch::nn::Linear a_{nullptr}, b_{nullptr};
  std::vector<Event> events;
  std::vector<int> stages_set, forward_stages;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> snapshots;
};

TEST(TrainingHooks, StagesGroupsSubstepsAndAfterBackward) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c;
  apply_override(c, "model.name=mlp");  // only names the run; the model comes from build_model
  c.data.split = "given";
  c.train.epochs = 4;
  c.train.batch_size = 8;  // 16 train dialogues -> 2 batches per epoch
  c.train.shuffle = false;
  c.train.progress = "none";
  c.train.threads = 1;
  std::shared_ptr<TwoStageModel> model;
  TrainOptions o;
  o.out_dir = (fs::temp_directory_path() / ("merc_hooks_" + std::to_string(::getpid()))).string();
  fs::remove_all(o.out_dir);
  o.build_model = [&](const models::ModelDims& dims) {
    model = std::make_shared<TwoStageModel>(dims);
    return model;
  };
  train_model(c, ds, o);
  fs::remove_all(o.out_dir);
  ASSERT_TRUE(model);
  // 2 epochs x 2 batches x 1 substep + 2 epochs x 2 batches x 2 substeps = 12 backward passes.
  ASSERT_EQ(model->events.size(), 12u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(model->events[i].stage, 0);
    EXPECT_EQ(model->events[i].substep, 0);
    EXPECT_TRUE(model->events[i].a_has_grad);
  }
  for (size_t i = 4; i < 12; ++i) {
    EXPECT_EQ(model->events[i].stage, 1);
    EXPECT_EQ(model->events[i].substep, static_cast<int>((i - 4) % 2));
    EXPECT_EQ(model->events[i].epoch, i < 8 ? 2 : 3);
  }
  // The stage was announced when it changed (initial stage 0, then 1 at epoch 2), then set to the
  // best epoch's stage for the final evaluation.
  ASSERT_GE(model->stages_set.size(), 2u);
  EXPECT_EQ(model->stages_set[0], 0);
  EXPECT_EQ(model->stages_set[1], 1);
  // Stepping: between the after_backward of substep s and that of the next backward, only the
  // parameters of group s changed. Snapshot k is taken before optimizer k steps; k+1 after it.
  for (size_t k = 4; k + 1 < model->snapshots.size(); ++k) {
    const bool a_changed = !torch::equal(model->snapshots[k].first, model->snapshots[k + 1].first);
    const bool b_changed = !torch::equal(model->snapshots[k].second, model->snapshots[k + 1].second);
    const int substep = model->events[k].substep;
    EXPECT_EQ(a_changed, substep == 0) << "step " << k;
    EXPECT_EQ(b_changed, substep == 1) << "step " << k;
  }
  // In stage 0 head B is never stepped.
  EXPECT_TRUE(torch::equal(model->snapshots[0].second, model->snapshots[3].second));
  // Evaluations during stage-1 epochs ran the stage-1 forward.
  EXPECT_NE(std::find(model->forward_stages.begin(), model->forward_stages.end(), 1), model->forward_stages.end());
}

// Substeps that share an optimizer, skip on some batches, and clip only where their plan says so
// (RoHyDR: the main Adam steps in substeps 0, 2 and 3, the discriminator's own optimizer in 1; only
// the task step clips; the recovery substeps are skipped on a complete batch).
class SharedOptimizerModel : public models::Model {
 public:
  explicit SharedOptimizerModel(const models::ModelDims& dims) : Model("SharedOptimizerModel") {
    a_ = register_module("a", torch::nn::Linear(dims.input_dims[0], dims.output_dim()));
    b_ = register_module("b", torch::nn::Linear(dims.input_dims[0], dims.output_dim()));
  }
  models::ModelOutput forward(const data::DialogueBatch& batch, const models::ForwardContext& ctx) override {
    models::ModelOutput out;
    const torch::Tensor x = batch.features[0];
    out.logits = a_(x) + b_(x);
    return out;
  }
  std::vector<models::ParamGroup> parameter_groups(int) override {
    return {{"a", a_->parameters(), 1.0}, {"b", b_->parameters(), 1.0, 0.5}};
  }
  int substeps(int) const override { return 3; }
  models::SubstepPlan substep_plan(int, int substep) const override {
    return substep == 1 ? models::SubstepPlan{1, false} : models::SubstepPlan{0, substep == 2};
  }
  bool run_substep(const data::DialogueBatch&, const models::ForwardContext& ctx) const override {
    return !(ctx.substep == 1 && ctx.epoch % 2 == 1);
  }
  void after_backward(const models::ForwardContext& ctx, const models::ModelOutput&) override {
    substeps_run.push_back({ctx.epoch, ctx.substep});
    before.push_back({a_->weight.detach().clone(), b_->weight.detach().clone()});
  }
  torch::nn::Linear a_{nullptr}, b_{nullptr};
  std::vector<std::pair<int64_t, int>> substeps_run;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> before;
};

TEST(TrainingHooks, SubstepsShareOptimizersSkipAndClipPerPlan) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c;
  apply_override(c, "model.name=mlp");
  c.data.split = "given";
  c.train.epochs = 2;
  c.train.batch_size = 16;  // one batch per epoch
  c.train.shuffle = false;
  c.train.progress = "none";
  c.train.threads = 1;
  c.train.optimizer = "sgd";  // SGD makes the clipped step's size observable (Adam is scale-free)
  c.train.lr = 0.1;
  c.train.momentum = 0.0;  // no step carries an earlier gradient
  c.train.clip_value = 1e-4;
  std::shared_ptr<SharedOptimizerModel> model;
  TrainOptions o;
  o.out_dir = (fs::temp_directory_path() / ("merc_hooks_shared_" + std::to_string(::getpid()))).string();
  fs::remove_all(o.out_dir);
  o.build_model = [&](const models::ModelDims& dims) {
    model = std::make_shared<SharedOptimizerModel>(dims);
    return model;
  };
  train_model(c, ds, o);
  fs::remove_all(o.out_dir);
  ASSERT_TRUE(model);
  // Epoch 0 runs substeps 0, 1, 2; epoch 1 skips substep 1.
  const std::vector<std::pair<int64_t, int>> expected = {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 2}};
  ASSERT_EQ(model->substeps_run, expected);
  // What each step changed: snapshot k is taken before step k, snapshot k+1 after it.
  for (size_t k = 0; k + 1 < model->before.size(); ++k) {
    const torch::Tensor da = (model->before[k + 1].first - model->before[k].first).abs();
    const torch::Tensor db = (model->before[k + 1].second - model->before[k].second).abs();
    const int substep = model->substeps_run[k].second;
    // Substeps 0 and 2 step the shared optimizer over head A only; substep 1 steps head B only.
    EXPECT_EQ(da.max().item<double>() > 0, substep != 1) << "step " << k;
    EXPECT_EQ(db.max().item<double>() > 0, substep == 1) << "step " << k;
    // Substep 2 clips every gradient entry to 1e-4, so no weight of A moves by more than
    // lr * 1e-4 = 1e-5, up to float32 rounding of w - lr g and of the difference for |w| < 1
    // (an ulp of 1 is 1.2e-7: 2e-7). Substep 0 does not clip: some entry moves 10x more.
    if (substep == 2) {
      EXPECT_LE(da.max().item<double>(), 0.1 * 1e-4 + 2e-7) << "step " << k;
    }
    if (substep == 0) {
      EXPECT_GT(da.max().item<double>(), 0.1 * 1e-4 * 10) << "step " << k;
    }
  }
}

}  // namespace
}  // namespace merc::train
