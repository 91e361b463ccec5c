#include "merc/models/momke.h"

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/models/masked_losses.h"
#include "merc/models/registry.h"
#include "expert_reference.h"
#include "model_test_util.h"

namespace merc::models {
namespace {

MomkeConfig tiny_config() {
  MomkeConfig c;
  c.name = "momke";
  c.hidden_dim = 4;
  c.depth = 2;
  c.num_heads = 2;
  c.stage_epoch = 2;
  return c;
}

// The sweep batch (B = 4, T = 5) with some modalities removed as a protocol would: audio of
// dialogue 0 utterance 1, text of dialogue 2 utterances 0 and 3 (plus the visual of dialogue 1
// utterance 0 that the dataset marks absent).
data::DialogueBatch masked_batch(const data::Dataset& ds) {
  data::DialogueBatch b = testing::collate_indices(ds, {0, 1, 2, 3});
  auto drop = [&](int64_t d, int64_t t, data::Modality m) {
    const int i = data::index_of(m);
    b.modality_mask.index_put_({d, t, i}, false);
    b.features[i][d][t].zero_();
  };
  drop(0, 1, data::Modality::kAudio);
  drop(2, 0, data::Modality::kText);
  drop(2, 3, data::Modality::kText);
  return b;
}

}  // namespace

namespace momke_test {

namespace ref = expert_reference;

// float32 model through 2 expert layers of 4-wide Linears, softmax, GELU and the fusion head
// against the same arithmetic in double: ~1e-6 on O(1) values; 1e-5 leaves margin.
constexpr double kMomkeTol = 1e-5;

// merc's default MomkeConfig with only the widths shrunk: hidden_dim 256 -> 4, depth 4 -> 2.
// num_heads 2 (head_dim 2), mlp_ratio 1, dropout 0.5 (inactive in eval), attn_dropout 0,
// stage_epoch 150, load_best_experts false are the defaults.
MomkeConfig default_small_config() {
  MomkeConfig c;
  c.name = "momke";
  c.hidden_dim = 4;
  c.depth = 2;
  return c;
}

// Dialogues 0 and 1 (lengths 4 and 2; dialogue 1 utterance 0 has no visual in the data) with audio
// of dialogue 0 utterance 2 and text of dialogue 1 utterance 0 removed as a protocol would.
data::DialogueBatch two_dialogues_with_holes(const data::Dataset& ds) {
  data::DialogueBatch b = testing::collate_indices(ds, {0, 1});
  for (auto [d, t, m] : {std::tuple{0, 2, data::Modality::kAudio}, std::tuple{1, 0, data::Modality::kText}}) {
    b.modality_mask.index_put_({d, t, data::index_of(m)}, false);
    b.features[data::index_of(m)][d][t].zero_();
  }
  return b;
}

struct Expected {
  torch::Tensor logits;                 // (B, T, C), zero at padding
  std::vector<torch::Tensor> unimodal;  // stage 0: per modality (B, T, C), zero at padding
  torch::Tensor router;                 // stage 1: (B, T, M, M), zero at padding
};

// docs/models/momke.md, "What it computes", one dialogue at a time (only its real rows: padding
// keys are never attended to, and padding outputs are zero).
Expected recompute(const MomkeModel& model, const MomkeConfig& c, const data::DialogueBatch& batch, int stage) {
  const auto p = ref::params_of(model);
  const char* names[] = {"audio", "text", "visual"};
  const data::Modality order[] = {data::Modality::kAudio, data::Modality::kText, data::Modality::kVisual};
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1);
  const int64_t C = model.named_parameters()["head.weight"].size(0);
  Expected e;
  e.logits = torch::zeros({B, T, C}, torch::kFloat64);
  for (int m = 0; m < 3; ++m) e.unimodal.push_back(torch::zeros({B, T, C}, torch::kFloat64));
  e.router = torch::zeros({B, T, 3, 3}, torch::kFloat64);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t L = batch.lengths[b].item<int64_t>();
    std::vector<torch::Tensor> proj, avail, ys;
    for (int m = 0; m < 3; ++m) {
      const int mi = data::index_of(order[m]);
      avail.push_back(batch.modality_mask[b].narrow(0, 0, L).select(1, mi));
      const auto x = batch.features[mi][b].narrow(0, 0, L).to(torch::kFloat64) * avail[m].unsqueeze(1);
      proj.push_back(ref::linear(p, std::string("in_proj_") + names[m], x));
    }
    for (int m = 0; m < 3; ++m) {
      torch::Tensor y;
      if (stage == 0) {
        y = ref::expert_stack(p, std::string("expert_") + names[m], proj[m], avail[m], c.depth, c.num_heads);
        e.unimodal[m][b].narrow(0, 0, L).copy_(ref::linear(p, std::string("head_") + names[m], y));
      } else {
        const auto w = torch::softmax(ref::mlp(p, std::string("router_") + names[m], proj[m]), 1);  // (L, 3 experts)
        e.router[b].narrow(0, 0, L).select(1, m).copy_(w);
        y = torch::zeros_like(proj[m]);
        for (int ex = 0; ex < 3; ++ex)
          y = y + w.narrow(1, ex, 1) *
                      ref::expert_stack(p, std::string("expert_") + names[ex], proj[m], avail[m], c.depth, c.num_heads);
      }
      ys.push_back(y * avail[m].unsqueeze(1).to(torch::kFloat64));  // missing positions -> 0
    }
    const auto z = torch::cat(ys, 1);  // [y_a ; y_t ; y_v]
    const auto h = z + torch::relu(ref::linear(p, "fusion", z));
    e.logits[b].narrow(0, 0, L).copy_(ref::linear(p, "head", h));
  }
  return e;
}

