#include "merc/models/gcnet.h"

#include <cmath>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/data/missing_protocol.h"
#include "model_test_util.h"

namespace merc::models {
namespace {

// "Same dialogue alone or padded" tolerance, as in model_invariance_test.cpp (BLAS blocking).
constexpr double kGcnetPaddingTol = 1e-5;

GcnetConfig gcnet_tiny_config() {
  GcnetConfig c;
  c.hidden_dim = 3;
  c.graph_hidden_dim = 2;
  c.window_past = 2;
  c.window_future = 1;
  c.dropout = 0.0;
  return c;
}

std::shared_ptr<GcnetModel> gcnet_tiny_model(const GcnetConfig& c, const ModelDims& dims, uint64_t seed = 7) {
  torch::manual_seed(seed);
  auto m = std::make_shared<GcnetModel>(c, dims);
  m->eval();
  return m;
}

// keep (B, T, 3), all true except the listed (b, t, modality) entries.
torch::Tensor gcnet_keep_all_but(const data::DialogueBatch& batch,
                           const std::vector<std::tuple<int64_t, int64_t, data::Modality>>& dropped) {
  torch::Tensor keep = torch::ones_like(batch.modality_mask);
  for (const auto& [b, t, m] : dropped) keep[b][t][static_cast<int64_t>(m)] = false;
  return keep;
}

TEST(Gcnet, DefaultSizesAreThoseOfThePublicCode) {
  // IEMOCAP with the standard features: audio 512 + text 1024 + visual 1024 = 2560, hidden 200,
  // G = hidden / 2 = 100, D_h = 2 * 200 + 100 = 500, two speakers.
  ModelDims dims;
  dims.input_dims = {1024, 512, 1024};
  dims.use = {true, true, true};
  dims.num_classes = 6;
  dims.num_speakers = 2;
  GcnetModel model(GcnetConfig{}, dims);
  std::map<std::string, std::vector<int64_t>> s;
  for (const auto& p : model.named_parameters()) s[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(model.input_dim(), 2560);
  EXPECT_EQ(s.at("encoder.lstm.weight_ih_l0"), (std::vector<int64_t>{800, 2560}));
  EXPECT_EQ(s.at("encoder.lstm.weight_ih_l1_reverse"), (std::vector<int64_t>{800, 400}));
  EXPECT_EQ(s.at("temporal.rgcn.weight"), (std::vector<int64_t>{3, 400, 100}));
  EXPECT_EQ(s.at("speaker.rgcn.weight"), (std::vector<int64_t>{4, 400, 100}));
  EXPECT_EQ(s.at("speaker.rgcn.root"), (std::vector<int64_t>{400, 100}));
  EXPECT_EQ(s.at("temporal.graph_conv.lin_neighbors.weight"), (std::vector<int64_t>{100, 100}));
  EXPECT_EQ(s.at("temporal.sequence.lstm.weight_ih_l0"), (std::vector<int64_t>{2000, 500}));
  EXPECT_EQ(s.at("speaker.linear.weight"), (std::vector<int64_t>{500, 1000}));
  EXPECT_EQ(s.at("smax_fc.weight"), (std::vector<int64_t>{6, 500}));
  EXPECT_EQ(s.at("linear_rec.weight"), (std::vector<int64_t>{2560, 500}));
  EXPECT_EQ(s.count("temporal.attention.transform.weight"), 0u);  // time_attn off by default
}

TEST(Gcnet, ReconstructionLossIsOnDroppedEntriesInTheOrderAudioTextVisual) {
  const data::Dataset ds = testing::sweep_dataset();  // text 3, audio 2, visual 4
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  // linear_rec made constant (weight 0, bias c_j = 0.1 (j + 1) (-1)^j): the reconstruction is c
  // at every position, so the expected loss follows from c and the dataset's feature formula
  // alone, not from any model output.
  std::vector<double> c(9);
  for (int j = 0; j < 9; ++j) c[j] = 0.1 * (j + 1) * (j % 2 == 0 ? 1 : -1);
  auto constant_rec = [&](GcnetModel& m) {
    torch::NoGradGuard no_grad;
    auto params = m.named_parameters();
    params["linear_rec.weight"].zero_();
    for (int j = 0; j < 9; ++j) params["linear_rec.bias"][j] = c[j];
  };
  auto model = gcnet_tiny_model(gcnet_tiny_config(), dims);
  constant_rec(*model);
  data::DialogueBatch batch = testing::collate_indices(ds, {0, 2});  // lengths 4, 5: 9 utterances
  data::apply_missing(batch, gcnet_keep_all_but(batch, {{0, 1, data::Modality::kAudio}, {1, 3, data::Modality::kVisual}}));
  const ModelOutput out = model->forward(batch, {});
  ASSERT_EQ(out.aux_losses.count("recon"), 1u);
  // sweep_dataset feature j of modality m (text 0, audio 1, visual 2) of dialogue d, utterance u:
  // sin(0.3 + 1.7 d + 1.3 u + 0.9 j + 2.1 m). Reconstruction columns: audio 0-1, text 2-4, visual
  // 5-8. Dropped: audio of dialogue 0 utterance 1, visual of dataset dialogue 2 utterance 3.
  // loss = (||c_a - a(0, 1)||^2 / 2 + ||c_v - v(2, 3)||^2 / 4) / 9.
  auto feature = [](int d, int u, int j, int m) { return std::sin(0.3 + 1.7 * d + 1.3 * u + 0.9 * j + 2.1 * m); };
  double audio = 0, visual = 0;
  for (int j = 0; j < 2; ++j) audio += std::pow(c[j] - feature(0, 1, j, 1), 2);
  for (int j = 0; j < 4; ++j) visual += std::pow(c[5 + j] - feature(2, 3, j, 2), 2);
  const double expected = (audio / 2 + visual / 4) / 9;
  // 1e-6: float32 sums of a few O(1) squares.
  EXPECT_NEAR(out.aux_losses.at("recon").item<double>(), expected, 1e-6);
  EXPECT_GT(expected, 0.1);
  // recon_weight scales it.
  GcnetConfig weighted = gcnet_tiny_config();
  weighted.recon_weight = 0.25;
  auto weighted_model = gcnet_tiny_model(weighted, dims);
  constant_rec(*weighted_model);
  EXPECT_NEAR(weighted_model->forward(batch, {}).aux_losses.at("recon").item<double>(), expected / 4, 1e-6);
}

TEST(Gcnet, GradientReachesLinearRecOnlyThroughMissingEntries) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto model = gcnet_tiny_model(gcnet_tiny_config(), dims);
  data::DialogueBatch batch = testing::collate_indices(ds, {0, 2});
  data::apply_missing(batch, gcnet_keep_all_but(batch, {{0, 1, data::Modality::kAudio}, {1, 3, data::Modality::kVisual}}));
  model->zero_grad();
  model->forward(batch, {}).aux_losses.at("recon").backward();
  // Rows of linear_rec = reconstructed columns: audio 0-1 and visual 5-8 were dropped somewhere,
  // text 2-4 never: its rows get exactly zero gradient, the others do not.
  for (const torch::Tensor& g : {model->named_parameters()["linear_rec.weight"].grad(),
                                 model->named_parameters()["linear_rec.bias"].grad().unsqueeze(1)}) {
    ASSERT_TRUE(g.defined());
    EXPECT_EQ(g.narrow(0, 2, 3).abs().max().item<float>(), 0.0f) << g;
    // (Per row: single entries can be 0 where a hidden unit is cut off by the ReLU.)
    EXPECT_GT(g.narrow(0, 0, 2).abs().sum(1).min().item<float>(), 0.0f) << g;
    EXPECT_GT(g.narrow(0, 5, 4).abs().sum(1).min().item<float>(), 0.0f) << g;
  }
}

TEST(Gcnet, NothingDroppedMeansNoReconstructionLoss) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto model = gcnet_tiny_model(gcnet_tiny_config(), dims);
  // Without any protocol (no unmasked features recorded) nothing is missing.
  data::DialogueBatch batch = testing::collate_indices(ds, {1, 2});
  EXPECT_EQ(model->forward(batch, {}).aux_losses.at("recon").item<float>(), 0.0f);
  // Dialogue 1 utterance 0 lacks visual IN THE DATA: with a protocol that keeps everything it is
  // still not a reconstruction target (its true value is unknown).
  ASSERT_FALSE(batch.modality_mask[0][0][2].item<bool>());
  data::apply_missing(batch, torch::ones_like(batch.modality_mask));
  EXPECT_EQ(model->forward(batch, {}).aux_losses.at("recon").item<float>(), 0.0f);
  // loss_recon off: no aux loss at all.
  GcnetConfig off = gcnet_tiny_config();
  off.loss_recon = false;
  EXPECT_TRUE(gcnet_tiny_model(off, dims)->forward(batch, {}).aux_losses.empty());
}

TEST(Gcnet, ReferenceRowsReadTheUtteranceMaskTransposed) {
  // Batch of lengths 5 and 1 (T = 5, B = 2): umask.flatten() = 1 1 1 1 1 1 0 0 0 0, read as
  // (T, B) rows t * B + b: row (b, t) counts when [[1,1],[1,1],[1,0],[0,0],[0,0]][t][b], i.e.
  // dialogue 0 counts t = 0..2 only. A dropped entry at (0, 4) is in the aligned loss only.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  GcnetConfig quirk = gcnet_tiny_config();
  quirk.recon_reference_rows = true;
  auto aligned_model = gcnet_tiny_model(gcnet_tiny_config(), dims);
  auto quirk_model = gcnet_tiny_model(quirk, dims);
  data::DialogueBatch late = testing::collate_indices(ds, {2, 3});
  data::apply_missing(late, gcnet_keep_all_but(late, {{0, 4, data::Modality::kText}}));
  EXPECT_GT(aligned_model->forward(late, {}).aux_losses.at("recon").item<float>(), 0.0f);
  EXPECT_EQ(quirk_model->forward(late, {}).aux_losses.at("recon").item<float>(), 0.0f);
  // At (0, 1) both count it, with the same denominator (6 real utterances).
  data::DialogueBatch early = testing::collate_indices(ds, {2, 3});
  data::apply_missing(early, gcnet_keep_all_but(early, {{0, 1, data::Modality::kText}}));
  const float a = aligned_model->forward(early, {}).aux_losses.at("recon").item<float>();
  EXPECT_GT(a, 0.0f);
  EXPECT_EQ(quirk_model->forward(early, {}).aux_losses.at("recon").item<float>(), a);
}

TEST(Gcnet, UnpackedRecurrenceReadsPaddingPackedDoesNot) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  torch::NoGradGuard no_grad;
  for (bool pack : {false, true}) {
    GcnetConfig c = gcnet_tiny_config();
    c.pack = pack;
    c.time_attn = true;
    auto model = gcnet_tiny_model(c, dims);
    const auto alone = model->forward(testing::collate_indices(ds, {1}), {}).logits;       // length 2
    const auto padded = model->forward(testing::collate_indices(ds, {2, 1}), {}).logits;  // padded to 5
    const bool same = torch::allclose(padded[1].narrow(0, 0, 2), alone[0], 0, kGcnetPaddingTol);
    // The reference's LSTM runs over the 3 padding steps, so the backward direction differs.
    EXPECT_EQ(same, pack) << "pack = " << pack << "\n" << padded[1] << "\n" << alone[0];
  }
}

