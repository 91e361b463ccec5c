#include "merc/models/graphsmile.h"

#include <algorithm>
#include <utility>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/models/graphsmile_sentiment.h"
#include "merc/nn/graph/heter_window_edges.h"
#include "merc/nn/graph/node_batch.h"
#include "model_test_util.h"

namespace merc::models {
namespace graphsmile_test {

// float32 through a few tiny layers against the same float32 arithmetic done densely: ~1e-7
// relative; 1e-5 absolute leaves margin.
constexpr double kTol = 1e-5;

GraphSmileConfig small_config() {
  GraphSmileConfig c;
  c.name = "graphsmile";
  c.hidden_dim = 3;
  c.dropout = 0.0;
  c.window_past = 1;
  c.window_future = 1;
  c.heter_layers = {1, 2, 1};
  c.edge_weight_slots = 200;
  c.shift_window = 2;
  return c;
}

torch::Tensor leaky(const torch::Tensor& x) { return torch::leaky_relu(x, 0.01); }

TEST(GraphSmile, ForwardEqualsADenseRecomputation) {
  // Text + audio: one heterogeneous graph (t,a) with 2 layers, non-uniform position weights.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {"t", "a"}, data::Task::kClassification);
  torch::manual_seed(2);
  GraphSmileModel model(small_config(), dims);
  model.eval();
  auto params = model.named_parameters();
  {
    torch::NoGradGuard no_grad;
    torch::Tensor w = params["graph_ta.edge_weight"];
    w.copy_(1.0 + 0.01 * torch::arange(w.size(0), torch::kFloat32));
  }
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1});  // lengths 4, 2
  const torch::Tensor logits = model.forward(batch, {}).logits;

  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const int64_t N = pos.size(0);
  auto lin = [&](const std::string& name, const torch::Tensor& x) {
    return x.mm(params[name + ".weight"].t()) + params[name + ".bias"];
  };
  // Eval BatchNorm with fresh running statistics (mean 0, var 1): x / sqrt(1 + eps).
  const torch::Tensor xt = nn::to_nodes(batch.features[0], pos) / std::sqrt(1.0 + 1e-5);
  const torch::Tensor xa = nn::to_nodes(batch.features[1], pos);
  const torch::Tensor x0 = torch::cat({leaky(lin("proj_text", xt)), leaky(lin("proj_audio", xa))}, 0);
  // Dense Â from the edge list: A[target][source] += w[position].
  const torch::Tensor edges = nn::heter_window_edges(batch.lengths, 2, 1, 1);
  torch::Tensor A = torch::zeros({2 * N, 2 * N});
  for (int64_t e = 0; e < edges.size(1); ++e)
    A[edges[1][e].item<int64_t>()][edges[0][e].item<int64_t>()] += params["graph_ta.edge_weight"][e].item<float>();
  const torch::Tensor dinv = A.sum(1).pow(-0.5);
  const torch::Tensor P = torch::diag(dinv).mm(A).mm(torch::diag(dinv));
  torch::Tensor f = x0, s = x0;
  for (int i = 0; i < 2; ++i) {
    const std::string k = std::to_string(i);
    f = P.mm(f.mm(params["graph_ta.conv_weight_" + k])) + params["graph_ta.conv_bias_" + k];
    s = s + leaky(lin("graph_ta.mlps." + k, f));
  }
  const torch::Tensor z = (leaky(lin("fusion", s.narrow(0, 0, N))) + leaky(lin("fusion", s.narrow(0, N, N)))) / 2;
  const torch::Tensor expected = lin("emotion_head", z);
  EXPECT_TRUE(torch::allclose(nn::to_nodes(logits, pos), expected, 0, kTol)) << nn::to_nodes(logits, pos) << expected;
}

TEST(GraphSmile, OneModalityGoesStraightToFusion) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {"v"}, data::Task::kClassification);
  GraphSmileModel model(small_config(), dims);
  model.eval();
  auto params = model.named_parameters();
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 2});
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const torch::Tensor xv = nn::to_nodes(batch.features[2], pos);
  auto lin = [&](const std::string& name, const torch::Tensor& x) {
    return x.mm(params[name + ".weight"].t()) + params[name + ".bias"];
  };
  const torch::Tensor expected = lin("emotion_head", leaky(lin("fusion", leaky(lin("proj_visual", xv)))));
  EXPECT_TRUE(torch::allclose(nn::to_nodes(model.forward(batch, {}).logits, pos), expected, 0, kTol));
  for (const auto& p : params) EXPECT_EQ(p.key().find("graph_"), std::string::npos) << p.key();
}

