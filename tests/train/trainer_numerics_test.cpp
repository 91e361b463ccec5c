// What the trainer does to the numbers between backward and the parameter update (issue 14 §2):
// the scheduler's lr is SET on the optimizer every epoch (for every scheduler merc offers, with
// warm-up), each parameter group's lr_scale applies before and after a stage switch, and gradient
// clipping (by value, by norm, both) is applied with the hand-computed result.
//
// Method: a test-double model with two linear heads records, in after_backward (after backward,
// before clipping and the step), every parameter and gradient. With plain SGD (momentum 0, no
// weight decay) the next record's parameters must equal p - lr_group(epoch) * clip(g), where
// lr_group and clip are computed here by hand from the formulas (schedulers.h, torch's
// clip_grad_value_ / clip_grad_norm_ definitions). So the lr the optimizer actually used is
// observed, not the lr the trainer logs.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/nn/modules/linear.h>

#include "merc/train/schedulers.h"
#include "merc/train/trainer.h"
#include "synthetic_data.h"

namespace merc::train {
namespace trainer_numerics_test {

namespace fs = std::filesystem;

// Parameters are float32 of size <= 1 and one SGD step changes them by lr * g ~ 1e-3..1e-1: the
// recorded next value carries one float32 rounding (~6e-8) of p and of lr * g; 1e-6 absolute is
// far above that and far below any lr or clipping mistake (which moves the step by >= 1e-4 here).
constexpr double kStepTol = 1e-6;

struct Record {
  int64_t epoch;
  int stage;
  std::vector<torch::Tensor> params, grads;  // a.weight, a.bias, b.weight, b.bias
};

struct ProbeSettings {
  int64_t switch_epoch = -1;  // >= 0: stage 1 from this epoch on
  double scale[2][2] = {{1.0, 1.0}, {1.0, 1.0}};  // [stage][group a/b]
  // Non-empty: evaluation ignores the weights and outputs logits c_e * (1, -1) in epoch e, so the
  // validation loss per epoch is steered (plateau test).
  std::vector<double> eval_offsets;
};

class Probe : public models::Model {
 public:
  Probe(const models::ModelDims& dims, ProbeSettings s) : Model("Probe"), s_(std::move(s)) {
    a_ = register_module("a", torch::nn::Linear(dims.input_dims[0], dims.output_dim()));
    b_ = register_module("b", torch::nn::Linear(dims.input_dims[0], dims.output_dim()));
  }
  models::ModelOutput forward(const data::DialogueBatch& batch, const models::ForwardContext& ctx) override {
    models::ModelOutput out;
    const torch::Tensor x = batch.features[0];
    out.logits = a_(x) + 0.5 * b_(x * x);
    if (!is_training() && !s_.eval_offsets.empty()) {
      const double c = s_.eval_offsets.at(static_cast<size_t>(ctx.epoch));
      out.logits = torch::zeros_like(out.logits) + c * torch::tensor({1.0f, -1.0f});
    }
    return out;
  }
  int stage_for_epoch(int64_t epoch, int64_t) const override {
    return s_.switch_epoch >= 0 && epoch >= s_.switch_epoch ? 1 : 0;
  }
  std::vector<models::ParamGroup> parameter_groups(int stage) override {
    return {{"a", a_->parameters(), s_.scale[stage][0]}, {"b", b_->parameters(), s_.scale[stage][1]}};
  }
  void after_backward(const models::ForwardContext& ctx, const models::ModelOutput&) override {
    Record r{ctx.epoch, ctx.stage, {}, {}};
    for (const auto& p : {a_->weight, a_->bias, b_->weight, b_->bias}) {
      r.params.push_back(p.detach().to(torch::kFloat64).clone());
      r.grads.push_back(p.grad().detach().to(torch::kFloat64).clone());
    }
    records.push_back(std::move(r));
  }
  double scale(int stage, size_t param) const { return s_.scale[stage][param < 2 ? 0 : 1]; }

  std::vector<Record> records;