TEST(Gcnet, RecclsClassifiesFromTheReconstructionAndKeepsTheFirstPassLoss) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kRegression);
  GcnetConfig c = gcnet_tiny_config();
  c.reccls = true;
  auto plain = gcnet_tiny_model(gcnet_tiny_config(), dims);
  auto rec = gcnet_tiny_model(c, dims);  // same seed, same parameters (reccls adds none)
  data::DialogueBatch batch = testing::collate_indices(ds, {0, 2});
  data::apply_missing(batch, gcnet_keep_all_but(batch, {{0, 1, data::Modality::kAudio}}));
  const ModelOutput a = plain->forward(batch, {}), b = rec->forward(batch, {});
  EXPECT_EQ(a.logits.sizes(), b.logits.sizes());
  EXPECT_FALSE(torch::allclose(a.logits, b.logits));
  EXPECT_EQ(a.aux_losses.at("recon").item<float>(), b.aux_losses.at("recon").item<float>());
}

TEST(Gcnet, BadConfigIsAClearError) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto expect_error = [&](const GcnetConfig& c, const std::string& what) {
    try {
      GcnetModel m(c, dims);
      FAIL() << "expected an error about " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  GcnetConfig c = gcnet_tiny_config();
  c.hidden_dim = 1;
  c.graph_hidden_dim = 0;
  expect_error(c, "graph_hidden_dim = hidden_dim / 2 is 0");
  c = gcnet_tiny_config();
  c.rnn = "transformer";
  expect_error(c, "unknown recurrent cell 'transformer'");
  c = gcnet_tiny_config();
  c.dropout = 1.0;
  expect_error(c, "dropout must be in [0, 1)");
  c = gcnet_tiny_config();
  c.recon_weight = -1;
  expect_error(c, "recon_weight must be >= 0");
}

}  // namespace
}  // namespace merc::models