TEST(GraphSmile, IdenticalLayerInitSwitch) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  for (bool identical : {true, false}) {
    GraphSmileConfig c = small_config();
    c.identical_layer_init = identical;
    GraphSmileModel model(c, dims);
    auto p = model.named_parameters();
    EXPECT_EQ(torch::equal(p["graph_ta.conv_weight_0"], p["graph_ta.conv_weight_1"]), identical);
    EXPECT_EQ(torch::equal(p["graph_ta.conv_bias_0"], p["graph_ta.conv_bias_1"]), identical);
    EXPECT_EQ(torch::equal(p["graph_ta.mlps.0.weight"], p["graph_ta.mlps.1.weight"]), identical);
    // Different graphs are initialised independently either way.
    EXPECT_FALSE(torch::equal(p["graph_ta.conv_weight_0"], p["graph_tv.conv_weight_0"]));
  }
}

TEST(GraphSmile, PositionIndexedEdgeWeightsDependOnTheBatchUnlessOnes) {
  // Dialogue 1 alone uses edge weights 0..E1-1; after dialogue 0 it uses later positions. With
  // non-uniform weights its outputs change ("position", the public code); with "ones" they do not.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  for (const std::string mode : {"position", "ones"}) {
    GraphSmileConfig c = small_config();
    c.edge_weights = mode;
    GraphSmileModel model(c, dims);
    model.eval();
    torch::NoGradGuard no_grad;
    for (auto& p : model.named_parameters())
      if (p.key().find("edge_weight") != std::string::npos) p.value().copy_(torch::rand({p.value().size(0)}) + 0.5);
    const torch::Tensor alone = model.forward(testing::collate_indices(ds, {1}), {}).logits[0].narrow(0, 0, 2);
    const torch::Tensor second = model.forward(testing::collate_indices(ds, {0, 1}), {}).logits[1].narrow(0, 0, 2);
    EXPECT_EQ(torch::allclose(alone, second, 0, kTol), mode == "ones") << mode;
  }
}

TEST(GraphSmile, TooManyEdgesForTheWeightSlotsIsAClearError) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  GraphSmileConfig c = small_config();
  c.edge_weight_slots = 10;
  GraphSmileModel model(c, dims);
  try {
    model.forward(testing::collate_indices(ds, {0, 2}), {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("edge_weight_slots"), std::string::npos) << e.what();
  }
  c.edge_weights = "ones";
  EXPECT_NO_THROW(GraphSmileModel(c, dims).forward(testing::collate_indices(ds, {0, 2}), {}));
  c.edge_weights = "learned";
  EXPECT_THROW(GraphSmileModel(c, dims), Error);
}

TEST(GraphSmile, BatchNormOverPaddingSwitch) {
  // One training forward updates running_mean = 0.1 * batch mean (momentum 0.1, start 0). Over the
  // padded (B T) rows the mean includes the padding zeros; without the quirk only real utterances.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {"t"}, data::Task::kClassification);
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1});  // 6 real of 8 rows
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const torch::Tensor real_mean = nn::to_nodes(batch.features[0], pos).mean(0);
  const torch::Tensor padded_mean = batch.features[0].reshape({-1, 3}).mean(0);
  for (bool over_padding : {true, false}) {
    GraphSmileConfig c = small_config();
    c.bn_over_padding = over_padding;
    GraphSmileModel model(c, dims);
    model.train();
    model.forward(batch, {});
    const torch::Tensor running = model.named_buffers()["text_bn0.running_mean"];
    EXPECT_TRUE(torch::allclose(running, 0.1 * (over_padding ? padded_mean : real_mean), 0, 1e-6)) << running;
  }
}

// merc's default GraphSmileConfig with hidden_dim 512 -> 3 (text_batchnorm true, bn_over_padding
// true, text_mode textf0, text_layers 1: defaults). Text only, so no graph is built: these tests pin
// the text path z = LeakyReLU(W_f LeakyReLU(W_t BN(x_t) + b_t) + b_f), logits = W_e z + b_e.
GraphSmileConfig bn_config() {
  GraphSmileConfig c;
  c.hidden_dim = 3;
  return c;
}