 private:
  ProbeSettings s_;
  torch::nn::Linear a_{nullptr}, b_{nullptr};
};

// merc's defaults except: plain SGD without momentum (so a step is exactly lr * g), a fixed batch
// order, 2 batches per epoch (16 train dialogues, batch 8).
ExperimentConfig probe_config() {
  ExperimentConfig c;
  apply_override(c, "model.name=mlp");  // names the run; the model comes from build_model
  c.data.split = "given";
  c.train.epochs = 4;
  c.train.batch_size = 8;
  c.train.shuffle = false;
  c.train.progress = "none";
  c.train.threads = 1;
  c.train.optimizer = "sgd";
  c.train.momentum = 0.0;
  c.train.lr = 0.1;
  return c;
}

struct ProbeRun {
  std::shared_ptr<Probe> model;
  std::vector<nlohmann::json> log;
};

ProbeRun run_probe(const ExperimentConfig& config, const ProbeSettings& settings) {
  static const auto ds = testing::synthetic_dataset();
  TrainOptions o;
  o.out_dir = (fs::temp_directory_path() /
               ("merc_trainer_numerics_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                  .string();
  fs::remove_all(o.out_dir);
  ProbeRun run;
  o.build_model = [&](const models::ModelDims& dims) {
    run.model = std::make_shared<Probe>(dims, settings);
    return run.model;
  };
  train_model(config, ds, o);
  std::ifstream in(o.out_dir + "/train_log.jsonl");
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) run.log.push_back(nlohmann::json::parse(l));
  fs::remove_all(o.out_dir);
  return run;
}

using Clip = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)>;
std::vector<torch::Tensor> no_clip(const std::vector<torch::Tensor>& g) { return g; }

// Every recorded step k (except the last, which has no successor) against
// p_{k+1} = p_k - lr_of_epoch(epoch_k) * scale(stage_k, group) * clip(g_k).
void expect_sgd_steps(const Probe& model, const std::function<double(int64_t)>& lr_of_epoch, const Clip& clip,
                      int64_t epochs) {
  const auto& rec = model.records;
  ASSERT_EQ(rec.size(), static_cast<size_t>(2 * epochs));  // 2 batches per epoch
  for (size_t k = 0; k + 1 < rec.size(); ++k) {
    ASSERT_EQ(rec[k].epoch, static_cast<int64_t>(k / 2));
    const std::vector<torch::Tensor> g = clip(rec[k].grads);
    for (size_t i = 0; i < g.size(); ++i) {
      const double lr = lr_of_epoch(rec[k].epoch) * model.scale(rec[k].stage, i);
      const torch::Tensor expected = rec[k].params[i] - lr * g[i];
      EXPECT_TRUE(torch::allclose(rec[k + 1].params[i], expected, 0.0, kStepTol))
          << "step " << k << " (epoch " << rec[k].epoch << ", stage " << rec[k].stage << ") param " << i
          << ": hand lr " << lr << ", max error "
          << (rec[k + 1].params[i] - expected).abs().max().item<double>() << ", implied lr "
          << ((rec[k].params[i] - rec[k + 1].params[i]) * g[i]).sum().item<double>() /
                 (g[i] * g[i]).sum().item<double>();
    }
  }
}

// ---- The schedules, by hand (schedulers.h), with linear warm-up over W epochs. ----
double warmup_or(double lr, int64_t w, int64_t e, const std::function<double(int64_t)>& after) {
  return e < w ? lr * static_cast<double>(e + 1) / static_cast<double>(w + 1) : after(e - w);
}

TEST(TrainerNumerics, EverySchedulerIsCoveredHere) {
  std::set<std::string> names;
  for (const auto& e : scheduler_registry()) names.insert(e.name);
  EXPECT_EQ(names, (std::set<std::string>{"none", "step", "cosine", "plateau", "linear"}));
}

TEST(TrainerNumerics, LinearScheduleWithWarmupRatioIsSetEachEpoch) {
  ExperimentConfig c = probe_config();
  c.train.epochs = 5;
  c.train.scheduler = "linear";
  c.train.warmup_ratio = 0.2;  // floor(0.2 * 5) = 1 warm-up epoch
  const ProbeRun r = run_probe(c, {});
  // 0.05, then 0.1 * (5 - e) / 4: 0.1, 0.075, 0.05, 0.025.
  auto lr = [](int64_t e) { return warmup_or(0.1, 1, e, [](int64_t e2) { return 0.1 * (4.0 - e2) / 4.0; }); };
  expect_sgd_steps(*r.model, lr, no_clip, 5);
  for (int64_t e = 0; e < 5; ++e) EXPECT_NEAR(r.log[e]["lr"].get<double>(), lr(e), 1e-15) << e;
}

TEST(TrainerNumerics, SchedulerNoneKeepsTheConfigLr) {
  ExperimentConfig c = probe_config();
  c.train.epochs = 3;
  const ProbeRun r = run_probe(c, {});
  expect_sgd_steps(*r.model, [](int64_t) { return 0.1; }, no_clip, 3);
}

TEST(TrainerNumerics, StepScheduleWithWarmupIsSetEachEpoch) {
  ExperimentConfig c = probe_config();
  c.train.epochs = 7;
  c.train.scheduler = "step";
  c.train.warmup_epochs = 2;
  c.train.step_size = 2;
  c.train.gamma = 0.5;
  const ProbeRun r = run_probe(c, {});
  // 0.1/3, 0.2/3, then 0.1, 0.1, 0.05, 0.05, 0.025.
  auto lr = [](int64_t e) {
    return warmup_or(0.1, 2, e, [](int64_t e2) { return 0.1 * std::pow(0.5, std::floor(e2 / 2.0)); });
  };
  expect_sgd_steps(*r.model, lr, no_clip, 7);
  ASSERT_EQ(r.log.size(), 7u);
  for (int64_t e = 0; e < 7; ++e) EXPECT_NEAR(r.log[e]["lr"].get<double>(), lr(e), 1e-15) << e;
}

TEST(TrainerNumerics, CosineScheduleWithWarmupAndFloorIsSetEachEpoch) {
  ExperimentConfig c = probe_config();
  c.train.epochs = 5;
  c.train.scheduler = "cosine";
  c.train.warmup_epochs = 1;
  c.train.min_lr = 0.02;
  const ProbeRun r = run_probe(c, {});
  auto lr = [](int64_t e) {
    return warmup_or(0.1, 1, e, [](int64_t e2) {
      return 0.02 + (0.1 - 0.02) * (1.0 + std::cos(M_PI * static_cast<double>(e2) / 4.0)) / 2.0;
    });
  };
  expect_sgd_steps(*r.model, lr, no_clip, 5);
}

TEST(TrainerNumerics, PlateauScheduleFollowsTheValidationLoss) {
  ExperimentConfig c = probe_config();
  c.train.epochs = 6;
  c.train.scheduler = "plateau";
  c.train.metric = "loss";  // lower is better
  c.train.plateau_patience = 1;
  c.train.gamma = 0.5;
  c.train.min_lr = 0.03;
  ProbeSettings s;
  // Validation logits c_e (1, -1): the loss is convex in c with its minimum near 0 (roughly
  // balanced labels), so epochs 0, 1 improve and 2, 3, 4 do not.
  s.eval_offsets = {0.5, 0.0, 1.0, 2.0, 0.2, 3.0};
  const ProbeRun r = run_probe(c, s);
  ASSERT_EQ(r.log.size(), 6u);
  // The plateau rule by hand on the logged validation losses: lr(e+1) depends on epochs 0..e.
  std::vector<double> lrs;
  double best = 0, scale = 1;
  int64_t bad = 0;
  for (int64_t e = 0; e < 6; ++e) {
    lrs.push_back(std::max(0.03, 0.1 * scale));
    const double v = r.log[e]["valid_loss"].get<double>();
    if (e == 0 || v < best) {
      best = v;
      bad = 0;
    } else if (++bad >= 1) {
      scale *= 0.5;
      bad = 0;
    }
  }
  // The steered losses give: two decays, then the floor.
  const std::vector<double> literal = {0.1, 0.1, 0.1, 0.05, 0.03, 0.03};
  for (size_t e = 0; e < 6; ++e) ASSERT_NEAR(lrs[e], literal[e], 1e-15) << "validation losses not as steered, epoch " << e;
  expect_sgd_steps(*r.model, [&](int64_t e) { return lrs.at(static_cast<size_t>(e)); }, no_clip, 6);
}

TEST(TrainerNumerics, LrScalePerGroupAcrossAStageSwitchWithASchedule) {
  ExperimentConfig c = probe_config();
  c.train.epochs = 4;
  c.train.scheduler = "step";
  c.train.step_size = 1;
  c.train.gamma = 0.5;
  ProbeSettings s;
  s.switch_epoch = 2;
  s.scale[0][0] = 1.0;
  s.scale[0][1] = 0.5;
  s.scale[1][0] = 0.25;
  s.scale[1][1] = 2.0;
  const ProbeRun r = run_probe(c, s);
  ASSERT_EQ(r.model->records.back().stage, 1);
  expect_sgd_steps(*r.model, [](int64_t e) { return 0.1 * std::pow(0.5, static_cast<double>(e)); }, no_clip, 4);
}

// ---- Clipping, by hand (torch's definitions, applied by the trainer to all model parameters):
// value: clamp every element to [-v, v]; norm: total = L2 norm over all gradient elements, and
// when max / (total + 1e-6) < 1 every gradient is multiplied by it. Value first, then norm.
std::vector<torch::Tensor> clip_value(const std::vector<torch::Tensor>& g, double v) {
  std::vector<torch::Tensor> out;
  for (const auto& t : g) out.push_back(t.clamp(-v, v));
  return out;
}
double total_norm(const std::vector<torch::Tensor>& g) {
  double sq = 0;
  for (const auto& t : g) sq += (t * t).sum().item<double>();
  return std::sqrt(sq);
}
std::vector<torch::Tensor> clip_norm(const std::vector<torch::Tensor>& g, double max_norm) {
  const double coef = max_norm / (total_norm(g) + 1e-6);
  if (coef >= 1) return g;
  std::vector<torch::Tensor> out;
  for (const auto& t : g) out.push_back(t * coef);
  return out;
}

TEST(TrainerNumerics, ClipByValueIsApplied) {
  ExperimentConfig c = probe_config();
  c.train.epochs = 2;
  c.train.clip_value = 0.05;
  const ProbeRun r = run_probe(c, {});
  // The bound is active: some elements exceed it, others do not.
  int64_t over = 0, under = 0;
  for (const auto& rec : r.model->records)
    for (const auto& g : rec.grads) {
      over += (g.abs() > 0.05).sum().item<int64_t>();
      under += (g.abs() < 0.05).sum().item<int64_t>();
    }
  EXPECT_GT(over, 0);
  EXPECT_GT(under, 0);
  expect_sgd_steps(*r.model, [](int64_t) { return 0.1; }, [](const auto& g) { return clip_value(g, 0.05); }, 2);
}

TEST(TrainerNumerics, ClipByNormIsApplied) {
  ExperimentConfig c = probe_config();
  c.train.epochs = 2;
  c.train.clip_norm = 0.1;
  const ProbeRun r = run_probe(c, {});
  for (const auto& rec : r.model->records) EXPECT_GT(total_norm(rec.grads), 0.15);  // the bound is active
  expect_sgd_steps(*r.model, [](int64_t) { return 0.1; }, [](const auto& g) { return clip_norm(g, 0.1); }, 2);
}

TEST(TrainerNumerics, ClipByValueThenByNorm) {
  ExperimentConfig c = probe_config();
  c.train.epochs = 2;
  c.train.clip_value = 0.05;
  c.train.clip_norm = 0.08;
  const ProbeRun r = run_probe(c, {});
  for (const auto& rec : r.model->records) EXPECT_GT(total_norm(clip_value(rec.grads, 0.05)), 0.1);
  expect_sgd_steps(*r.model, [](int64_t) { return 0.1; },
                   [](const auto& g) { return clip_norm(clip_value(g, 0.05), 0.08); }, 2);
}

}  // namespace trainer_numerics_test
}  // namespace merc::train
