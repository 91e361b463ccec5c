#include "merc/models/hrg_ssa.h"

#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include <functional>
#include <map>

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

TEST(HrgSsa, ModalitySubsetsAndMixedVariantsAreAClearError) {
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
    // t5 without head generate is neither variant; the message names both.
    EXPECT_NE(std::string(e.what()).find("the generative variant text_encoder: t5 with head: generate"),
              std::string::npos)
        << e.what();
  }
  c = tiny_config();
  c.head = "generate";
  EXPECT_THROW(HrgSsaModel(c, dims), Error);
}

}  // namespace
}  // namespace merc::models

namespace merc::models {
namespace {

// ---- Value pin (docs/testing.md): the default forward against a recomputation in double from the
// definitions in docs/models/hrg_ssa.md, reading the parameters by name, one window at a time. ----
namespace pin {

using torch::Tensor;
constexpr double kEps = 1e-6;  // T5 layer_norm_epsilon

Tensor rms(const Tensor& x, const Tensor& w) { return w * x / (x.pow(2).mean(-1, true) + kEps).sqrt(); }

// Multi-head T5 attention (no 1/sqrt(d_kv) scaling); q_in (Lq, d), kv (Lk, d). With one key (every
// self-attention here: one token per item) the softmax is 1, so the position bias and causal mask
// cannot matter and are left out.
Tensor attention(const Tensor& q_in, const Tensor& kv, const std::function<Tensor(const std::string&)>& P,
                 const std::string& prefix, int64_t heads) {
  const Tensor q = q_in.matmul(P(prefix + ".q.weight").t()), k = kv.matmul(P(prefix + ".k.weight").t()),
               v = kv.matmul(P(prefix + ".v.weight").t());
  const int64_t dk = q.size(1) / heads;
  std::vector<Tensor> out;
  for (int64_t h = 0; h < heads; ++h) {
    const Tensor qh = q.narrow(1, h * dk, dk), kh = k.narrow(1, h * dk, dk), vh = v.narrow(1, h * dk, dk);
    out.push_back(torch::softmax(qh.matmul(kh.t()), 1).matmul(vh));
  }
  return torch::cat(out, 1).matmul(P(prefix + ".o.weight").t());
}

// One-block T5 decoder stack over a 1-token input x (1, d) with memory (Lm, d).
Tensor decoder(const Tensor& x0, const Tensor& memory, const std::function<Tensor(const std::string&)>& P,
               const std::string& s, int64_t heads) {
  const std::string b = s + ".block.0.layer.";
  Tensor x = x0;
  const Tensor n0 = rms(x, P(b + "0.layer_norm.weight"));
  x = x + attention(n0, n0, P, b + "0.SelfAttention", heads);
  x = x + attention(rms(x, P(b + "1.layer_norm.weight")), memory, P, b + "1.EncDecAttention", heads);
  const Tensor n2 = rms(x, P(b + "2.layer_norm.weight"));
  x = x + torch::relu(n2.matmul(P(b + "2.DenseReluDense.wi.weight").t())).matmul(P(b + "2.DenseReluDense.wo.weight").t());
  return rms(x, P(s + ".final_layer_norm.weight"));
}

// Edges i -> j the detector adds to one window (n nodes, x (n, d)), given adj[target][source].
void add_implicit(const Tensor& x, std::vector<std::vector<bool>>& adj, const std::function<Tensor(const std::string&)>& P,
                  const std::string& prefix) {
  const int64_t n = x.size(0);
  if (n <= 2) return;
  const Tensor r = x.matmul(P(prefix + ".seq_transformation_r.weight").t());
  const Tensor f1 = r.matmul(P(prefix + ".f_1.weight").t()).squeeze(1), f2 = r.matmul(P(prefix + ".f_2.weight").t()).squeeze(1);
  std::vector<std::pair<int64_t, int64_t>> added;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> e(static_cast<size_t>(n));
    double mx = -1e300;
    for (int64_t j = 0; j < n; ++j) {
      const double v = f2[i].item<double>() + f1[j].item<double>();
      e[static_cast<size_t>(j)] = v > 0 ? v : std::expm1(v);
      mx = std::max(mx, e[static_cast<size_t>(j)]);
    }
    double den = 0;
    for (int64_t j = i; j < n; ++j) den += std::exp(e[static_cast<size_t>(j)] / mx);
    for (int64_t j = i + 1; j < n; ++j)
      if (std::exp(e[static_cast<size_t>(j)] / mx) / den > 1.0 / static_cast<double>(n - i) && !adj[j][i])
        added.push_back({i, j});
  }
  for (const auto& [i, j] : added) adj[j][i] = true;
}

// One GAT layer on one window: x (n, d), adj[target][source].
Tensor gat_layer(const Tensor& x, const std::vector<std::vector<bool>>& adj,
                 const std::function<Tensor(const std::string&)>& P, const std::string& prefix, int64_t heads) {
  const int64_t n = x.size(0), dh = x.size(1) / heads;
  const Tensor a_src = P(prefix + ".scoring_fn_source")[0], a_trg = P(prefix + ".scoring_fn_target")[0];
  std::vector<Tensor> rows;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<Tensor> parts;
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<double> s;
      std::vector<Tensor> zs;
      for (int64_t j = 0; j < n; ++j) {
        if (!adj[i][j]) continue;
        const double v = (a_trg[h] * x[i].narrow(0, h * dh, dh)).sum().item<double>() +
                         (a_src[h] * x[j].narrow(0, h * dh, dh)).sum().item<double>();
        s.push_back(v > 0 ? v : 0.2 * v);
        zs.push_back(x[j].narrow(0, h * dh, dh));
      }
      double den = 0;
      for (double v : s) den += std::exp(v);
      Tensor agg = torch::zeros({dh}, torch::kFloat64);
      for (size_t k = 0; k < s.size(); ++k) agg = agg + std::exp(s[k]) / den * zs[k];
      parts.push_back(agg);
    }
    rows.push_back(torch::cat(parts));
  }
  const Tensor agg = torch::stack(rows);
  return x + rms(agg, P(prefix + ".layer_norm.weight")).matmul(P(prefix + ".linear_proj.weight").t());
}

}  // namespace pin