// Non-trivial BatchNorm parameters and running statistics for text_bn<layer> (d = 3).
void set_bn(GraphSmileModel& model, int layer, double shift) {
  torch::NoGradGuard no_grad;
  const std::string k = "text_bn" + std::to_string(layer);
  model.named_parameters()[k + ".weight"].copy_(torch::tensor({1.2, 0.7, -0.9}) + shift);
  model.named_parameters()[k + ".bias"].copy_(torch::tensor({0.1, -0.3, 0.25}) - shift);
  model.named_buffers()[k + ".running_mean"].copy_(torch::tensor({0.3, -0.2, 0.5}) * (1 + shift));
  model.named_buffers()[k + ".running_var"].copy_(torch::tensor({0.5, 2.0, 1.5}) + shift);
}

// x (rows, d) normalised with the given statistics, then the affine of text_bn<layer>.
torch::Tensor bn_apply(GraphSmileModel& model, int layer, const torch::Tensor& x, const torch::Tensor& mean,
                       const torch::Tensor& var) {
  const std::string k = "text_bn" + std::to_string(layer);
  auto p = model.named_parameters();
  return (x - mean) / torch::sqrt(var + 1e-5) * p[k + ".weight"] + p[k + ".bias"];
}

// The text-only head on the projected text nodes f (N, H).
torch::Tensor text_head(GraphSmileModel& model, const torch::Tensor& f) {
  auto p = model.named_parameters();
  auto lin = [&](const std::string& name, const torch::Tensor& x) {
    return x.mm(p[name + ".weight"].t()) + p[name + ".bias"];
  };
  return lin("emotion_head", leaky(lin("fusion", f)));
}

torch::Tensor text_proj(GraphSmileModel& model, const torch::Tensor& x) {
  auto p = model.named_parameters();
  return leaky(x.mm(p["proj_text.weight"].t()) + p["proj_text.bias"]);
}

TEST(GraphSmile, EvalTextBatchNormUsesTheRunningStatisticsExactly) {
  // Eval: BN(x) = (x - running_mean) / sqrt(running_var + 1e-5) * weight + bias per real row; the
  // padding switch does not matter (row-wise), both settings give the same values.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {"t"}, data::Task::kClassification);
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1});  // lengths 4, 2
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const torch::Tensor xt = nn::to_nodes(batch.features[0], pos);
  for (bool over_padding : {true, false}) {
    GraphSmileConfig c = bn_config();
    c.bn_over_padding = over_padding;
    torch::manual_seed(3);
    GraphSmileModel model(c, dims);
    model.eval();
    set_bn(model, 0, 0.0);
    torch::NoGradGuard no_grad;
    auto b = model.named_buffers();
    const torch::Tensor expected =
        text_head(model, text_proj(model, bn_apply(model, 0, xt, b["text_bn0.running_mean"], b["text_bn0.running_var"])));
    EXPECT_TRUE(torch::allclose(nn::to_nodes(model.forward(batch, {}).logits, pos), expected, 0, kTol))
        << "bn_over_padding " << over_padding;
  }
}

