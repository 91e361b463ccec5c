#include "merc/models/bc_lstm.h"

#include <map>

#include <gtest/gtest.h>

#include "model_test_util.h"

namespace merc::models {
namespace {

ModelDims mosi_like_dims(std::array<bool, 3> use) {
  ModelDims d;
  d.input_dims = {100, 73, 100};  // text, audio, visual widths of the bc-LSTM CMU-MOSI features
  d.use = use;
  d.task = data::Task::kClassification;
  d.num_classes = 2;
  return d;
}

std::map<std::string, std::vector<int64_t>> parameter_shapes(const Model& m) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().sizes().vec();
  return out;
}

TEST(BcLstm, DefaultSizesAreThoseOfTheAuthorsCode) {
  // lstm.py: Bidirectional(LSTM(300)) -> Dense(100, tanh) per modality; concat -> Bidirectional(
  // LSTM(300)) -> Dense(500, relu) -> Dense(2). Torch stacks the 4 gates: 4 * 300 = 1200 rows.
  BcLstmModel model(BcLstmConfig{}, mosi_like_dims({true, true, true}));
  const auto s = parameter_shapes(model);
  EXPECT_EQ(s.at("text_encoder.lstm.weight_ih_l0"), (std::vector<int64_t>{1200, 100}));
  EXPECT_EQ(s.at("text_encoder.lstm.weight_hh_l0_reverse"), (std::vector<int64_t>{1200, 300}));
  EXPECT_EQ(s.at("audio_encoder.lstm.weight_ih_l0"), (std::vector<int64_t>{1200, 73}));
  EXPECT_EQ(s.at("visual_dense.weight"), (std::vector<int64_t>{100, 600}));
  EXPECT_EQ(s.at("fusion_encoder.lstm.weight_ih_l0"), (std::vector<int64_t>{1200, 300}));
  EXPECT_EQ(s.at("fusion_dense.weight"), (std::vector<int64_t>{500, 600}));
  EXPECT_EQ(s.at("output.weight"), (std::vector<int64_t>{2, 500}));
  EXPECT_EQ(s.count("text_encoder.lstm.weight_ih_l1"), 0u);  // one layer per contextual LSTM
}

TEST(BcLstm, OneModalityIsThePapersUnimodalNetwork) {
  BcLstmModel model(BcLstmConfig{}, mosi_like_dims({false, true, false}));
  const auto s = parameter_shapes(model);
  EXPECT_EQ(s.count("fusion_encoder.lstm.weight_ih_l0"), 0u);
  EXPECT_EQ(s.count("text_dense.weight"), 0u);
  EXPECT_EQ(s.at("output.weight"), (std::vector<int64_t>{2, 100}));  // Dense(2) on the tanh features
}

TEST(BcLstm, GruCellAndExportedFeatures) {
  BcLstmConfig config;
  config.rnn = "gru";
  config.hidden_dim = 4;
  config.unimodal_dim = 3;
  config.fusion_dim = 5;
  const data::Dataset ds = testing::sweep_dataset();
  torch::manual_seed(1);
  BcLstmModel model(config, model_dims(ds.info, {"t", "v"}, data::Task::kClassification));
  EXPECT_EQ(parameter_shapes(model).at("text_encoder.gru.weight_ih_l0"), (std::vector<int64_t>{12, 3}));
  model.eval();
  const auto out = model.forward(testing::collate_indices(ds, {0, 2}), {});
  EXPECT_EQ(out.features.at("text").sizes(), (std::vector<int64_t>{2, 5, 3}));
  EXPECT_EQ(out.features.at("visual").sizes(), (std::vector<int64_t>{2, 5, 3}));
  EXPECT_EQ(out.features.count("audio"), 0u);
  EXPECT_EQ(out.features.at("fused").sizes(), (std::vector<int64_t>{2, 5, 5}));
}

TEST(BcLstm, DropoutActsOnlyInTraining) {
  const data::Dataset ds = testing::sweep_dataset();
  BcLstmConfig config;
  config.hidden_dim = 6;
  torch::manual_seed(2);
  BcLstmModel model(config, model_dims(ds.info, {}, data::Task::kClassification));
  const auto batch = testing::collate_indices(ds, {0, 2});
  model.train();
  EXPECT_FALSE(torch::equal(model.forward(batch, {}).logits, model.forward(batch, {}).logits));
  model.eval();
  EXPECT_TRUE(torch::equal(model.forward(batch, {}).logits, model.forward(batch, {}).logits));
}

TEST(BcLstm, ContextReachesEveryUtteranceOfTheDialogue) {
  // Bidirectional context: changing the last utterance changes the first one's output and vice
  // versa (an utterance-level model would not).
  const data::Dataset ds = testing::sweep_dataset();
  BcLstmConfig config;
  config.hidden_dim = 6;
  torch::manual_seed(3);
  BcLstmModel model(config, model_dims(ds.info, {}, data::Task::kClassification));
  model.eval();
  auto batch = testing::collate_indices(ds, {2});
  const auto before = model.forward(batch, {}).logits;
  batch.features[0][0][4] += 3.0f;
  const auto after = model.forward(batch, {}).logits;
  EXPECT_GT((after[0][0] - before[0][0]).abs().max().item<float>(), 0.0f);
  batch.features[0][0][0] += 3.0f;
  EXPECT_GT((model.forward(batch, {}).logits[0][4] - after[0][4]).abs().max().item<float>(), 0.0f);
}

}  // namespace
}  // namespace merc::models
