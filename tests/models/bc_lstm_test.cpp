#include "merc/models/bc_lstm.h"

#include <map>

#include <gtest/gtest.h>

#include "model_test_util.h"
#include "reference_ops.h"

namespace merc::models {

namespace bc_lstm_pin {

// Float32 through two stacked BiLSTMs of <= 5 steps and three dense layers (widths <= 9, O(1)
// values): ~1e-7 relative per op, a few hundred ops deep; 2e-5 absolute leaves margin and is far
// below the effect of any real mistake (O(1e-2) or more).
constexpr double kTol = 2e-5;

const char* const kNames[] = {"text", "audio", "visual"};

// merc's default bc_lstm (configs/models/bc_lstm.yaml) with only the widths shrunk:
// hidden_dim 300 -> 4, unimodal_dim 100 -> 3, fusion_dim 500 -> 5. rnn and every dropout stay.
BcLstmConfig small_config() {
  BcLstmConfig c;
  c.hidden_dim = 4;
  c.unimodal_dim = 3;
  c.fusion_dim = 5;
  return c;
}

struct Expected {
  std::map<std::string, torch::Tensor> unimodal;  // per used modality, (L, unimodal_dim)
  torch::Tensor fused, logits;
};

// The header's equations for dialogue d of ds, written out: per used modality a BiLSTM (or BiGRU)
// over the dialogue's own utterances, tanh dense; with >= 2 modalities a fusion BiLSTM over
// [u_text ; u_audio ; u_visual], ReLU dense; output layer. `scale[m]` multiplies modality m's
// input (the input-dropout mask), `fusion_scale` the fusion input.
Expected recompute(const testing::ParamDict& p, const data::Dataset& ds, int d, std::array<bool, 3> use, bool gru,
                   std::array<torch::Tensor, 3> scale = {}, torch::Tensor fusion_scale = {}) {
  const std::string cell = gru ? ".gru" : ".lstm";
  Expected e;
  std::vector<torch::Tensor> us;
  for (int m = 0; m < 3; ++m) {
    if (!use[m]) continue;
    torch::Tensor x = testing::observed_features(ds, d, static_cast<data::Modality>(m));
    if (scale[m].defined()) x = x * scale[m];
    const torch::Tensor c = testing::birnn(p, std::string(kNames[m]) + "_encoder" + cell, 1, gru, x);
    const torch::Tensor u = torch::tanh(testing::linear(p, std::string(kNames[m]) + "_dense", c));
    e.unimodal[kNames[m]] = u;
    us.push_back(u);
  }
  e.fused = us.front();
  if (us.size() > 1) {
    torch::Tensor f = torch::cat(us, 1);
    if (fusion_scale.defined()) f = f * fusion_scale;
    e.fused = torch::relu(testing::linear(p, "fusion_dense", testing::birnn(p, "fusion_encoder" + cell, 1, gru, f)));
  }
  e.logits = testing::linear(p, "output", e.fused);
  return e;
}

// Builds the model, runs dialogues {2, 1} (lengths 5, 2) in one batch in eval mode and checks
// logits and every exported feature against recompute(), and zeros at padding.
void check_against_recomputation(const BcLstmConfig& config, const std::vector<std::string>& modalities) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, modalities, data::Task::kClassification);
  torch::manual_seed(31);
  BcLstmModel model(config, dims);
  model.eval();
  const auto p = model.named_parameters();
  const auto out = model.forward(testing::collate_indices(ds, {2, 1}), {});
  const int dialogues[] = {2, 1};
  for (int b = 0; b < 2; ++b) {
    const Expected e = recompute(p, ds, dialogues[b], dims.use, config.rnn == "gru");
    const int64_t L = e.logits.size(0);
    EXPECT_TRUE(torch::allclose(out.logits[b].narrow(0, 0, L), e.logits, 0, kTol)) << out.logits[b] << e.logits;
    EXPECT_TRUE(torch::allclose(out.features.at("fused")[b].narrow(0, 0, L), e.fused, 0, kTol));
    for (const auto& [name, u] : e.unimodal)
      EXPECT_TRUE(torch::allclose(out.features.at(name)[b].narrow(0, 0, L), u, 0, kTol)) << name;
    EXPECT_EQ(out.features.size(), e.unimodal.size() + 1);
    EXPECT_EQ(out.logits[b].narrow(0, L, 5 - L).abs().sum().item<float>(), 0.0f);
  }
}

// All 2^D keep/drop masks of width D scaled by 1 / (1 - p) = 2 (p = 0.5).
std::vector<torch::Tensor> all_masks(int64_t D) {
  std::vector<torch::Tensor> out;
  for (int64_t bits = 0; bits < (int64_t{1} << D); ++bits) {
    torch::Tensor m = torch::zeros({D});
    for (int64_t j = 0; j < D; ++j) m[j] = (bits >> j & 1) ? 2.0f : 0.0f;
    out.push_back(m);
  }
  return out;
}

// How many of `candidates` give `actual` (the others differ by far more than the tolerance).
template <class F>
int matching_masks(const std::vector<torch::Tensor>& candidates, const torch::Tensor& actual, F expected_for) {
  int n = 0;
  for (const auto& m : candidates) n += torch::allclose(actual, expected_for(m), 0, kTol) ? 1 : 0;
  return n;
}