TEST(GraphSmile, TrainTextBatchNormStatisticsOverPaddingOrOverRealUtterances) {
  // Train mode (dropout 0.2 -> 0 so the forward is deterministic): BN normalises with the batch's
  // mean and biased variance, over the 8 padded (B T) rows, zeros included (bn_over_padding true,
  // the default) or over the 6 real rows (false); the running statistics move by momentum 0.1
  // with the unbiased variance.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {"t"}, data::Task::kClassification);
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1});  // 6 real of 8 rows
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const torch::Tensor xt = nn::to_nodes(batch.features[0], pos);
  const torch::Tensor all_rows = batch.features[0].reshape({-1, 3});
  ASSERT_EQ(all_rows.narrow(0, 6, 2).abs().sum().item<float>(), 0.0f);  // dialogue 1's padding
  torch::Tensor logits[2];
  for (bool over_padding : {true, false}) {
    GraphSmileConfig c = bn_config();
    c.dropout = 0.0;
    c.bn_over_padding = over_padding;
    torch::manual_seed(3);
    GraphSmileModel model(c, dims);
    model.train();
    set_bn(model, 0, 0.0);
    const torch::Tensor stats_rows = over_padding ? all_rows : xt;
    const torch::Tensor mean = stats_rows.mean(0), var = stats_rows.var(0, false), unbiased = stats_rows.var(0, true);
    const torch::Tensor old_mean = model.named_buffers()["text_bn0.running_mean"].clone();
    const torch::Tensor old_var = model.named_buffers()["text_bn0.running_var"].clone();
    const torch::Tensor out = nn::to_nodes(model.forward(batch, {}).logits, pos);
    torch::NoGradGuard no_grad;
    const torch::Tensor expected = text_head(model, text_proj(model, bn_apply(model, 0, xt, mean, var)));
    EXPECT_TRUE(torch::allclose(out, expected, 0, kTol)) << "bn_over_padding " << over_padding << out << expected;
    auto b = model.named_buffers();
    EXPECT_TRUE(torch::allclose(b["text_bn0.running_mean"], 0.9 * old_mean + 0.1 * mean, 0, 1e-6));
    EXPECT_TRUE(torch::allclose(b["text_bn0.running_var"], 0.9 * old_var + 0.1 * unbiased, 0, 1e-6));
    logits[over_padding ? 1 : 0] = out.detach();
  }
  EXPECT_GT((logits[0] - logits[1]).abs().max().item<float>(), 1e-3);
}

TEST(GraphSmile, TextModesConcatAndSumEqualTheDenseRecomputation) {
  // A text feature of 2 layers x 3 dims (text_layers 2): concat2 = proj([BN0(l0) ; BN1(l1)]),
  // sum2 = (proj(BN0(l0)) + proj(BN1(l1))) / 2 (each projection through its LeakyReLU); eval with
  // a different running state per layer.
  const data::Dataset ds = testing::sweep_dataset();
  ModelDims dims = model_dims(ds.info, {"t"}, data::Task::kClassification);
  dims.input_dims[0] = 6;
  data::DialogueBatch batch = testing::collate_indices(ds, {0, 2});
  const torch::Tensor f = batch.features[0];
  batch.features[0] = torch::cat({f, torch::sin(3 * f + 1) * batch.utterance_mask.unsqueeze(-1).to(torch::kFloat32)}, 2);
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const torch::Tensor x = nn::to_nodes(batch.features[0], pos);
  for (const std::string mode : {"concat2", "sum2"}) {
    GraphSmileConfig c = bn_config();
    c.text_layers = 2;
    c.text_mode = mode;
    torch::manual_seed(5);
    GraphSmileModel model(c, dims);
    model.eval();
    set_bn(model, 0, 0.0);
    set_bn(model, 1, 0.4);
    torch::NoGradGuard no_grad;
    auto b = model.named_buffers();
    const torch::Tensor n0 = bn_apply(model, 0, x.narrow(1, 0, 3), b["text_bn0.running_mean"], b["text_bn0.running_var"]);
    const torch::Tensor n1 = bn_apply(model, 1, x.narrow(1, 3, 3), b["text_bn1.running_mean"], b["text_bn1.running_var"]);
    const torch::Tensor f_text = mode == "concat2" ? text_proj(model, torch::cat({n0, n1}, 1))
                                                   : (text_proj(model, n0) + text_proj(model, n1)) / 2;
    EXPECT_TRUE(torch::allclose(nn::to_nodes(model.forward(batch, {}).logits, pos), text_head(model, f_text), 0, kTol))
        << mode;
  }
}

TEST(GraphSmile, TextLayersAndModes) {
  data::Dataset ds = testing::sweep_dataset();
  // Text of 3 dims cannot be 2 equal layers; 1 layer cannot serve textf1.
  const ModelDims dims = model_dims(ds.info, {"t"}, data::Task::kClassification);
  GraphSmileConfig c = small_config();
  c.text_layers = 2;
  EXPECT_THROW(GraphSmileModel(c, dims), Error);
  c.text_layers = 1;
  c.text_mode = "textf1";
  EXPECT_THROW(GraphSmileModel(c, dims), Error);
  c.text_mode = "mean";
  EXPECT_THROW(GraphSmileModel(c, dims), Error);
  // Text of 3 dims as 3 layers: textf1 reads the middle column only.
  c.text_layers = 3;
  c.text_mode = "textf1";
  GraphSmileModel model(c, dims);
  model.eval();
  const data::DialogueBatch a = testing::collate_indices(ds, {0});
  data::DialogueBatch b = a;
  b.features[0] = a.features[0].clone();
  b.features[0].select(2, 0).add_(1.0);
  b.features[0].select(2, 2).add_(1.0);
  EXPECT_TRUE(torch::equal(model.forward(a, {}).logits, model.forward(b, {}).logits));
  b.features[0].select(2, 1).add_(1.0);
  EXPECT_FALSE(torch::equal(model.forward(a, {}).logits, model.forward(b, {}).logits));
}

