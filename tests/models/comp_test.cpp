#include "merc/models/comp.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/models/comp_modulator.h"
#include "merc/models/registry.h"
#include "model_test_util.h"

namespace merc::models {
namespace comp_test {

CompConfig tiny_config() {
  CompConfig c;
  c.name = "comp";
  c.hidden_dim = 4;
  c.depth = 2;
  c.num_heads = 2;
  c.prompt_dim = 3;
  c.num_prototypes = 2;
  c.seq_len = 7;
  c.stage_epoch = 3;
  return c;
}

std::shared_ptr<CompModel> build(const CompConfig& c, data::Task task, std::vector<std::string> mods = {}) {
  const data::Dataset ds = testing::sweep_dataset();
  torch::manual_seed(3);
  return std::make_shared<CompModel>(c, model_dims(ds.info, mods, task));
}

data::DialogueBatch sweep_batch() { return testing::collate_indices(testing::sweep_dataset(), {0, 1, 2, 3}); }

torch::Tensor total_loss(const ModelOutput& out, const data::DialogueBatch& b, data::Task task) {
  torch::Tensor loss = testing::task_loss(out.logits, b, task) * out.task_loss_weight;
  for (const auto& [name, aux] : out.aux_losses) loss = loss + aux;
  return loss;
}

TEST(Comp, StageScheduleFreezesAndGroupsParameters) {
  auto model = build(tiny_config(), data::Task::kClassification);
  EXPECT_EQ(model->stage_for_epoch(0, 10), 0);
  EXPECT_EQ(model->stage_for_epoch(2, 10), 0);
  EXPECT_EQ(model->stage_for_epoch(3, 10), 1);
  const int64_t all = static_cast<int64_t>(model->parameters().size());
  const auto g0 = model->parameter_groups(0), g1 = model->parameter_groups(1);
  ASSERT_EQ(g0.size(), 1u);
  ASSERT_EQ(g1.size(), 1u);
  EXPECT_EQ(static_cast<int64_t>(g1[0].params.size()), all);
  EXPECT_LT(static_cast<int64_t>(g0[0].params.size()), all);
  // Stage 0 (the constructor's) freezes prompting and the fusion head; stage 1 trains everything.
  const auto named = model->named_parameters();
  EXPECT_FALSE(named["prop_former_a_1.proj_n.fc1.weight"].requires_grad());
  EXPECT_FALSE(named["nlp_head.weight"].requires_grad());
  EXPECT_TRUE(named["shared_enc_a.fc1.weight"].requires_grad());
  EXPECT_TRUE(named["block1_t.layers.0.q.weight"].requires_grad());
  model->set_stage(1);
  for (const auto& p : model->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_THROW(model->set_stage(2), Error);
}

TEST(Comp, StageLossesAndEveryStageOneParameterGetsAGradient) {
  for (data::Task task : {data::Task::kClassification, data::Task::kRegression}) {
    auto model = build(tiny_config(), task);
    const auto batch = sweep_batch();
    model->train();
    ModelOutput out0 = model->forward(batch, ForwardContext{0, 0, 0});
    EXPECT_EQ(out0.task_loss_weight, 0.0);
    EXPECT_EQ(out0.aux_losses.count("unimodal"), 1u);
    EXPECT_EQ(out0.aux_losses.count("disentangle"), 1u);
    EXPECT_EQ(out0.aux_losses.count("reconstruction"), 0u);
    EXPECT_EQ(out0.features.count("modulator_weights"), 0u);

    model->set_stage(1);
    ModelOutput out1 = model->forward(batch, ForwardContext{3, 1, 0});
    EXPECT_EQ(out1.task_loss_weight, 1.0);
    EXPECT_EQ(out1.aux_losses.count("reconstruction"), 1u);
    total_loss(out1, batch, task).backward();
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    }
    // No aux loss in no-grad forwards (evaluation).
    torch::NoGradGuard ng;
    EXPECT_TRUE(model->forward(batch, ForwardContext{3, 1, 0}).aux_losses.empty());
  }
}

TEST(Comp, CoordinatorWeightsSumToOne) {
  auto model = build(tiny_config(), data::Task::kClassification);
  model->eval();
  torch::NoGradGuard ng;
  const auto out = model->forward(sweep_batch(), ForwardContext{3, 1, 0});
  const auto& w = out.features.at("coordinator_weights");
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{4, 5, 3}));
  EXPECT_TRUE(torch::allclose(w.sum(-1), torch::ones({4, 5}), 0, 1e-6));  // float32 sum of 3 terms
  EXPECT_GT(w.min().item<float>(), 0.0f);
}

