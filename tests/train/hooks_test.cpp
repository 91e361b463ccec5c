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

}  // namespace
}  // namespace merc::train