TEST(GraphSmileSentiment, DerivedFromLabelsThroughTheMapOrFromTheScoreSign) {
  const data::Dataset ds = testing::sweep_dataset();
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1});
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  // Labels (d + 2u) % 3: dialogue 0 -> 0, 2, 1, 0; dialogue 1 -> 1, 0.
  const torch::Tensor s = node_sentiments(batch, pos, data::Task::kClassification, {2, -1, 0});
  EXPECT_TRUE(torch::equal(s, torch::tensor({2, 0, -1, 2, -1, 2}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(node_sentiments(batch, pos, data::Task::kClassification, {}), torch::full({6}, -1, torch::kInt64)));
  EXPECT_THROW(node_sentiments(batch, pos, data::Task::kClassification, {0, 1}), Error);  // label 2 unmapped
  // Scores sin(1 + d + 0.7 u): dialogue 0: sin 1, sin 1.7, sin 2.4, sin 3.1 (> 0); dialogue 1: sin 2,
  // sin 2.7 (> 0). Replace two to get a negative and a zero.
  data::DialogueBatch r = batch;
  r.score = batch.score.clone();
  r.score[0][1] = -0.5f;
  r.score[1][0] = 0.0f;
  r.score[1][1] = std::nanf("");
  EXPECT_TRUE(torch::equal(node_sentiments(r, pos, data::Task::kRegression, {}),
                           torch::tensor({2, 0, 2, 2, 1, -1}, torch::kInt64)));
}

TEST(GraphSmileSentiment, ShiftTargetsOnAHandExample) {
  // Lengths {5, 2}, shift window 2: pairs (0,0) (0,1) (1,0) (1,1) (2,2) (2,3) (3,2) (3,3) (4,4)
  // (5,5) (5,6) (6,5) (6,6); sentiments 0 0 2 1 1 | 2 -1.
  const torch::Tensor sent = torch::tensor({0, 0, 2, 1, 1, 2, -1}, torch::kInt64);
  const torch::Tensor first = torch::tensor({0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6}, torch::kInt64);
  const torch::Tensor second = torch::tensor({0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 6, 5, 6}, torch::kInt64);
  EXPECT_TRUE(torch::equal(shift_targets(sent, first, second),
                           torch::tensor({0, 0, 0, 0, 0, 1, 1, 0, 0, 0, -1, -1, -1}, torch::kInt64)));
  // masked_nll: mean over valid rows only; none valid -> 0.
  const torch::Tensor logits = torch::tensor({0.0f, 0.0f, 1.0f, 0.0f, 3.0f, 3.0f}).view({3, 2});
  EXPECT_NEAR(masked_nll(logits, torch::tensor({1, -1, 0}, torch::kInt64)).item<double>(), std::log(2.0), 1e-6);
  EXPECT_EQ(masked_nll(logits, torch::full({3}, -1, torch::kInt64)).item<double>(), 0.0);
}

TEST(GraphSmile, AuxiliaryLossesFollowTheMapAndTheWeights) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2, 3});
  GraphSmileConfig c = small_config();
  c.emotion_weight = 0.5;
  {
    // No map: no auxiliary heads, no auxiliary losses, the emotion weight still applies.
    GraphSmileModel model(c, dims);
    const ModelOutput out = model.forward(batch, {});
    EXPECT_TRUE(out.aux_losses.empty());
    EXPECT_EQ(out.task_loss_weight, 0.5);
    for (const auto& p : model.named_parameters()) EXPECT_EQ(p.key().find("sentiment_head"), std::string::npos);
  }
  c.sentiment_map = {0, 1, 2};
  c.sentiment_weight = 1.0;
  c.shift_weight = 1.0;
  torch::manual_seed(4);
  GraphSmileModel one(c, dims);
  one.eval();
  const ModelOutput a = one.forward(batch, {});
  ASSERT_EQ(a.aux_losses.size(), 2u);
  c.sentiment_weight = 2.0;
  c.shift_weight = 0.25;
  torch::manual_seed(4);
  GraphSmileModel two(c, dims);
  two.eval();
  const ModelOutput b = two.forward(batch, {});
  EXPECT_NEAR(b.aux_losses.at("sentiment").item<double>(), 2.0 * a.aux_losses.at("sentiment").item<double>(), 1e-6);
  EXPECT_NEAR(b.aux_losses.at("shift").item<double>(), 0.25 * a.aux_losses.at("shift").item<double>(), 1e-6);
  // The sentiment loss is the NLL of the sentiment head on z for the mapped labels.
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const torch::Tensor z = nn::to_nodes(a.features.at("fused"), pos);
  auto params = one.named_parameters();
  const torch::Tensor logits = z.mm(params["sentiment_head.weight"].t()) + params["sentiment_head.bias"];
  const torch::Tensor labels = nn::to_nodes(batch.label.unsqueeze(-1), pos).squeeze(-1);
  const double nll = -torch::log_softmax(logits, 1).gather(1, labels.unsqueeze(1)).mean().item<double>();
  EXPECT_NEAR(a.aux_losses.at("sentiment").item<double>(), nll, 1e-5);
  // A map of the wrong length is an error.
  c.sentiment_map = {0, 1};
  EXPECT_THROW(GraphSmileModel(c, dims), Error);
}

