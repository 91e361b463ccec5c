#include "merc/models/mlp.h"

#include <gtest/gtest.h>

#include "model_test_util.h"
#include "reference_ops.h"

namespace merc::models {
namespace {

TEST(Mlp, LinearModelIsWeightedSumOfMaskedFusedFeatures) {
  // num_layers = 0, weights 1 and bias 0.5 for class 0: logit_0 = 0.5 + sum of the used features,
  // with unobserved modalities contributing 0.
  const data::Dataset ds = testing::sweep_dataset();
  MlpConfig config;
  config.num_layers = 0;
  MlpModel model(config, model_dims(ds.info, {"audio", "visual"}, data::Task::kClassification));
  for (auto& p : model.named_parameters()) {
    torch::NoGradGuard no_grad;
    if (p.key() == "output.weight") p.value().fill_(1.0f);
    if (p.key() == "output.bias") p.value().fill_(0.5f);
  }
  model.eval();
  const auto batch = testing::collate_indices(ds, {1});
  const auto logits = model.forward(batch, {}).logits;
  // Utterance 0 of dialogue 1: audio observed, visual not (masked).
  float expected = 0.5f;
  for (int64_t j = 0; j < 2; ++j) expected += ds.dialogues[1].features[1].row(0)[j];
  EXPECT_NEAR(logits[0][0][0].item<float>(), expected, 1e-6);  // float sum of 3 terms
  // Utterance 1: both observed.
  expected = 0.5f;
  for (int64_t j = 0; j < 2; ++j) expected += ds.dialogues[1].features[1].row(1)[j];
  for (int64_t j = 0; j < 4; ++j) expected += ds.dialogues[1].features[2].row(1)[j];
  EXPECT_NEAR(logits[0][1][2].item<float>(), expected, 1e-6);
}

TEST(Mlp, HasNoContext) {
  // Changing one utterance changes no other utterance's output.
  const data::Dataset ds = testing::sweep_dataset();
  MlpConfig config;
  config.hidden_dim = 5;
  torch::manual_seed(6);
  MlpModel model(config, model_dims(ds.info, {}, data::Task::kClassification));
  model.eval();
  auto batch = testing::collate_indices(ds, {2});
  const auto before = model.forward(batch, {}).logits;
  batch.features[0][0][2] += 4.0f;
  const auto after = model.forward(batch, {}).logits;
  EXPECT_FALSE(torch::equal(after[0][2], before[0][2]));
  EXPECT_TRUE(torch::equal(after[0].narrow(0, 0, 2), before[0].narrow(0, 0, 2)));
  EXPECT_TRUE(torch::equal(after[0].narrow(0, 3, 2), before[0].narrow(0, 3, 2)));
}

// Float32 through two tiny hidden layers (widths <= 9, O(1) values): ~1e-7 relative per op;
// 1e-5 absolute leaves margin and is far below any real mistake (O(0.1)).
constexpr double kMlpPinTol = 1e-5;

TEST(Mlp, DefaultForwardEqualsADenseRecomputation) {
  // merc's default mlp (configs/models/mlp.yaml: 2 hidden layers, ReLU, dropout 0.3, no norm) on
  // all three modalities; only hidden_dim is shrunk (256 -> 5). Dialogues 2 and 1 (lengths 5, 2;
  // dialogue 1 has its visual row 0 unobserved) in one batch.
  const data::Dataset ds = testing::sweep_dataset();
  MlpConfig config;
  config.hidden_dim = 5;
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  torch::manual_seed(21);
  MlpModel model(config, dims);
  model.eval();
  const auto p = model.named_parameters();
  ASSERT_EQ(p.size(), 6u);  // hidden0, hidden1, output (weight, bias each): exactly two hidden layers
  const auto batch = testing::collate_indices(ds, {2, 1});
  const auto out = model.forward(batch, {});
  ASSERT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 5, 3}));
  const int dialogues[] = {2, 1};
  for (int b = 0; b < 2; ++b) {
    const torch::Tensor x = testing::observed_fused(ds, dialogues[b], {true, true, true});
    const int64_t L = x.size(0);
    const torch::Tensor h1 = torch::relu(testing::linear(p, "hidden0", x));
    const torch::Tensor h2 = torch::relu(testing::linear(p, "hidden1", h1));
    const torch::Tensor y = testing::linear(p, "output", h2);
    EXPECT_TRUE(torch::allclose(out.logits[b].narrow(0, 0, L), y, 0, kMlpPinTol)) << out.logits[b] << y;
    EXPECT_TRUE(torch::allclose(out.features.at("fused")[b].narrow(0, 0, L), h2, 0, kMlpPinTol));
    EXPECT_EQ(out.logits[b].narrow(0, L, 5 - L).abs().sum().item<float>(), 0.0f);  // padding is zero
  }
}

TEST(Mlp, DropoutActsOnlyInTrainingAndIsInvertedDropoutOnHiddenUnits) {
  // Switch `dropout`: in eval the value is irrelevant (the pin above holds for any p); in training
  // each hidden unit is either 0 or relu(.) / (1 - p). With p = 0 training equals eval exactly.
  const data::Dataset ds = testing::sweep_dataset();
  const auto batch = testing::collate_indices(ds, {2, 1});
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  MlpConfig config;
  config.hidden_dim = 5;
  config.dropout = 0.0;
  torch::manual_seed(22);
  MlpModel model(config, dims);
  model.eval();
  const auto eval_out = model.forward(batch, {}).logits;
  model.train();
  EXPECT_TRUE(torch::equal(model.forward(batch, {}).logits, eval_out));
  // p = 0.5, one hidden layer: the fused feature is relu(W x + b) with units dropped or doubled.
  config.dropout = 0.5;
  config.num_layers = 1;
  MlpModel dropped(config, dims);
  dropped.train();
  const auto p = dropped.named_parameters();
  const auto out = dropped.forward(batch, {});
  const torch::Tensor x = testing::observed_fused(ds, 2, {true, true, true});
  const torch::Tensor full = torch::relu(testing::linear(p, "hidden0", x));
  const torch::Tensor got = out.features.at("fused")[0];
  const torch::Tensor kept = got != 0;
  ASSERT_TRUE(((full > 0) & kept.logical_not()).any().item<bool>());  // some active unit was dropped
  EXPECT_TRUE(torch::allclose(got, torch::where(kept, 2 * full, torch::zeros_like(full)), 0, kMlpPinTol));
  EXPECT_TRUE(torch::allclose(out.logits[0], testing::linear(p, "output", got), 0, kMlpPinTol));
}

}  // namespace
}  // namespace merc::models
