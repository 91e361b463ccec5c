// Contract properties every registered model must have (design.md "Contracts every model
// shares"), checked for each row of the registry at tiny size in eval mode:
//   - padding invariance: a dialogue's outputs are the same alone or padded next to a longer one;
//   - modality subset: features of a modality the model does not use do not change its output;
//   - masked modality: features where modality_mask is false do not change its output;
//   - layout: a time-major batch gives the same output as the batch-major one.

#include <gtest/gtest.h>

#include "merc/models/registry.h"
#include "model_test_util.h"

namespace merc::models {
namespace {

// Float tolerance for "same dialogue alone vs in a padded batch": identical arithmetic except
// that BLAS may block matmuls of different batch sizes differently (last-bit float32 changes,
// ~1e-7 relative, through a few tiny layers); 1e-5 absolute on O(1) logits leaves margin.
constexpr double kPaddingTol = 1e-5;

std::shared_ptr<Model> tiny_eval_model(const std::string& name, const ModelDims& dims) {
  const ModelEntry& entry = find_model(name);
  auto config = entry.make_config();
  entry.make_tiny(*config);
  torch::manual_seed(5);
  auto model = entry.build(*config, dims);
  model->eval();
  return model;
}

std::vector<std::string> registry_model_names() {
  std::vector<std::string> names;
  for (const ModelEntry& e : model_registry()) names.push_back(e.name);
  return names;
}

class ModelInvariance : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelInvariance, DialogueAloneEqualsDialogueInPaddedBatch) {
  const data::Dataset ds = testing::sweep_dataset();
  for (data::Task task : {data::Task::kClassification, data::Task::kRegression}) {
    auto model = tiny_eval_model(GetParam(), model_dims(ds.info, {}, task));
    torch::NoGradGuard no_grad;
    // Dialogue 1 (length 2) alone, and after dialogue 2 (length 5) in one batch.
    const auto alone = model->forward(testing::collate_indices(ds, {1}), {}).logits;
    const auto batched = model->forward(testing::collate_indices(ds, {2, 1}), {}).logits;
    ASSERT_EQ(alone.size(1), 2);
    EXPECT_TRUE(torch::allclose(batched[1].narrow(0, 0, 2), alone[0], 0, kPaddingTol))
        << GetParam() << "\nbatched\n" << batched[1] << "\nalone\n" << alone[0];
    // And the longer dialogue is unaffected by its short neighbour.
    const auto long_alone = model->forward(testing::collate_indices(ds, {2}), {}).logits;
    EXPECT_TRUE(torch::allclose(batched[0], long_alone[0], 0, kPaddingTol)) << GetParam();
  }
}

TEST_P(ModelInvariance, UnusedModalityDoesNotChangeOutput) {
  const data::Dataset ds = testing::sweep_dataset();
  auto model = tiny_eval_model(GetParam(), model_dims(ds.info, {"text", "audio"}, data::Task::kClassification));
  torch::NoGradGuard no_grad;
  data::DialogueBatch batch = testing::collate_indices(ds, {0, 2});
  const auto before = model->forward(batch, {}).logits;
  torch::manual_seed(17);
  batch.features[2] = torch::randn_like(batch.features[2]) * 10;  // visual, not used
  EXPECT_TRUE(torch::equal(model->forward(batch, {}).logits, before)) << GetParam();
  batch.features[2] = torch::Tensor();  // even absent
  EXPECT_TRUE(torch::equal(model->forward(batch, {}).logits, before)) << GetParam();
  // Sanity (the check above can fail): a used modality does change the output.
  batch.features[1] = torch::randn_like(batch.features[1]) * 10;
  EXPECT_FALSE(torch::equal(model->forward(batch, {}).logits, before)) << GetParam();
}

TEST_P(ModelInvariance, MaskedFeaturesDoNotChangeOutput) {
  const data::Dataset ds = testing::sweep_dataset();
  auto model = tiny_eval_model(GetParam(), model_dims(ds.info, {}, data::Task::kClassification));
  torch::NoGradGuard no_grad;
  data::DialogueBatch batch = testing::collate_indices(ds, {1, 2, 3});  // dialogue 1 lacks visual at 0
  ASSERT_FALSE(batch.modality_mask[0][0][2].item<bool>());
  // Hide more: text of dialogue 2 utterance 3, audio of dialogue 3 utterance 0.
  batch.modality_mask[1][3][0] = false;
  batch.modality_mask[2][0][1] = false;
  const auto before = model->forward(batch, {}).logits;
  torch::manual_seed(18);
  for (int m = 0; m < data::kNumModalities; ++m) {
    const auto hidden = batch.modality_mask.select(2, m).logical_not().unsqueeze(-1);
    batch.features[m] = torch::where(hidden, torch::randn_like(batch.features[m]) * 10, batch.features[m]);
  }
  EXPECT_TRUE(torch::equal(model->forward(batch, {}).logits, before)) << GetParam();
  // Sanity: changing an observed value does change the output.
  batch.features[0][1][0] += 5.0f;
  EXPECT_FALSE(torch::equal(model->forward(batch, {}).logits, before)) << GetParam();
}

TEST_P(ModelInvariance, TimeMajorBatchGivesTheSameOutput) {
  const data::Dataset ds = testing::sweep_dataset();
  auto model = tiny_eval_model(GetParam(), model_dims(ds.info, {}, data::Task::kClassification));
  torch::NoGradGuard no_grad;
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2});
  EXPECT_TRUE(torch::equal(model->forward(batch.time_major(), {}).logits, model->forward(batch, {}).logits));
}

TEST_P(ModelInvariance, WrongFeatureWidthIsAClearError) {
  const data::Dataset ds = testing::sweep_dataset();
  auto model = tiny_eval_model(GetParam(), model_dims(ds.info, {}, data::Task::kClassification));
  data::DialogueBatch batch = testing::collate_indices(ds, {0});
  batch.features[1] = torch::zeros({1, 4, 7});
  try {
    model->forward(batch, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected audio features of shape (1, 4, 2), got (1, 4, 7)"),
              std::string::npos)
        << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(AllModels, ModelInvariance, ::testing::ValuesIn(registry_model_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace merc::models