const std::vector<std::string> kGraphs = {"graph_tv", "graph_ta", "graph_va"};

// Gives a three-modality `model` non-trivial text BatchNorm statistics, distinct position weights
// (unless edge_weights=ones, which has none) and per-layer weights that differ: identical_layer_init
// (default true) starts all layers of a graph equal, which would hide a layer-index mistake.
void make_graphsmile_nontrivial(GraphSmileModel& model, const GraphSmileConfig& c) {
  set_bn(model, 0, 0.0);
  const bool ones = c.edge_weights == "ones";
  auto p = model.named_parameters();
  torch::NoGradGuard no_grad;
  for (size_t g = 0; g < kGraphs.size(); ++g) {
    if (!ones) {  // edge_weights=ones builds no weight vector
      torch::Tensor w = p[kGraphs[g] + ".edge_weight"];
      w.narrow(0, 0, 200).copy_(0.6 + 0.013 * static_cast<double>(g + 1) * torch::arange(200, torch::kFloat32));
    }
    for (int64_t i = 0; i < c.heter_layers[g]; ++i)
      for (const char* name : {".conv_weight_", ".conv_bias_"}) {
        torch::Tensor t = p[kGraphs[g] + name + std::to_string(i)];
        t.add_(0.2 * torch::sin(1.0 + 0.7 * static_cast<double>(i) + torch::arange(t.numel(), torch::kFloat32)).view_as(t));
      }
    for (int64_t i = 0; i < c.heter_layers[g]; ++i) {
      torch::Tensor t = p[kGraphs[g] + ".mlps." + std::to_string(i) + ".weight"];
      t.add_(0.3 * torch::cos(0.5 + 1.3 * static_cast<double>(i) + torch::arange(t.numel(), torch::kFloat32)).view_as(t));
    }
  }
}