TEST(Momke, DefaultForwardEqualsADenseRecomputationInBothStages) {
  const auto ds = testing::sweep_dataset();
  for (data::Task task : {data::Task::kClassification, data::Task::kRegression}) {
    const MomkeConfig c = default_small_config();
    torch::manual_seed(12);
    MomkeModel model(c, model_dims(ds.info, {}, task));
    model.eval();
    const auto batch = two_dialogues_with_holes(ds);
    // Stage 0: unimodal experts and heads, the (untrained) fusion head on top.
    model.set_stage(0);
    const ModelOutput out0 = model.forward(batch, ForwardContext{0, 0, 0});
    const Expected e0 = recompute(model, c, batch, 0);
    EXPECT_TRUE(torch::allclose(out0.logits.to(torch::kFloat64), e0.logits, 0, kMomkeTol)) << out0.logits << e0.logits;
    const char* names[] = {"audio", "text", "visual"};
    for (int m = 0; m < 3; ++m) {
      const auto got = out0.features.at(std::string("unimodal_") + names[m]).to(torch::kFloat64);
      EXPECT_TRUE(torch::allclose(got, e0.unimodal[m], 0, kMomkeTol)) << names[m] << got << e0.unimodal[m];
    }
    // Stage 1: every modality through every expert, mixed by its router.
    model.set_stage(1);
    const ModelOutput out1 = model.forward(batch, ForwardContext{150, 1, 0});
    const Expected e1 = recompute(model, c, batch, 1);
    EXPECT_TRUE(torch::allclose(out1.logits.to(torch::kFloat64), e1.logits, 0, kMomkeTol)) << out1.logits << e1.logits;
    EXPECT_TRUE(torch::allclose(out1.features.at("router_weights").to(torch::kFloat64), e1.router, 0, kMomkeTol));
    // The two stages really differ (the pins are not of a stage-independent path).
    EXPECT_FALSE(torch::allclose(e0.logits, e1.logits, 0, 1e-3));
  }
}