TEST(HrgSsa, DefaultForwardEqualsADenseRecomputation) {
  // Default config (window 2, 3 GAT layers, working GAT, implicit connections, 1 node layer), widths
  // shrunk: d_model 8, 2 heads, d_kv 4, d_ff 8, detector 4. Every parameter perturbed (norm weights
  // away from ones, detector scores away from their tiny init so that it adds edges).
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  HrgSsaConfig c;
  c.name = "hrg_ssa";
  c.d_model = 8, c.num_heads = 2, c.d_kv = 4, c.d_ff = 8, c.detector_dim = 4;
  auto model = build(c, dims, 21);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) p.value().add_(0.5 * torch::randn_like(p.value()));
  }
  model->eval();
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2, 3});
  const torch::Tensor got = model->forward(batch, {}).logits;

  std::map<std::string, torch::Tensor> params;
  for (const auto& p : model->named_parameters()) params[p.key()] = p.value().detach().to(torch::kFloat64);
  auto P = [&](const std::string& name) {
    EXPECT_EQ(params.count(name), 1u) << name;
    return params.at(name);
  };
  const int64_t H = 2;
  const int64_t lengths[] = {4, 2, 5, 1};
  const char* kName[] = {"text", "audio", "video"};
  int64_t edges_added = 0;
  for (int64_t b = 0; b < 4; ++b) {
    // Per utterance: masked features, mapped tokens, node features (docs §3).
    std::vector<std::array<torch::Tensor, 3>> nodes;
    std::vector<int64_t> speaker;
    for (int64_t t = 0; t < lengths[b]; ++t) {
      std::array<torch::Tensor, 3> raw;
      for (int m = 0; m < 3; ++m)
        raw[m] = (batch.features[m][b][t] * batch.modality_mask[b][t][m].to(torch::kFloat32)).to(torch::kFloat64).unsqueeze(0);
      const torch::Tensor T = raw[0].matmul(P("text_mapping.weight").t()) + P("text_mapping.bias");
      const torch::Tensor A = raw[1].matmul(P("node_encoders.audio_mapping.weight").t()) + P("node_encoders.audio_mapping.bias");
      const torch::Tensor V = raw[2].matmul(P("node_encoders.video_mapping.weight").t()) + P("node_encoders.video_mapping.bias");
      nodes.push_back({pin::decoder(T, torch::cat({A, V}), P, "node_encoders.text_encoder", H)[0],
                       pin::decoder(A, T, P, "node_encoders.audio_encoder", H)[0],
                       pin::decoder(V, T, P, "node_encoders.video_encoder", H)[0]});
      speaker.push_back(batch.speaker[b][t].item<int64_t>());
    }
    for (int64_t t = 0; t < lengths[b]; ++t) {
      // The window of t: its 2 previous utterances and itself; hybrid edges by the rules.
      const int64_t start = std::max<int64_t>(0, t - 2), n = t - start + 1;
      std::vector<std::vector<bool>> hybrid(static_cast<size_t>(n), std::vector<bool>(static_cast<size_t>(n), false));
      for (int64_t i = 0; i < n; ++i) {
        hybrid[i][i] = true;
        for (int64_t j = 0; j < i; ++j)
          hybrid[i][j] = j == i - 1 || speaker[static_cast<size_t>(start + j)] == speaker[static_cast<size_t>(start + i)];
      }
      std::vector<torch::Tensor> current;
      for (int m = 0; m < 3; ++m) {
        std::vector<torch::Tensor> rows;
        for (int64_t k = 0; k < n; ++k) rows.push_back(nodes[static_cast<size_t>(start + k)][m]);
        torch::Tensor x = torch::stack(rows);
        auto adj = hybrid;
        pin::add_implicit(x, adj, P, std::string("graphs.") + kName[m] + "_edge_relation");
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < n; ++j) edges_added += adj[i][j] != hybrid[i][j];
        for (int l = 0; l < 3; ++l)
          x = pin::gat_layer(x, adj, P, std::string("graphs.") + kName[m] + "_gat.gat_net." + std::to_string(l), H);
        current.push_back(x[n - 1]);
      }
      const torch::Tensor want = torch::cat(current).matmul(P("head.weight").t()) + P("head.bias");
      // float32 model through encoders, 3 GAT layers and the head vs double: ~1e-6 relative on
      // O(1..10) logits.
      EXPECT_TRUE(torch::allclose(got[b][t].to(torch::kFloat64), want, 1e-5, 2e-5))
          << "dialogue " << b << " utterance " << t << ": " << got[b][t] << " vs " << want;
    }
  }
  EXPECT_GT(edges_added, 0) << "the pin should exercise the implicit connections";
}

}  // namespace
}  // namespace merc::models