// The dense expectation of a three-modality GraphSmile (eval). Edges are enumerated in the
// documented public order (dialogue, block pair in permutations order, j, k;
// heter_window_edges.h), so each position weight lands where the public code puts it.
torch::Tensor graphsmile_dense(GraphSmileModel& model, const GraphSmileConfig& c, const data::DialogueBatch& batch) {
  const bool ones = c.edge_weights == "ones";
  auto p = model.named_parameters();
  std::vector<int64_t> lengths;
  for (int64_t b = 0; b < batch.lengths.size(0); ++b) lengths.push_back(batch.lengths[b].item<int64_t>());
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const int64_t N = pos.size(0);
  auto lin = [&](const std::string& name, const torch::Tensor& x) {
    return x.mm(p[name + ".weight"].t()) + p[name + ".bias"];
  };
  auto b = model.named_buffers();
  const torch::Tensor xt = bn_apply(model, 0, nn::to_nodes(batch.features[0], pos), b["text_bn0.running_mean"],
                                    b["text_bn0.running_var"]);
  const torch::Tensor f[3] = {leaky(lin("proj_text", xt)), leaky(lin("proj_visual", nn::to_nodes(batch.features[2], pos))),
                              leaky(lin("proj_audio", nn::to_nodes(batch.features[1], pos)))};  // t, v, a
  const int pair_blocks[3][2] = {{0, 1}, {0, 2}, {1, 2}};  // tv, ta, va in t/v/a indices
  torch::Tensor z = torch::zeros({N, 3});
  for (int g = 0; g < 3; ++g) {
    const torch::Tensor x0 = torch::cat({f[pair_blocks[g][0]], f[pair_blocks[g][1]]}, 0);
    const torch::Tensor w = ones ? torch::Tensor() : p[kGraphs[static_cast<size_t>(g)] + ".edge_weight"];
    torch::Tensor A = torch::zeros({2 * N, 2 * N});
    int64_t e = 0, start = 0;
    for (int64_t L : lengths) {
      for (const auto& [m, n] : {std::pair<int64_t, int64_t>{0, 1}, {1, 0}})
        for (int64_t j = 0; j < L; ++j)
          for (int64_t k = std::max<int64_t>(0, j - 17); k <= std::min<int64_t>(L - 1, j + 17); ++k)
            A[m * N + start + j][n * N + start + k] += ones ? 1.0f : w[e++].item<float>();  // n_k into m_j
      start += L;
    }
    const torch::Tensor dinv = A.sum(1).pow(-0.5);
    const torch::Tensor P = torch::diag(dinv).mm(A).mm(torch::diag(dinv));
    torch::Tensor h = x0, sum = x0;
    for (int64_t i = 0; i < c.heter_layers[static_cast<size_t>(g)]; ++i) {
      const std::string k = std::to_string(i);
      h = P.mm(h.mm(p[kGraphs[static_cast<size_t>(g)] + ".conv_weight_" + k])) +
          p[kGraphs[static_cast<size_t>(g)] + ".conv_bias_" + k];
      sum = sum + leaky(lin(kGraphs[static_cast<size_t>(g)] + ".mlps." + k, h));
    }
    z = z + leaky(lin("fusion", sum.narrow(0, 0, N))) + leaky(lin("fusion", sum.narrow(0, N, N)));
  }
  return lin("emotion_head", z / 6);
}

// merc's DEFAULT GraphSmile on all three modalities, shrunk only in widths and depth (hidden_dim
// 512 -> 3, heter_layers {7,7,7} -> {2,3,1}); windows 17/17, position-indexed edge weights,
// text BatchNorm (non-trivial statistics), shift window: defaults. The expectation is
// graphsmile_dense (docs/models/graphsmile.md steps 1-4), with no merc graph code.
TEST(GraphSmile, DefaultForwardWithAllThreeModalitiesEqualsADenseRecomputation) {
  const data::Dataset ds = testing::sweep_dataset();
  const data::DialogueBatch batch = testing::collate_indices(ds, {2, 1});  // lengths 5, 2; masked visual row
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  torch::Tensor logits[2];
  for (const std::string mode : {"position", "ones"}) {
    // edge_weights quirk: position (default, the public code) or ones; exact values for both.
    GraphSmileConfig c;
    c.hidden_dim = 3;
    c.heter_layers = {2, 3, 1};
    c.edge_weights = mode;
    torch::manual_seed(8);
    GraphSmileModel model(c, model_dims(ds.info, {}, data::Task::kClassification));
    model.eval();
    make_graphsmile_nontrivial(model, c);
    const torch::Tensor expected = graphsmile_dense(model, c, batch);
    torch::NoGradGuard no_grad;
    const torch::Tensor actual = nn::to_nodes(model.forward(batch, {}).logits, pos);
    ASSERT_EQ(actual.sizes(), expected.sizes());
    EXPECT_TRUE(torch::allclose(actual, expected, 0, kTol)) << mode << actual << expected;
    logits[mode == "ones" ? 1 : 0] = actual;
  }
  EXPECT_GT((logits[0] - logits[1]).abs().max().item<double>(), 1e-4);
}

}  // namespace graphsmile_test
}  // namespace merc::models
