#include "merc/models/dialogue_gcn.h"

#include <map>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/nn/graph/node_batch.h"
#include "model_test_util.h"
#include "reference_ops.h"

namespace merc::models {

namespace dgcn_pin {

// Float32 through a 2-layer BiGRU (<= 5 steps), a softmax, two graph layers and two dense layers
// (widths <= 10, O(1) values): ~1e-7 relative per op, a few hundred ops deep; 2e-5 absolute
// leaves margin and is far below the effect of any real mistake (O(1e-2) or more).
constexpr double kTol = 2e-5;

// merc's default dialogue_gcn (configs/models/dialogue_gcn.yaml) with only widths shrunk:
// proj_dim 100 -> 5, hidden_dim 100 -> 3, graph_hidden_dim 100 -> 4, classifier_hidden_dim
// 100 -> 4. rnn = gru, num_layers = 2, window 10/10, num_bases = 30, dropout 0.5 stay.
DialogueGcnConfig small_config() {
  DialogueGcnConfig c;
  c.proj_dim = 5;
  c.hidden_dim = 3;
  c.graph_hidden_dim = 4;
  c.classifier_hidden_dim = 4;
  return c;
}

struct Expected {
  torch::Tensor logits, fused;  // (N, C), (N, 2 hidden + graph_hidden) over the nodes of all dialogues
};

// DialogueGCN (dialogue_gcn.h, the paper's Eq. 1-3, 7-9) for the dialogues `dialogues` of ds with
// a DENSE adjacency built from the definition: target i receives an edge from every j of its
// dialogue with i - window_past <= j <= i + window_future (negative = unbounded), relation
// (speaker(j) * M + speaker(i)) * 2 + (j < i ? 0 : 1).
Expected recompute(const testing::ParamDict& p, const data::Dataset& ds, const std::vector<int>& dialogues,
                   std::array<bool, 3> use, const DialogueGcnConfig& c) {
  const bool gru = c.rnn == "gru";
  const int64_t M = ds.info.num_speakers;
  std::vector<torch::Tensor> gs;
  std::vector<int64_t> dialogue_of, position, speaker;
  for (int d : dialogues) {
    torch::Tensor x = testing::observed_fused(ds, d, use);
    if (c.proj_dim > 0) x = testing::linear(p, "proj", x);
    gs.push_back(testing::birnn(p, gru ? "context.gru" : "context.lstm", static_cast<int>(c.num_layers), gru, x));
    const auto& utts = ds.dialogues[static_cast<size_t>(d)].utterances;
    for (size_t u = 0; u < utts.size(); ++u) {
      dialogue_of.push_back(d);
      position.push_back(static_cast<int64_t>(u));
      speaker.push_back(utts[u].speaker);
    }
  }
  const torch::Tensor g = torch::cat(gs, 0);
  const int64_t N = g.size(0), R = 2 * M * M;
  torch::Tensor edge = torch::zeros({N, N}, torch::kBool);   // edge[i][j]: j -> i
  torch::Tensor rel = torch::full({N, N}, -1, torch::kLong);  // its relation
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) {
      if (dialogue_of[i] != dialogue_of[j]) continue;
      const int64_t off = position[j] - position[i];
      if ((c.window_past >= 0 && off < -c.window_past) || (c.window_future >= 0 && off > c.window_future)) continue;
      edge[i][j] = true;
      rel[i][j] = (speaker[j] * M + speaker[i]) * 2 + (position[j] < position[i] ? 0 : 1);
    }
  // Eq. 1: alpha[i][j] = softmax over the sources j of i of g_i^T W_e g_j.
  const torch::Tensor score = g.mm(p["edge_attention.weight"]).mm(g.t());
  const torch::Tensor alpha = torch::softmax(score.masked_fill(edge.logical_not(), -INFINITY), 1);
  // Eq. 2: W_r = sum_k comp[r][k] basis[k] (or one full W_r each); self term root; bias.
  torch::Tensor W;
  if (c.num_bases > 0) {
    const torch::Tensor basis = p["rgcn.basis"];
    W = p["rgcn.comp"].mm(basis.reshape({basis.size(0), -1})).reshape({R, basis.size(1), basis.size(2)});
  } else {
    W = p["rgcn.weight"];
  }
  torch::Tensor h = g.mm(p["rgcn.root"]) + p["rgcn.bias"];
  for (int64_t r = 0; r < R; ++r) h = h + (alpha * (rel == r).to(torch::kFloat)).mm(g.mm(W[r]));
  // Eq. 3: GraphConv, unweighted sum over the same edges.
  const torch::Tensor h2 =
      h.mm(p["graph_conv.lin_root.weight"].t()) + testing::linear(p, "graph_conv.lin_neighbors", edge.to(torch::kFloat).mm(h));
  // Eq. 7-9 without nodal attention.
  Expected e;
  e.fused = torch::cat({g, h2}, 1);
  e.logits = testing::linear(p, "output", torch::relu(testing::linear(p, "classifier_hidden", e.fused)));
  return e;
}

// Builds the model (eval), gives the zero-initialised RGCN bias distinct values, runs dialogues
// {2, 1} (lengths 5, 2; dialogue 2 has speakers 0, 0, 1, 0, 1) in one batch and compares logits and
// fused features at the real utterances with recompute(), and zeros at padding.
// Returns the model's node logits (N, C), for comparisons between switch settings.
torch::Tensor check_against_recomputation(const DialogueGcnConfig& config, const std::vector<std::string>& modalities = {},
                                          bool train_mode = false) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, modalities, data::Task::kClassification);
  torch::manual_seed(41);
  DialogueGcnModel model(config, dims);
  if (train_mode) model.train(); else model.eval();
  const auto p = model.named_parameters();
  {
    torch::NoGradGuard no_grad;
    p["rgcn.bias"].copy_(0.1 * torch::arange(1, config.graph_hidden_dim + 1, torch::kFloat));
  }
  const auto batch = testing::collate_indices(ds, {2, 1});
  const auto out = model.forward(batch, {});
  const Expected e = recompute(p, ds, {2, 1}, dims.use, config);
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  EXPECT_TRUE(torch::allclose(nn::to_nodes(out.logits, pos), e.logits, 0, kTol)) << out.logits << e.logits;
  EXPECT_TRUE(torch::allclose(nn::to_nodes(out.features.at("fused"), pos), e.fused, 0, kTol));
  EXPECT_EQ(out.logits[1].narrow(0, 2, 3).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(out.features.at("fused")[1].narrow(0, 2, 3).abs().sum().item<float>(), 0.0f);
  return nn::to_nodes(out.logits, pos).detach();
}

}  // namespace dgcn_pin

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