// Appends `extra` padded positions to a batch by hand (zeros, masks false, label -1, score 0).
data::DialogueBatch pad_batch(const data::DialogueBatch& b, int64_t extra) {
  data::DialogueBatch p = b;
  auto pad = [&](const torch::Tensor& t, double value) {
    auto shape = t.sizes().vec();
    shape[1] = extra;
    return torch::cat({t, torch::full(shape, value, t.options())}, 1);
  };
  for (auto& f : p.features)
    if (f.defined()) f = pad(f, 0);
  p.speaker = pad(b.speaker, 0);
  p.utterance_mask = pad(b.utterance_mask, 0);
  p.modality_mask = pad(b.modality_mask, 0);
  p.label = pad(b.label, -1);
  p.score = pad(b.score, 0);
  return p;
}

TEST(Comp, PadsToSeqLenInsideAndCropsTheOutput) {
  auto model = build(tiny_config(), data::Task::kClassification);
  model->eval();
  torch::NoGradGuard ng;
  const auto batch = sweep_batch();  // T = 5, seq_len = 7
  for (int stage : {0, 1}) {
    const auto a = model->forward(batch, ForwardContext{0, stage, 0}).logits;
    ASSERT_EQ(a.sizes(), (std::vector<int64_t>{4, 5, 3}));
    // The same dialogues arriving with more padding (T = 7 = seq_len) give the same outputs.
    const auto b = model->forward(pad_batch(batch, 2), ForwardContext{0, stage, 0}).logits;
    ASSERT_EQ(b.sizes(), (std::vector<int64_t>{4, 7, 3}));
    EXPECT_TRUE(torch::allclose(a, b.narrow(1, 0, 5), 0, 1e-6)) << "stage " << stage;
    EXPECT_EQ(b.narrow(1, 5, 2).abs().max().item<float>(), 0.0f);
  }
  // Longer than seq_len: a clear error naming seq_len.
  try {
    model->forward(pad_batch(batch, 3), ForwardContext{});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("seq_len"), std::string::npos) << e.what();
  }
}

