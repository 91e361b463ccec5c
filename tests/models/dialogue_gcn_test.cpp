#include "merc/models/dialogue_gcn.h"

#include <map>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "model_test_util.h"

namespace merc::models {
namespace {

std::map<std::string, std::vector<int64_t>> gcn_parameter_shapes(const Model& m) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().sizes().vec();
  return out;
}

TEST(DialogueGcn, DefaultSizesAreThoseOfThePublicCode) {
  ModelDims dims;
  dims.input_dims = {100, 73, 0};
  dims.use = {true, true, false};
  dims.num_classes = 6;
  dims.num_speakers = 2;
  DialogueGcnModel model(DialogueGcnConfig{}, dims);
  const auto s = gcn_parameter_shapes(model);
  EXPECT_EQ(s.at("proj.weight"), (std::vector<int64_t>{100, 173}));
  // 2-layer BiGRU, D_e = 100: 3 gates * 100 rows; layer 2 reads both directions (200).
  EXPECT_EQ(s.at("context.gru.weight_ih_l0"), (std::vector<int64_t>{300, 100}));
  EXPECT_EQ(s.at("context.gru.weight_ih_l1_reverse"), (std::vector<int64_t>{300, 200}));
  EXPECT_EQ(s.at("edge_attention.weight"), (std::vector<int64_t>{200, 200}));
  // 2 M^2 = 8 relations, 30 bases, 200 -> 100; then GraphConv 100 -> 100.
  EXPECT_EQ(s.at("rgcn.comp"), (std::vector<int64_t>{8, 30}));
  EXPECT_EQ(s.at("rgcn.basis"), (std::vector<int64_t>{30, 200, 100}));
  EXPECT_EQ(s.at("rgcn.root"), (std::vector<int64_t>{200, 100}));
  EXPECT_EQ(s.at("graph_conv.lin_neighbors.weight"), (std::vector<int64_t>{100, 100}));
  EXPECT_EQ(s.at("classifier_hidden.weight"), (std::vector<int64_t>{100, 300}));
  EXPECT_EQ(s.at("output.weight"), (std::vector<int64_t>{6, 100}));
  // Many speakers stay cheap: 9 speakers -> 162 relations share the 30 bases.
  dims.num_speakers = 9;
  EXPECT_EQ(gcn_parameter_shapes(DialogueGcnModel(DialogueGcnConfig{}, dims)).at("rgcn.comp"),
            (std::vector<int64_t>{162, 30}));
}

std::shared_ptr<DialogueGcnModel> tiny_gcn(const ModelDims& dims, int64_t window_past = 2, int64_t window_future = 1) {
  DialogueGcnConfig c;
  c.proj_dim = 5;
  c.hidden_dim = 3;
  c.window_past = window_past;
  c.window_future = window_future;
  c.graph_hidden_dim = 4;
  c.num_bases = 3;
  c.classifier_hidden_dim = 4;
  torch::manual_seed(4);
  auto model = std::make_shared<DialogueGcnModel>(c, dims);
  model->eval();
  return model;
}

TEST(DialogueGcn, SpeakersChangeTheRelationsAndTheOutput) {
  const data::Dataset ds = testing::sweep_dataset();
  auto model = tiny_gcn(model_dims(ds.info, {}, data::Task::kClassification));
  auto batch = testing::collate_indices(ds, {2, 0});
  const auto before = model->forward(batch, {}).logits;
  batch.speaker[0] = 1 - batch.speaker[0];  // swap the two speakers of dialogue 2 (padding stays 0)
  const auto after = model->forward(batch, {}).logits;
  EXPECT_FALSE(torch::allclose(after[0], before[0])) << "speaker relations had no effect";
  // Dialogue 0 is its own graph: untouched.
  EXPECT_TRUE(torch::equal(after[1], before[1]));
}

TEST(DialogueGcn, SpeakerOutsideTheDatasetSlotsIsAnError) {
  const data::Dataset ds = testing::sweep_dataset();
  auto model = tiny_gcn(model_dims(ds.info, {}, data::Task::kClassification));
  auto batch = testing::collate_indices(ds, {0});
  batch.speaker[0][1] = 2;  // 2 speaker slots
  try {
    model->forward(batch, {});
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("has speaker 2, expected [0, 2)"), std::string::npos) << e.what();
  }
}

TEST(DialogueGcn, FusedFeaturesConcatenateContextAndGraph) {
  const data::Dataset ds = testing::sweep_dataset();
  auto model = tiny_gcn(model_dims(ds.info, {"a"}, data::Task::kRegression));
  const auto out = model->forward(testing::collate_indices(ds, {0, 3}), {});
  EXPECT_EQ(out.features.at("fused").sizes(), (std::vector<int64_t>{2, 4, 2 * 3 + 4}));
  EXPECT_EQ(out.features.at("fused")[1].narrow(0, 1, 3).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 4, 1}));
}

}  // namespace
}  // namespace merc::models