TEST(DialogueGcn, DefaultForwardEqualsADenseRecomputation) {
  // With lengths <= 5 the default window 10/10 spans each whole dialogue; the window switch test
  // below cuts it.
  dgcn_pin::check_against_recomputation(dgcn_pin::small_config());
}

TEST(DialogueGcn, WindowSwitchEqualsTheDenseWindowAdjacency) {
  // The default 10/10 covers these whole dialogues (lengths 5 and 2), as -1/-1 does: those two
  // give the same values; every narrower window must move the logits (so an ignored one fails).
  const torch::Tensor all = dgcn_pin::check_against_recomputation(dgcn_pin::small_config());
  const std::vector<std::pair<int64_t, int64_t>> windows = {{1, 0}, {0, 2}, {2, 1}, {-1, 1}, {-1, -1}};
  for (const auto& [past, future] : windows) {
    SCOPED_TRACE("window " + std::to_string(past) + "/" + std::to_string(future));
    DialogueGcnConfig c = dgcn_pin::small_config();
    c.window_past = past;
    c.window_future = future;
    const double moved = (dgcn_pin::check_against_recomputation(c) - all).abs().max().item<double>();
    if (past == -1 && future == -1) EXPECT_LT(moved, dgcn_pin::kTol);
    else EXPECT_GT(moved, 1e-4);
  }
}

TEST(DialogueGcn, FullRelationMatricesWithoutBases) {
  DialogueGcnConfig c = dgcn_pin::small_config();
  c.num_bases = 0;  // one full W_r per relation
  dgcn_pin::check_against_recomputation(c);
}

TEST(DialogueGcn, NoProjectionFeedsTheFusedInputToTheEncoder) {
  DialogueGcnConfig c = dgcn_pin::small_config();
  c.proj_dim = 0;
  dgcn_pin::check_against_recomputation(c, {"t", "v"});
}

TEST(DialogueGcn, LstmCellAndOneLayerEncoder) {
  DialogueGcnConfig c = dgcn_pin::small_config();
  c.rnn = "lstm";
  dgcn_pin::check_against_recomputation(c);
  c.rnn = "gru";
  c.num_layers = 1;
  dgcn_pin::check_against_recomputation(c);
}

TEST(DialogueGcn, TrainingWithoutDropoutEqualsTheEvalRecomputation) {
  // Switch dropout = 0: the training forward is the eval forward (dropout is the only difference).
  DialogueGcnConfig c = dgcn_pin::small_config();
  c.dropout = 0;
  dgcn_pin::check_against_recomputation(c, {}, /*train_mode=*/true);
}

}  // namespace
}  // namespace merc::models