// For dialogues {2, 1} in one batch: exactly one of the 2^D masks makes the recomputation equal
// each dialogue's logits. expected_for(dialogue, mask) -> (L, C) logits.
template <class F>
void expect_one_mask_per_dialogue(const data::Dataset& ds, const torch::Tensor& logits, int64_t D, F expected_for) {
  const int dialogues[] = {2, 1};
  for (int b = 0; b < 2; ++b) {
    const int64_t L = ds.dialogues[static_cast<size_t>(dialogues[b])].utterances.size();
    EXPECT_EQ(matching_masks(all_masks(D), logits[b].narrow(0, 0, L),
                             [&](const torch::Tensor& m) { return expected_for(dialogues[b], m); }),
              1)
        << "dialogue " << dialogues[b];
  }
}

}  // namespace bc_lstm_pin
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

TEST(BcLstm, DefaultForwardEqualsADenseRecomputation) {
  // Default: LSTM cells, all three modalities, hierarchical fusion (dropouts 0.6/0.4/0.9 inert in eval).
  bc_lstm_pin::check_against_recomputation(bc_lstm_pin::small_config(), {});
}

TEST(BcLstm, GruCellSwitchEqualsARecomputationWithGruGates) {
  BcLstmConfig c = bc_lstm_pin::small_config();
  c.rnn = "gru";
  bc_lstm_pin::check_against_recomputation(c, {});
}

TEST(BcLstm, ModalitySubsetsFuseInTextAudioVisualOrderOrSkipFusion) {
  // Two modalities: fusion over [u_text ; u_visual]. One modality: no fusion, head on u_audio.
  bc_lstm_pin::check_against_recomputation(bc_lstm_pin::small_config(), {"v", "t"});
  bc_lstm_pin::check_against_recomputation(bc_lstm_pin::small_config(), {"a"});
}

TEST(BcLstm, TrainingWithoutDropoutEqualsTheEvalRecomputation) {
  // Switch values 0 for the three dropouts: the training forward is then the eval forward exactly
  // (nothing else differs between modes).
  const data::Dataset ds = testing::sweep_dataset();
  BcLstmConfig c = bc_lstm_pin::small_config();
  c.input_dropout = c.fusion_input_dropout = c.dropout = 0;
  torch::manual_seed(32);
  BcLstmModel model(c, model_dims(ds.info, {}, data::Task::kClassification));
  model.train();
  const auto p = model.named_parameters();
  const auto logits = model.forward(testing::collate_indices(ds, {2, 1}), {}).logits;
  EXPECT_TRUE(torch::allclose(logits[0], bc_lstm_pin::recompute(p, ds, 2, {true, true, true}, false).logits, 0,
                              bc_lstm_pin::kTol));
  EXPECT_TRUE(torch::allclose(logits[1].narrow(0, 0, 2),
                              bc_lstm_pin::recompute(p, ds, 1, {true, true, true}, false).logits, 0,
                              bc_lstm_pin::kTol));
}

TEST(BcLstm, InputDropoutIsOneMaskPerDialogueAndFeature) {
  // input_dropout = 0.5 alone (the others 0), training: each dialogue's text input is x times ONE
  // mask over the 3 features, the same at every utterance, kept values doubled. Exactly one of the
  // 8 possible masks reproduces each dialogue's output (a per-utterance mask would match none).
  const data::Dataset ds = testing::sweep_dataset();
  BcLstmConfig c = bc_lstm_pin::small_config();
  c.input_dropout = 0.5;
  c.fusion_input_dropout = c.dropout = 0;
  torch::manual_seed(33);
  BcLstmModel model(c, model_dims(ds.info, {"t"}, data::Task::kClassification));
  model.train();
  const auto p = model.named_parameters();
  const auto logits = model.forward(testing::collate_indices(ds, {2, 1}), {}).logits;
  bc_lstm_pin::expect_one_mask_per_dialogue(ds, logits, 3, [&](int d, const torch::Tensor& m) {
    return bc_lstm_pin::recompute(p, ds, d, {true, false, false}, false, {m, {}, {}}).logits;
  });
}

TEST(BcLstm, FusionInputDropoutIsOneMaskPerDialogueOnTheFusedUnimodalFeatures) {
  // fusion_input_dropout = 0.5 alone, text + audio: the fusion LSTM reads [u_t ; u_a]
  // times one mask per dialogue; exactly one of the 16 masks reproduces the output (unimodal_dim
  // shrunk to 2 so the fused input is 4 wide: 16 candidates keep the test fast).
  const data::Dataset ds = testing::sweep_dataset();
  BcLstmConfig c = bc_lstm_pin::small_config();
  c.unimodal_dim = 2;
  c.fusion_input_dropout = 0.5;
  c.input_dropout = c.dropout = 0;
  torch::manual_seed(34);
  BcLstmModel model(c, model_dims(ds.info, {"t", "a"}, data::Task::kClassification));
  model.train();
  const auto p = model.named_parameters();
  const auto logits = model.forward(testing::collate_indices(ds, {2, 1}), {}).logits;
  bc_lstm_pin::expect_one_mask_per_dialogue(ds, logits, 4, [&](int d, const torch::Tensor& m) {
    return bc_lstm_pin::recompute(p, ds, d, {true, true, false}, false, {}, m).logits;
  });
}

}  // namespace
}  // namespace merc::models
