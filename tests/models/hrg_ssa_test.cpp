#include "merc/models/hrg_ssa.h"

#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include "merc/core/error.h"
#include "model_test_util.h"

namespace merc::models {
namespace {

HrgSsaConfig tiny_config() {
  HrgSsaConfig c;
  c.name = "hrg_ssa";
  c.window = 2;
  c.gat_layers = 2;
  c.d_model = 8;
  c.num_heads = 2;
  c.d_kv = 4;
  c.d_ff = 8;
  c.detector_dim = 4;
  c.dropout = 0.0;
  return c;
}

std::shared_ptr<HrgSsaModel> build(const HrgSsaConfig& c, const ModelDims& dims, uint64_t seed = 1) {
  torch::manual_seed(seed);
  return std::make_shared<HrgSsaModel>(c, dims);
}

TEST(HrgSsa, ShapesLossesAndTrainingOnlyAlignment) {
  const data::Dataset ds = testing::sweep_dataset();
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2, 3});
  for (auto task : {data::Task::kClassification, data::Task::kRegression}) {
    const ModelDims dims = model_dims(ds.info, {}, task);
    auto model = build(tiny_config(), dims);
    model->train();
    const ModelOutput out = model->forward(batch, ForwardContext{});
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{4, 5, dims.output_dim()}));
    EXPECT_EQ(out.features.at("fused").sizes(), (std::vector<int64_t>{4, 5, 3 * 8}));
    ASSERT_EQ(out.aux_losses.count("con_u"), 1u);
    ASSERT_EQ(out.aux_losses.count("con_c"), 1u);
    EXPECT_GT(out.aux_losses.at("con_u").item<double>(), 0.0);
    EXPECT_GT(out.aux_losses.at("con_c").item<double>(), 0.0);
    model->eval();
    EXPECT_TRUE(model->forward(batch, ForwardContext{}).aux_losses.empty()) << "evaluation computes no SSA loss";
  }
}

TEST(HrgSsa, LabelsNeverReachPredictions) {
  // Emotion nodes carry gold labels of previous turns: they enter only con_u.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto model = build(tiny_config(), dims);
  model->train();  // dropout 0: deterministic
  data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2, 3});
  const ModelOutput a = model->forward(batch, ForwardContext{});
  batch.label = (batch.label + 1).remainder(3) * batch.utterance_mask;
  const ModelOutput b = model->forward(batch, ForwardContext{});
  EXPECT_TRUE(torch::equal(a.logits, b.logits));
  EXPECT_NE(a.aux_losses.at("con_u").item<double>(), b.aux_losses.at("con_u").item<double>());
  EXPECT_EQ(a.aux_losses.at("con_c").item<double>(), b.aux_losses.at("con_c").item<double>());
}

TEST(HrgSsa, WindowsLookOnlyBackAndPaddingDoesNotMatter) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto model = build(tiny_config(), dims);
  model->eval();
  data::DialogueBatch batch = testing::collate_indices(ds, {2});  // 5 utterances
  const torch::Tensor base = model->forward(batch, ForwardContext{}).logits;
  // Changing utterance 4 changes only its own output (it is in no earlier window).
  batch.features[0][0][4] += 1.0;
  const torch::Tensor changed = model->forward(batch, ForwardContext{}).logits;
  EXPECT_TRUE(torch::equal(changed[0].narrow(0, 0, 4), base[0].narrow(0, 0, 4)));
  EXPECT_FALSE(torch::equal(changed[0][4], base[0][4]));
  // Dialogue 2 alone equals dialogue 2 in a padded batch with others (float32 reductions over
  // batches of different sizes may differ in the last bits).
  const torch::Tensor in_batch = model->forward(testing::collate_indices(ds, {0, 2, 3}), ForwardContext{}).logits;
  EXPECT_TRUE(torch::allclose(in_batch[1], base[0], 1e-5, 1e-6));
}

TEST(HrgSsa, SameSeedSameOutputsAndATinyRunLearns) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2, 3});
  HrgSsaConfig c = tiny_config();
  c.dropout = 0.1;
  auto run = [&](uint64_t seed) {
    auto model = build(c, dims, seed);
    model->train();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(0.01));
    std::vector<double> losses;
    for (int step = 0; step < 40; ++step) {
      const ModelOutput out = model->forward(batch, ForwardContext{});
      torch::Tensor loss = testing::task_loss(out.logits, batch, dims.task);
      for (const auto& [name, aux] : out.aux_losses) loss = loss + aux;
      opt.zero_grad();
      loss.backward();
      opt.step();
      losses.push_back(loss.item<double>());
    }
    return losses;
  };
  const auto first = run(3);
  EXPECT_EQ(first, run(3));
  EXPECT_LT(first.back(), 0.5 * first.front()) << "loss " << first.front() << " -> " << first.back();
}

TEST(HrgSsa, QuirkSwitches) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2, 3});
  // Release GAT: edges have no effect, so speakers (which only shape the graphs) change nothing.
  HrgSsaConfig c = tiny_config();
  c.gat_release_overwrite = true;
  auto model = build(c, dims);
  model->eval();
  data::DialogueBatch other = batch;
  other.speaker = (1 - batch.speaker) * batch.utterance_mask;
  other.speaker[2][1] = 0;  // break the alternation so that the cognate edges change
  EXPECT_TRUE(torch::equal(model->forward(batch, {}).logits, model->forward(other, {}).logits));
  auto working = build(tiny_config(), dims);
  working->eval();
  EXPECT_FALSE(torch::equal(working->forward(batch, {}).logits, working->forward(other, {}).logits));

  // Unused emotion GAT: built, run, no gradient, no effect on outputs.
  c = tiny_config();
  c.emotion_gat_unused = true;
  auto with_emotion = build(c, dims);
  ASSERT_TRUE(with_emotion->graphs()->emotion_gat);
  with_emotion->train();
  const ModelOutput out = with_emotion->forward(batch, {});
  (testing::task_loss(out.logits, batch, dims.task) + out.aux_losses.at("con_u") + out.aux_losses.at("con_c")).backward();
  for (const auto& p : with_emotion->graphs()->emotion_gat->parameters()) EXPECT_FALSE(p.grad().defined());
  EXPECT_FALSE(build(tiny_config(), dims)->graphs()->emotion_gat) << "not built by default";

  // implicit_connections false builds no detector.
  c = tiny_config();
  c.implicit_connections = false;
  EXPECT_FALSE(build(c, dims)->graphs()->edge_relation[0]);
}

TEST(HrgSsa, ModalitySubsetsAndTheGenerativeVariantIsAClearError) {
  const data::Dataset ds = testing::sweep_dataset();
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1});
  for (const std::vector<std::string>& mods : {std::vector<std::string>{"t"}, {"a", "v"}, {"v"}, {"t", "a"}}) {
    const ModelDims dims = model_dims(ds.info, mods, data::Task::kClassification);
    auto model = build(tiny_config(), dims);
    model->train();
    const ModelOutput out = model->forward(batch, {});
    EXPECT_EQ(out.features.at("fused").size(2), 8 * dims.num_used());
    EXPECT_EQ(out.aux_losses.count("con_c"), dims.num_used() > 1 ? 1u : 0u);
  }
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  HrgSsaConfig c = tiny_config();
  c.text_encoder = "t5";
  try {
    HrgSsaModel m(c, dims);
    ADD_FAILURE() << "t5 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs the generative variant"), std::string::npos) << e.what();
  }
  c = tiny_config();
  c.head = "generate";
  EXPECT_THROW(HrgSsaModel(c, dims), Error);
}

}  // namespace
}  // namespace merc::models
