#include "merc/models/momke.h"

#include <cmath>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/models/masked_losses.h"
#include "merc/models/registry.h"
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

TEST(Momke, StageZeroLossIsTheSumOfTheUnimodalLosses) {
  torch::manual_seed(4);
  const auto ds = testing::sweep_dataset();
  for (data::Task task : {data::Task::kRegression, data::Task::kClassification}) {
    MomkeModel model(tiny_config(), model_dims(ds.info, {}, task));
    model.eval();
    const auto b = testing::collate_indices(ds, {0, 1, 2, 3});
    const ModelOutput out = model.forward(b, ForwardContext{0, 0, 0});
    EXPECT_EQ(out.task_loss_weight, 0.0);  // the fused head is not trained in stage 0
    ASSERT_EQ(out.aux_losses.size(), 3u);
    double sum = 0.0;
    for (const char* m : {"audio", "text", "visual"}) {
      const auto o = out.features.at(std::string("unimodal_") + m);  // (B, T, C), zero at padding
      // By hand: the mean over the 12 real utterances of the squared error / cross-entropy.
      double expected = 0.0;
      const auto real = b.utterance_mask;
      for (int64_t d = 0; d < 4; ++d)
        for (int64_t t = 0; t < 5; ++t) {
          if (!real[d][t].item<bool>()) continue;
          if (task == data::Task::kRegression) {
            expected += std::pow(o[d][t][0].item<double>() - b.score[d][t].item<double>(), 2);
          } else {
            const auto row = o[d][t].to(torch::kFloat64);
            expected += (row.exp().sum().log() - row[b.label[d][t].item<int64_t>()]).item<double>();
          }
        }
      expected /= 12.0;
      const double got = out.aux_losses.at(std::string("unimodal_") + m).item<double>();
      // 1e-5 relative: float32 model outputs summed in a different order.
      EXPECT_NEAR(got, expected, 1e-5 * std::max(1.0, expected)) << m;
      sum += got;
    }
    EXPECT_GT(sum, 0.0);
  }
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
