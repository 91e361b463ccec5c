#include "merc/models/mlp.h"

#include <gtest/gtest.h>

#include "model_test_util.h"

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

}  // namespace
}  // namespace merc::models