// Hand values for the stage-0 loss: each unimodal head is made constant (weight 0, bias b_m), so
// its loss follows from the dataset's definition of the targets alone (sweep_dataset: score
// sin(1 + d + 0.7 u), label (d + 2 u) mod 3), not from any model output.
TEST(Momke, StageZeroLossesFromConstantUnimodalHeadsMatchHandValues) {
  const auto ds = testing::sweep_dataset();
  const int64_t lengths[] = {4, 2, 5, 1};
  const char* names[] = {"audio", "text", "visual"};
  for (data::Task task : {data::Task::kRegression, data::Task::kClassification}) {
    torch::manual_seed(4);
    MomkeModel model(tiny_config(), model_dims(ds.info, {}, task));
    model.eval();
    const int64_t C = task == data::Task::kRegression ? 1 : 3;
    std::vector<std::vector<double>> biases(3);
    {
      torch::NoGradGuard no_grad;
      auto params = model.named_parameters();
      for (int m = 0; m < 3; ++m) {
        params[std::string("head_") + names[m] + ".weight"].zero_();
        for (int64_t j = 0; j < C; ++j) {
          biases[m].push_back(0.4 * m - 0.3 + 0.25 * j);
          params[std::string("head_") + names[m] + ".bias"][j] = biases[m][j];
        }
      }
    }
    const ModelOutput out = model.forward(testing::collate_indices(ds, {0, 1, 2, 3}), ForwardContext{0, 0, 0});
    EXPECT_EQ(out.task_loss_weight, 0.0);  // the fused head is not trained in stage 0
    ASSERT_EQ(out.aux_losses.size(), 3u);
    for (int m = 0; m < 3; ++m) {
      double expected = 0.0;
      for (int d = 0; d < 4; ++d)
        for (int u = 0; u < lengths[d]; ++u) {
          if (task == data::Task::kRegression) {
            expected += std::pow(biases[m][0] - std::sin(1.0 + d + 0.7 * u), 2);
          } else {
            double lse = 0.0;
            for (double bj : biases[m]) lse += std::exp(bj);
            expected += std::log(lse) - biases[m][static_cast<size_t>((d + 2 * u) % 3)];
          }
        }
      expected /= 12.0;  // 12 real utterances
      // 1e-6: float32 sums of 12 O(1) terms.
      EXPECT_NEAR(out.aux_losses.at(std::string("unimodal_") + names[m]).item<double>(), expected, 1e-6) << names[m];
    }
  }
}

}  // namespace momke_test

namespace {

TEST(Momke, ModalityOrderIsAudioTextVisual) {
  const auto ds = testing::sweep_dataset();
  MomkeModel all(tiny_config(), model_dims(ds.info, {}, data::Task::kRegression));
  EXPECT_EQ(all.modalities(), (std::vector<data::Modality>{data::Modality::kAudio, data::Modality::kText,
                                                            data::Modality::kVisual}));
  MomkeModel tv(tiny_config(), model_dims(ds.info, {"v", "t"}, data::Task::kRegression));
  EXPECT_EQ(tv.modalities(), (std::vector<data::Modality>{data::Modality::kText, data::Modality::kVisual}));
}

TEST(Momke, StageForEpochSwitchesAtStageEpoch) {
  const auto ds = testing::sweep_dataset();
  MomkeConfig c = tiny_config();
  c.stage_epoch = 3;
  MomkeModel model(c, model_dims(ds.info, {}, data::Task::kRegression));
  for (int64_t e = 0; e < 6; ++e) EXPECT_EQ(model.stage_for_epoch(e, 6), e < 3 ? 0 : 1) << e;
  c.stage_epoch = 0;  // no unimodal stage at all
  MomkeModel direct(c, model_dims(ds.info, {}, data::Task::kRegression));
  EXPECT_EQ(direct.stage_for_epoch(0, 6), 1);
}

TEST(Momke, RouterWeightsSumToOneAndMissingPositionsOfTheJointAreZero) {
  torch::manual_seed(2);
  const auto ds = testing::sweep_dataset();
  MomkeModel model(tiny_config(), model_dims(ds.info, {}, data::Task::kClassification));
  model.set_stage(1);
  model.eval();
  const auto b = masked_batch(ds);
  const ModelOutput out = model.forward(b, ForwardContext{5, 1, 0});
  const auto w = out.features.at("router_weights");  // (B, T, 3 inputs, 3 experts)
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{4, 5, 3, 3}));
  const auto real = b.utterance_mask;
  // 1e-6: float32 softmax normalisation over 3 values.
  EXPECT_TRUE(torch::allclose(w.sum(-1).masked_select(real.unsqueeze(-1).expand({4, 5, 3})),
                              torch::ones({real.sum().item<int64_t>() * 3}), 0, 1e-6));
  EXPECT_GT(w.masked_select(real.view({4, 5, 1, 1})).min().item<float>(), 0.0f);  // padding is zeroed
  const auto z = out.features.at("joint");  // (B, T, 3 * 4): audio, text, visual blocks
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{4, 5, 12}));
  const data::Modality order[] = {data::Modality::kAudio, data::Modality::kText, data::Modality::kVisual};
  for (int k = 0; k < 3; ++k) {
    const auto block = z.narrow(2, 4 * k, 4).abs().sum(-1);  // (B, T)
    const auto avail = b.modality_mask.select(2, data::index_of(order[k])) & real;
    EXPECT_EQ(block.masked_select(avail.logical_not()).abs().max().item<float>(), 0.0f) << k;
    EXPECT_GT(block.masked_select(avail).min().item<float>(), 0.0f) << k;
  }
  // The hand-placed holes are among the zeros.
  EXPECT_EQ(z[0][1].narrow(0, 0, 4).abs().sum().item<float>(), 0.0f);  // audio, dialogue 0 utt 1
  EXPECT_EQ(z[2][3].narrow(0, 4, 4).abs().sum().item<float>(), 0.0f);  // text, dialogue 2 utt 3
  EXPECT_EQ(z[1][0].narrow(0, 8, 4).abs().sum().item<float>(), 0.0f);  // visual, dialogue 1 utt 0
  EXPECT_EQ(out.task_loss_weight, 1.0);
  EXPECT_TRUE(out.aux_losses.empty());
}