// Runs one stage-1 training forward + backward; returns the gradients before after_backward.
struct Step {
  ModelOutput out;
  std::map<std::string, torch::Tensor> grads;
};
Step stage1_step(CompModel& model, const data::DialogueBatch& batch, data::Task task) {
  model.set_stage(1);
  model.train();
  model.zero_grad();
  Step s;
  s.out = model.forward(batch, ForwardContext{3, 1, 0});
  total_loss(s.out, batch, task).backward();
  for (const auto& p : model.named_parameters())
    s.grads[p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor();
  return s;
}

TEST(Comp, ModulatorScalesExactlyThePrototypeColumns) {
  for (data::Task task : {data::Task::kRegression, data::Task::kClassification}) {
    auto model = build(tiny_config(), task);
    const auto batch = sweep_batch();
    const Step s = stage1_step(*model, batch, task);
    ASSERT_EQ(s.out.features.count("modulator_weights"), 1u);
    const auto& w = s.out.features.at("modulator_weights");  // (U, S)
    ASSERT_EQ(w.sizes(), (std::vector<int64_t>{3, 7}));

    // The weights follow from the unimodal outputs: Delta_m = |yhat_m - y| (regression, label != 0)
    // or |logit_m[y] - y| (classification); positions 5, 6 are padding only -> 1.
    const auto uni = s.out.features.at("unimodal").detach();  // (B, T, U, C)
    torch::Tensor deltas, selected;
    if (task == data::Task::kRegression) {
      const auto y = torch::nan_to_num(batch.score, 0.0);
      deltas = (uni.squeeze(-1) - y.unsqueeze(-1)).abs();
      selected = batch.utterance_mask & (y != 0);
    } else {
      const auto y = batch.label.clamp_min(0);
      deltas = (uni.gather(3, y.view({4, 5, 1, 1}).expand({4, 5, 3, 1})).squeeze(-1) -
                y.unsqueeze(-1).to(torch::kFloat))
                   .abs();
      selected = batch.utterance_mask;
    }
    const auto expected = comp::position_weights(deltas, selected);
    EXPECT_TRUE(torch::allclose(w.narrow(1, 0, 5), expected, 1e-5, 1e-6));
    EXPECT_TRUE(torch::equal(w.narrow(1, 5, 2), torch::ones({3, 2})));
    EXPECT_FALSE(torch::allclose(w, torch::ones_like(w))) << "the example should modulate something";

    model->after_backward(ForwardContext{3, 1, 0}, s.out);
    const char* letters[] = {"a", "t", "v"};
    for (const auto& p : model->named_parameters()) {
      const auto& before = s.grads.at(p.key());
      bool modulated = false;
      for (int m = 0; m < 3; ++m)
        if (p.key() == std::string("prop_former_") + letters[m] + "_1.proj_n.fc1.weight") {
          modulated = true;
          EXPECT_TRUE(torch::allclose(p.value().grad(), before * w[m].unsqueeze(0), 1e-6, 1e-7)) << p.key();
        }
      if (!modulated) EXPECT_TRUE(torch::equal(p.value().grad(), before)) << p.key() << " must not change";
    }
  }
}

TEST(Comp, ProbabilityDeltaFeedsOneMinusTheTrueClassProbability) {
  CompConfig c = tiny_config();
  c.modulator_delta = "probability";
  auto model = build(c, data::Task::kClassification);
  const auto batch = sweep_batch();
  const Step s = stage1_step(*model, batch, data::Task::kClassification);
  const auto& w = s.out.features.at("modulator_weights");  // (U, S)
  const auto uni = s.out.features.at("unimodal").detach();  // (B, T, U, C)
  const auto y = batch.label.clamp_min(0);
  const auto p_true = torch::softmax(uni, -1).gather(3, y.view({4, 5, 1, 1}).expand({4, 5, 3, 1})).squeeze(-1);
  const auto expected = comp::position_weights(1.0 - p_true, batch.utterance_mask);
  EXPECT_TRUE(torch::allclose(w.narrow(1, 0, 5), expected, 1e-5, 1e-6));
  // The released Delta (raw logit minus class index) gives other weights on the same outputs.
  const auto released = comp::position_weights(
      (uni.gather(3, y.view({4, 5, 1, 1}).expand({4, 5, 3, 1})).squeeze(-1) - y.unsqueeze(-1).to(torch::kFloat)).abs(),
      batch.utterance_mask);
  EXPECT_FALSE(torch::allclose(expected, released, 1e-3, 1e-3));
}

TEST(Comp, UnimodalTwiceDoublesTheStageOneUnimodalLoss) {
  for (data::Task task : {data::Task::kRegression, data::Task::kClassification}) {
    CompConfig once = tiny_config();
    once.unimodal_twice = false;
    auto a = build(tiny_config(), task);  // same seed: same weights
    auto b = build(once, task);
    for (auto* m : {a.get(), b.get()}) {
      m->set_stage(1);
      m->eval();  // no dropout; grad mode stays on, so the losses are computed
    }
    const auto batch = sweep_batch();
    const auto la = a->forward(batch, ForwardContext{3, 1, 0}).aux_losses.at("unimodal");
    const auto lb = b->forward(batch, ForwardContext{3, 1, 0}).aux_losses.at("unimodal");
    EXPECT_GT(lb.item<double>(), 0.0);
    EXPECT_TRUE(torch::equal(la, 2.0 * lb));  // doubling is exact in float32
  }
}

TEST(Comp, CoordinatorZeroMissingChangesOnlyPositionsWithAMissingModality) {
  CompConfig zero = tiny_config();
  zero.coordinator_zero_missing = true;
  auto a = build(tiny_config(), data::Task::kClassification);
  auto b = build(zero, data::Task::kClassification);
  torch::NoGradGuard ng;
  const auto batch = sweep_batch();  // dialogue 1, utterance 0 has no visual
  torch::Tensor wa, wb;
  for (auto [m, w] : {std::pair{a.get(), &wa}, std::pair{b.get(), &wb}}) {
    m->set_stage(1);
    m->eval();
    *w = m->forward(batch, ForwardContext{3, 1, 0}).features.at("coordinator_weights");  // (B, T, U)
  }
  const auto complete = batch.utterance_mask & batch.modality_mask.all(-1);  // every modality present
  ASSERT_FALSE(complete[1][0].item<bool>());
  EXPECT_TRUE(torch::equal(wa.index({complete}), wb.index({complete})));
  EXPECT_FALSE(torch::allclose(wa[1][0], wb[1][0])) << "zeroing the missing visual must move the weights";
}

TEST(Comp, ReleasedAndOffModulatorsLeaveGradientsUntouched) {
  for (const char* mode : {"released", "off"}) {
    CompConfig c = tiny_config();
    c.modulator = mode;
    auto model = build(c, data::Task::kRegression);
    const Step s = stage1_step(*model, sweep_batch(), data::Task::kRegression);
    EXPECT_EQ(s.out.features.count("modulator_weights"), 0u) << mode;
    ModelOutput forced = s.out;  // even when handed weights, released/off never fire
    forced.features["modulator_weights"] = torch::full({3, 7}, 2.0f);
    model->after_backward(ForwardContext{3, 1, 0}, forced);
    for (const auto& p : model->named_parameters()) EXPECT_TRUE(torch::equal(p.value().grad(), s.grads.at(p.key())));
  }
}

TEST(Comp, PrivateBranchReleasedFeedsTheFirstModalityOnly) {
  // Backward of the stage-0 unimodal loss alone: with the released quirk, private_a feeds every
  // modality's private branch, so private_enc_t gets no gradient from it; with `own` it does.
  for (const char* mode : {"released", "own"}) {
    CompConfig c = tiny_config();
    c.private_branch = mode;
    auto model = build(c, data::Task::kClassification);
    model->eval();
    const auto out = model->forward(sweep_batch(), ForwardContext{});
    out.aux_losses.at("unimodal").backward();
    const auto g = model->named_parameters()["private_enc_t.fc1.weight"].grad();
    const bool has = g.defined() && g.abs().sum().item<double>() > 0;
    EXPECT_EQ(has, std::string(mode) == "own") << mode;
    EXPECT_GT(model->named_parameters()["private_enc_a.fc1.weight"].grad().abs().sum().item<double>(), 0) << mode;
  }
}

TEST(Comp, SubsetsOfModalitiesRunBothStages) {
  for (const auto& mods : std::vector<std::vector<std::string>>{{"t"}, {"a", "v"}}) {
    auto model = build(tiny_config(), data::Task::kRegression, mods);
    EXPECT_EQ(model->modalities().size(), mods.size());
    const Step s = stage1_step(*model, sweep_batch(), data::Task::kRegression);
    EXPECT_EQ(s.out.logits.sizes(), (std::vector<int64_t>{4, 5, 1}));
    model->after_backward(ForwardContext{3, 1, 0}, s.out);
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    }
  }
}

TEST(Comp, BadConfigValuesAreClearErrors) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto expect_error = [&](auto edit) {
    CompConfig c = tiny_config();
    edit(c);
    EXPECT_THROW(CompModel(c, dims), Error);
  };
  expect_error([](CompConfig& c) { c.depth = 1; });
  expect_error([](CompConfig& c) { c.hidden_dim = 5; });  // not divisible by 2 heads
  expect_error([](CompConfig& c) { c.modulator = "maybe"; });
  expect_error([](CompConfig& c) { c.private_branch = "shared"; });
  expect_error([](CompConfig& c) { c.modulator_delta = "logit"; });
  expect_error([](CompConfig& c) { c.lbd = 1.5; });
  expect_error([](CompConfig& c) { c.seq_len = 0; });
}

}  // namespace comp_test
}  // namespace merc::models