TEST(Momke, MaskedTaskLossHandComputed) {
  data::DialogueBatch b;
  b.utterance_mask = torch::tensor({true, true, false}).view({1, 3});
  b.score = torch::tensor({0.0f, 1.0f, 7.0f}).view({1, 3});
  b.label = torch::tensor({0, 1, -1}, torch::kInt64).view({1, 3});
  // Regression: predictions 1, 2, (padding 5): ((1 - 0)^2 + (2 - 1)^2) / 2 = 1.
  const auto pred = torch::tensor({1.0f, 2.0f, 5.0f}).view({1, 3, 1});
  EXPECT_FLOAT_EQ(masked_task_loss(pred, b, data::Task::kRegression).item<float>(), 1.0f);
  // Classification: logits (0, 0) with label 0 -> ln 2; (ln 3, 0) with label 1 -> ln 4; padding NaN
  // ignored. Mean = 1.5 ln 2.
  const auto logits = torch::tensor({0.0f, 0.0f, std::log(3.0f), 0.0f, NAN, NAN}).view({1, 3, 2});
  // 1e-6: float32 log-sum-exp rounding.
  EXPECT_NEAR(masked_task_loss(logits, b, data::Task::kClassification).item<float>(), 1.5 * std::log(2.0), 1e-6);
  EXPECT_THROW(masked_task_loss(torch::zeros({1, 3, 2}), b, data::Task::kRegression), Error);
}

TEST(Momke, SetStageFreezesWhatTheStageDoesNotTrain) {
  const auto ds = testing::sweep_dataset();
  MomkeModel model(tiny_config(), model_dims(ds.info, {}, data::Task::kRegression));
  auto trainable_names = [&] {
    std::vector<std::string> names;
    for (const auto& p : model.named_parameters())
      if (p.value().requires_grad()) names.push_back(p.key());
    return names;
  };
  auto has_prefix = [](const std::vector<std::string>& names, const std::string& prefix) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
  };
  for (int stage : {0, 1}) {
    model.set_stage(stage);
    const auto names = trainable_names();
    EXPECT_TRUE(has_prefix(names, "in_proj_audio"));
    EXPECT_TRUE(has_prefix(names, "expert_visual"));
    EXPECT_EQ(has_prefix(names, "head_text"), stage == 0);
    EXPECT_EQ(has_prefix(names, "router_audio"), stage == 1);
    EXPECT_EQ(has_prefix(names, "fusion"), stage == 1);
    EXPECT_EQ(has_prefix(names, "head."), stage == 1);
    const auto groups = model.parameter_groups(stage);
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_EQ(groups[0].params.size(), names.size());
  }
}

TEST(Momke, StageOneGradientsReachEveryTrainableParameter) {
  torch::manual_seed(6);
  const auto ds = testing::sweep_dataset();
  for (const auto& mods : std::vector<std::vector<std::string>>{{}, {"t"}, {"a", "v"}}) {
    MomkeModel model(tiny_config(), model_dims(ds.info, mods, data::Task::kRegression));
    model.set_stage(1);
    model.train();
    const auto b = masked_batch(ds);
    const ModelOutput out = model.forward(b, ForwardContext{3, 1, 0});
    testing::task_loss(out.logits, b, data::Task::kRegression).backward();
    for (const auto& p : model.named_parameters()) {
      if (!p.value().requires_grad()) {
        EXPECT_FALSE(p.value().grad().defined()) << p.key();
        continue;
      }
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    }
  }
}

// load_best_experts = false reproduces the reference's no-op transfer; true restores each expert
// from its best stage-0 epoch (by unimodal train Acc-2).
TEST(Momke, StageTransferIsANoOpByDefaultAndLoadsTheBestEpochWhenAsked) {
  const auto ds = testing::sweep_dataset();
  const auto b = testing::collate_indices(ds, {0, 1, 2, 3});
  const auto real = b.utterance_mask & (b.score != 0);
  const double frac_pos = ((b.score > 0) & real).sum().item<double>() / real.sum().item<double>();
  ASSERT_NE(frac_pos, 0.5);
  const float good = frac_pos > 0.5 ? 1.0f : -1.0f;  // a constant sign prediction that is right more often
  for (bool load : {false, true}) {
    torch::manual_seed(8);
    MomkeConfig c = tiny_config();
    c.load_best_experts = load;
    MomkeModel model(c, model_dims(ds.info, {}, data::Task::kRegression));
    model.set_stage(0);
    model.train();
    auto expert_weight = [&] { return model.named_parameters()["expert_audio.layers.0.q.weight"]; };
    auto set_heads = [&](float bias) {
      torch::NoGradGuard no_grad;
      for (const auto& p : model.named_parameters())
        if (p.key().rfind("head_", 0) == 0) p.key().find("weight") != std::string::npos ? p.value().zero_() : p.value().fill_(bias);
    };
    // Epoch 0: accurate heads; then a "step" changes the expert.
    set_heads(good);
    model.forward(b, ForwardContext{0, 0, 0});
    { torch::NoGradGuard g; expert_weight().add_(1.0); }
    const auto after_epoch0 = expert_weight().detach().clone();
    // Epoch 1: wrong heads, another change.
    set_heads(-good);
    model.forward(b, ForwardContext{1, 0, 0});
    { torch::NoGradGuard g; expert_weight().add_(1.0); }
    const auto after_epoch1 = expert_weight().detach().clone();
    model.set_stage(1);
    EXPECT_TRUE(torch::equal(expert_weight(), load ? after_epoch0 : after_epoch1)) << "load " << load;
    // A later set_stage (the trainer's final evaluation after loading the selected weights) copies nothing.
    { torch::NoGradGuard g; expert_weight().add_(1.0); }
    const auto now = expert_weight().detach().clone();
    model.set_stage(1);
    EXPECT_TRUE(torch::equal(expert_weight(), now));
  }
}

TEST(Momke, RegistryRowBuildsTinyAndRejectsBadConfigs) {
  const ModelEntry& e = find_model("momke");
  auto config = e.make_config();
  e.make_tiny(*config);
  const auto ds = testing::sweep_dataset();
  auto model = e.build(*config, model_dims(ds.info, {}, data::Task::kRegression));
  const auto out = model->forward(testing::collate_indices(ds, {0, 1}), ForwardContext{});
  EXPECT_EQ(out.logits.size(2), 1);
  auto bad = tiny_config();
  bad.num_heads = 3;  // 4 not divisible by 3
  EXPECT_THROW(MomkeModel(bad, model_dims(ds.info, {}, data::Task::kRegression)), Error);
  bad = tiny_config();
  bad.stage_epoch = -1;
  EXPECT_THROW(MomkeModel(bad, model_dims(ds.info, {}, data::Task::kRegression)), Error);
}

}  // namespace
}  // namespace merc::models
