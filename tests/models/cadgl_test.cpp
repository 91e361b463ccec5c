#include "merc/models/cadgl.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/data/missing_protocol.h"
#include "model_test_util.h"
#include "reference_ops.h"

namespace merc::models {
namespace cadgl_test {

using data::Modality;
const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

// The dense recomputation solves each dialogue's ODE with classical RK4 (400 steps, global error
// ~1e-12 for these O(1) smooth solutions), the model one dopri5 solve for the batch at rtol 1e-10 /
// atol 1e-12 in double (global error ~1e-9); everything else is the same arithmetic in another
// order (~1e-15): 1e-7.
constexpr double kPinTol = 1e-7;
// Same model, same input, float32 recomputed in another order (~1e-6 relative): 2e-5.
constexpr double kFloatTol = 2e-5;

// The default config with only widths and layer counts shrunk (hidden_dim, speaker_dim,
// imagination_hidden, align_dim, num_layers 3 -> 2); default solver tolerances (float32 tests).
CadglConfig small_config() {
  CadglConfig c;
  c.hidden_dim = 3;
  c.speaker_dim = 2;
  c.imagination_hidden = 4;
  c.align_dim = 2;
  c.num_layers = 2;
  return c;
}

// small_config with the dopri5 tolerances tightened (rtol, atol) so that the double solve can be
// compared with an independent RK4.
CadglConfig pin_config() {
  CadglConfig c = small_config();
  c.rtol = 1e-10;
  c.atol = 1e-12;
  return c;
}

std::shared_ptr<CadglModel> make_model(const CadglConfig& c, const ModelDims& dims, bool dbl, uint64_t seed = 3) {
  torch::manual_seed(seed);
  auto m = std::make_shared<CadglModel>(c, dims);
  if (dbl) m->to(torch::kFloat64);
  m->eval();
  return m;
}

// ---- The dense recomputation (double), written from the definition in cadgl.h. ----
// One dialogue's graph by its definition, entry by entry (availability over the used modalities).
torch::Tensor dense_graph(const std::vector<int64_t>& spk, const std::vector<std::vector<double>>& lam) {
  const int64_t L = static_cast<int64_t>(spk.size());
  torch::Tensor A = torch::zeros({L, L}, kF64);
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j) {
      double w = 1.0;
      if (i != j) {
        const double e = std::exp(-0.1 * std::abs(static_cast<double>(i - j)));
        double diff = 0;
        for (size_t m = 0; m < lam[i].size(); ++m) diff += std::abs(lam[i][m] - lam[j][m]);
        const double sim = 1.0 - diff / static_cast<double>(lam[i].size());
        w = spk[i] == spk[j] ? 0.8 * e : 0.5 * e * sim;
      }
      A[i][j] = w;
    }
  return A / (A.sum(1, true) + 1e-8);
}

torch::Tensor ode_f(const testing::ParamDict& P, const std::string& block, const torch::Tensor& h,
                    const torch::Tensor& A) {
  return testing::linear(P, block + ".w2", torch::tanh(testing::linear(P, block + ".w1", torch::cat({h, A.mm(h)}, 1))));
}

torch::Tensor rk4(const testing::ParamDict& P, const std::string& block, torch::Tensor h, const torch::Tensor& A, int n) {
  const double dt = 1.0 / n;
  for (int i = 0; i < n; ++i) {
    const auto k1 = ode_f(P, block, h, A);
    const auto k2 = ode_f(P, block, h + 0.5 * dt * k1, A);
    const auto k3 = ode_f(P, block, h + 0.5 * dt * k2, A);
    const auto k4 = ode_f(P, block, h + dt * k3, A);
    h = h + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4);
  }
  return h;
}

struct DenseResult {
  torch::Tensor logits;  // (B, T, C), zeros at padding
  double recon = 0, align = 0;
};

DenseResult dense_forward(const CadglModel& model, const data::DialogueBatch& b, int64_t num_layers) {
  torch::NoGradGuard no_grad;
  const testing::ParamDict P = model.named_parameters();
  const char* names[] = {"audio", "visual", "text"};
  const Modality mods[] = {Modality::kAudio, Modality::kVisual, Modality::kText};
  const int64_t B = b.utterance_mask.size(0), T = b.utterance_mask.size(1);
  DenseResult r;
  r.logits = torch::zeros({B, T, 3}, kF64);
  double recon_sum = 0, align_sum = 0;
  int recon_n = 0, align_n = 0;
  for (int64_t d = 0; d < B; ++d) {
    const int64_t L = b.lengths[d].item<int64_t>();
    std::vector<std::vector<double>> lam(L, std::vector<double>(3));
    std::vector<int64_t> spk(L);
    std::vector<std::array<torch::Tensor, 3>> h(L);
    torch::Tensor u = torch::zeros({L, 3}, kF64);
    for (int64_t t = 0; t < L; ++t) {
      spk[t] = b.speaker[d][t].item<int64_t>();
      std::vector<torch::Tensor> node;
      for (int m = 0; m < 3; ++m) {
        const int64_t mi = static_cast<int64_t>(mods[m]);
        lam[t][m] = b.modality_mask[d][t][mi].item<bool>() ? 1.0 : 0.0;
        h[t][m] = torch::relu(testing::linear(P, std::string("encoder_") + names[m], b.features[mi][d][t])) * lam[t][m];
        node.push_back(h[t][m]);
      }
      node.push_back(torch::tensor({lam[t][0], lam[t][1], lam[t][2]}, kF64));
      node.push_back(P["speaker.weight"][spk[t]]);
      u[t] = testing::linear(P, "node_in", torch::cat(node));
    }
    const torch::Tensor A = dense_graph(spk, lam);
    torch::Tensor c = u;
    for (int64_t l = 0; l < num_layers; ++l) c = rk4(P, "ode" + std::to_string(l), c, A, 400);
    for (int64_t t = 0; t < L; ++t) {
      const torch::Tensor prev = t > 0 ? c[t - 1] : torch::zeros({3}, kF64);
      const torch::Tensor k = testing::linear(P, "keyword2", torch::relu(testing::linear(P, "keyword1", torch::cat({h[t][2], prev})))) * lam[t][2];
      const torch::Tensor e = P["speaker.weight"][spk[t]];
      std::vector<torch::Tensor> completed;
      for (int m = 0; m < 3; ++m) {
        std::vector<torch::Tensor> in;
        for (int o = 0; o < 3; ++o)
          if (o != m) in.push_back(h[t][o]);
        in.insert(in.end(), {k, c[t], e});
        const std::string f = std::string("imagine_") + names[m];
        const torch::Tensor hat =
            testing::linear(P, f + "3", torch::relu(testing::linear(P, f + "2", torch::relu(testing::linear(P, f + "1", torch::cat(in))))));
        completed.push_back(lam[t][m] == 1.0 ? h[t][m] : hat);
        const int64_t mi = static_cast<int64_t>(mods[m]);
        if (b.unmasked_modality_mask[d][t][mi].item<bool>() && lam[t][m] == 0.0) {
          const torch::Tensor target = torch::relu(testing::linear(P, std::string("encoder_") + names[m], b.unmasked_features[mi][d][t]));
          recon_sum += (hat - target).abs().mean().item<double>();
          ++recon_n;
        }
      }
      if (lam[t][0] == 0.0) {
        auto unit = [](const torch::Tensor& x) { return x / x.norm().clamp_min(1e-12); };
        align_sum += (unit(testing::linear(P, "align_audio", completed[0])) - unit(testing::linear(P, "align_text", completed[2]))).abs().mean().item<double>();
        ++align_n;
      }
      const torch::Tensor z = torch::cat({completed[0], completed[1], completed[2], k, c[t]});
      r.logits[d][t] = testing::linear(P, "output", torch::relu(testing::linear(P, "classifier", z))) + testing::linear(P, "skip", z);
    }
  }
  r.recon = recon_sum / recon_n;
  r.align = 0.1 * align_sum / align_n;
  return r;
}

TEST(Cadgl, DefaultForwardEqualsADenseRecomputation) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  const CadglConfig c = pin_config();
  auto model = make_model(c, dims, /*dbl=*/true);
  const data::DialogueBatch b = testing::protocol_batch(ds, true);
  const ModelOutput out = model->forward(b, {});
  const DenseResult expected = dense_forward(*model, b, c.num_layers);
  ASSERT_EQ(out.logits.sizes(), expected.logits.sizes());
  EXPECT_LT((out.logits - expected.logits).abs().max().item<double>(), kPinTol) << out.logits << expected.logits;
  ASSERT_TRUE(out.aux_losses.count("recon"));
  ASSERT_TRUE(out.aux_losses.count("align"));
  EXPECT_NEAR(out.aux_losses.at("recon").item<double>(), expected.recon, kPinTol);
  EXPECT_NEAR(out.aux_losses.at("align").item<double>(), expected.align, kPinTol);
  EXPECT_EQ(out.aux_losses.count("consist"), 0u);  // training only
  // The solver really adapted: several accepted steps per block.
  EXPECT_GT(model->ode_stats().accepted_steps, 2 * c.num_layers);
}

TEST(Cadgl, DefaultSizesFollowThePublicConfig) {
  // CMU-MOSI's merc features: text 768 (BERT), audio 74 (COVAREP), visual 47 (FACET); 1 speaker.
  ModelDims dims;
  dims.input_dims = {768, 74, 47};
  dims.use = {true, true, true};
  dims.num_classes = 2;
  dims.num_speakers = 1;
  CadglModel model(CadglConfig{}, dims);
  std::map<std::string, std::vector<int64_t>> s;
  for (const auto& p : model.named_parameters()) s[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(s.at("encoder_text.weight"), (std::vector<int64_t>{512, 768}));
  EXPECT_EQ(s.at("encoder_audio.weight"), (std::vector<int64_t>{512, 74}));
  EXPECT_EQ(s.at("node_in.weight"), (std::vector<int64_t>{512, 3 * 512 + 3 + 64}));
  EXPECT_EQ(s.at("ode2.w1.weight"), (std::vector<int64_t>{512, 1024}));
  EXPECT_EQ(s.count("ode3.w1.weight"), 0u);
  EXPECT_EQ(s.at("keyword1.weight"), (std::vector<int64_t>{512, 1024}));
  EXPECT_EQ(s.at("imagine_audio1.weight"), (std::vector<int64_t>{512, 2 * 512 + 512 + 512 + 64}));
  EXPECT_EQ(s.at("imagine_text3.weight"), (std::vector<int64_t>{512, 512}));
  EXPECT_EQ(s.at("align_audio.weight"), (std::vector<int64_t>{256, 512}));
  // z = a, v, t (3 x 512) + keywords 512 + context 512 = final_dim 1536 of the public config + 1024.
  EXPECT_EQ(s.at("classifier.weight"), (std::vector<int64_t>{512, 2560}));
  EXPECT_EQ(s.at("skip.weight"), (std::vector<int64_t>{2, 2560}));
}

TEST(Cadgl, MissingModalitiesContributeZerosNotStaleValues) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto model = make_model(small_config(), dims, false);
  data::DialogueBatch b = testing::protocol_batch(ds, false);
  const torch::Tensor before = model->forward(b, {}).logits;
  // Garbage in every slot the protocol or the data marked missing: nothing may change.
  for (int m = 0; m < data::kNumModalities; ++m) {
    const torch::Tensor missing = b.modality_mask.select(2, m).logical_not().unsqueeze(-1);
    b.features[m] = torch::where(missing, torch::full_like(b.features[m], 7.5), b.features[m]);
  }
  EXPECT_LT((model->forward(b, {}).logits - before).abs().max().item<double>(), kFloatTol);
}

TEST(Cadgl, ReconstructionLossOnlyOnEntriesTheProtocolRemoved) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto model = make_model(small_config(), dims, false);
  // No protocol: nothing to reconstruct (the data's own missing visual has no target).
  const data::DialogueBatch plain = testing::collate_indices(ds, {0, 1, 2, 3});
  EXPECT_EQ(model->forward(plain, {}).aux_losses.count("recon"), 0u);
  data::DialogueBatch none_removed = plain;
  data::apply_missing(none_removed, torch::ones_like(plain.modality_mask));
  EXPECT_EQ(model->forward(none_removed, {}).aux_losses.at("recon").item<double>(), 0.0);
  // The weight scales it; 0 and the "no imagination" ablation drop it.
  CadglConfig c = small_config();
  c.recon_weight = 2.5;
  const data::DialogueBatch b = testing::protocol_batch(ds, false);
  const double base = make_model(small_config(), dims, false)->forward(b, {}).aux_losses.at("recon").item<double>();
  EXPECT_GT(base, 0.0);
  EXPECT_NEAR(make_model(c, dims, false)->forward(b, {}).aux_losses.at("recon").item<double>(), 2.5 * base, 1e-6);
  c.imagination = false;
  const ModelOutput no_im = make_model(c, dims, false)->forward(b, {});
  EXPECT_EQ(no_im.aux_losses.count("recon"), 0u);
  EXPECT_EQ(no_im.aux_losses.count("align"), 0u);
}

TEST(Cadgl, ConsistencyLossIsOneMinusCosineOverSameLabelPairs) {
  const data::Dataset ds = testing::sweep_dataset();
  for (const data::Task task : {data::Task::kClassification, data::Task::kRegression}) {
    const ModelDims dims = model_dims(ds.info, {}, task);
    CadglConfig c = pin_config();
    c.dropout = 0.0;  // training mode, deterministic
    auto model = make_model(c, dims, true);
    model->train();
    data::DialogueBatch b = testing::protocol_batch(ds, true);
    // One real utterance without a target: it must take part in no pair.
    b.label[0][0] = -1;
    b.score[0][0] = std::nanf("");
    const ModelOutput out = model->forward(b, {});
    ASSERT_TRUE(out.aux_losses.count("consist"));
    const torch::Tensor z = out.features.at("fused");
    std::vector<torch::Tensor> rows;
    std::vector<int64_t> labels;
    for (int64_t d = 0; d < 4; ++d)
      for (int64_t t = 0; t < b.lengths[d].item<int64_t>(); ++t) {
        if (d == 0 && t == 0) continue;  // no target
        rows.push_back(z[d][t]);
        labels.push_back(task == data::Task::kClassification ? b.label[d][t].item<int64_t>()
                                                              : (b.score[d][t].item<double>() >= 0 ? 1 : 0));
      }
    double sum = 0;
    int pairs = 0;
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t j = i + 1; j < rows.size(); ++j)
        if (labels[i] == labels[j]) {
          sum += 1 - (rows[i].dot(rows[j]) / (rows[i].norm() * rows[j].norm())).item<double>();
          ++pairs;
        }
    ASSERT_GT(pairs, 3);
    // Double; one cosine per pair: 1e-12.
    EXPECT_NEAR(out.aux_losses.at("consist").item<double>(), 0.1 * sum / pairs, 1e-12) << data::task_name(task);
  }
}

TEST(Cadgl, AblationSwitchesChangeWhatTheyName) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  const data::DialogueBatch b = testing::protocol_batch(ds, false);
  const torch::Tensor base = make_model(small_config(), dims, false)->forward(b, {}).logits;
  auto params = [&](const CadglConfig& c) {
    std::map<std::string, std::vector<int64_t>> s;
    for (const auto& p : make_model(c, dims, false)->named_parameters()) s[p.key()] = p.value().sizes().vec();
    return s;
  };
  {  // No ODE: K Euler layers per block, K evaluations each.
    CadglConfig c = small_config();
    c.discrete_steps = 4;
    auto m = make_model(c, dims, false);
    const torch::Tensor y = m->forward(b, {}).logits;
    EXPECT_EQ(m->ode_stats().nfe, 4 * c.num_layers);
    EXPECT_GT((y - base).abs().max().item<double>(), 1e-6);
  }
  {  // No availability term: λ leaves the node input.
    CadglConfig c = small_config();
    c.availability = false;
    EXPECT_EQ(params(c).at("node_in.weight"), (std::vector<int64_t>{3, 3 * 3 + 2}));
    EXPECT_EQ(params(small_config()).at("node_in.weight"), (std::vector<int64_t>{3, 3 * 3 + 3 + 2}));
  }
  {  // No keywords.
    CadglConfig c = small_config();
    c.keywords = "none";
    const auto s = params(c);
    EXPECT_EQ(s.count("keyword1.weight"), 0u);
    EXPECT_EQ(s.at("classifier.weight"), (std::vector<int64_t>{3, 3 * 3 + 3}));
  }
  {  // No alignment, no consistency.
    CadglConfig c = small_config();
    c.align = false;
    c.consist = false;
    c.dropout = 0.0;
    auto m = make_model(c, dims, false);
    m->train();
    const ModelOutput out = m->forward(b, {});
    EXPECT_EQ(out.aux_losses.count("align"), 0u);
    EXPECT_EQ(out.aux_losses.count("consist"), 0u);
    EXPECT_EQ(out.aux_losses.count("recon"), 1u);
  }
  {  // The draft's whole-batch graph mixes dialogues: the outputs change.
    CadglConfig c = small_config();
    c.per_dialogue = false;
    EXPECT_GT((make_model(c, dims, false)->forward(b, {}).logits - base).abs().max().item<double>(), 1e-6);
  }
  {  // The draft's classifier input has no context.
    CadglConfig c = small_config();
    c.classifier_context = false;
    EXPECT_EQ(params(c).at("classifier.weight"), (std::vector<int64_t>{3, 3 * 3 + 3}));
  }
  {  // Precomputed keywords need semantic vectors in the data.
    CadglConfig c = small_config();
    c.keywords = "precomputed";
    EXPECT_THROW(CadglModel(c, dims), Error);
  }
}

TEST(Cadgl, PrecomputedKeywordsReadTheSemanticVectorsMaskedByText) {
  data::Dataset ds = testing::sweep_dataset();
  ds.info.semantic_dim = 5;
  ds.info.semantic_source = "test";
  for (auto& d : ds.dialogues) {
    d.semantic = data::FeatureMatrix(d.length(), 5);
    for (size_t i = 0; i < d.semantic.values.size(); ++i) d.semantic.values[i] = static_cast<float>(std::cos(0.4 * i + d.length()));
  }
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  CadglConfig c = pin_config();
  c.keywords = "precomputed";
  auto model = make_model(c, dims, /*dbl=*/true);
  data::DialogueBatch b = testing::protocol_batch(ds, true);
  b.semantic = b.semantic.to(torch::kFloat64);
  const ModelOutput out = model->forward(b, {});
  // k = Linear(K -> H)(s) times λ^t: the fused z ends with [k ‖ c]; check k by hand per utterance.
  const testing::ParamDict P = model->named_parameters();
  const torch::Tensor z = out.features.at("fused");
  for (int64_t d = 0; d < 4; ++d)
    for (int64_t t = 0; t < b.lengths[d].item<int64_t>(); ++t) {
      const double text = b.modality_mask[d][t][static_cast<int64_t>(Modality::kText)].item<bool>() ? 1.0 : 0.0;
      const torch::Tensor k = testing::linear(P, "keyword1", b.semantic[d][t]) * text;
      EXPECT_LT((z[d][t].slice(0, 9, 12) - k).abs().max().item<double>(), 1e-12) << d << " " << t;
    }
  // The text-missing utterance (3, 0) has no keywords; another utterance does.
  EXPECT_EQ(z[3][0].slice(0, 9, 12).abs().sum().item<double>(), 0.0);
  EXPECT_GT(z[0][0].slice(0, 9, 12).abs().sum().item<double>(), 0.0);
  // A model that does not read text still masks the vectors by the batch's text availability.
  const ModelDims av = model_dims(ds.info, {"a", "v"}, data::Task::kClassification);
  auto no_text = make_model(c, av, /*dbl=*/true);
  const torch::Tensor zk = no_text->forward(b, {}).features.at("fused");  // [a ‖ v ‖ k ‖ c]
  EXPECT_EQ(zk[3][0].slice(0, 6, 9).abs().sum().item<double>(), 0.0);
  EXPECT_GT(zk[0][0].slice(0, 6, 9).abs().sum().item<double>(), 0.0);
  // A batch without the vectors is a clear error.
  data::DialogueBatch without = b;
  without.semantic = torch::Tensor();
  EXPECT_THROW(model->forward(without, {}), Error);
}

TEST(Cadgl, AdjointGradientsMatchBackpropagationThroughTheSolver) {
  // The adjoint keeps the ODE function for the backward pass, after forward() returned (a dangling
  // graph would crash here). Double, tolerances 1e-10: the two gradients differ by the solves'
  // errors (~1e-9 relative): 1e-6.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  std::map<std::string, torch::Tensor> grads[2];
  for (const bool adjoint : {false, true}) {
    CadglConfig c = pin_config();
    c.adjoint = adjoint;
    c.dropout = 0.0;
    auto model = make_model(c, dims, true);
    model->train();
    const data::DialogueBatch b = testing::protocol_batch(ds, true);
    const ModelOutput out = model->forward(b, {});
    torch::Tensor loss = testing::task_loss(out.logits, b, data::Task::kClassification);
    for (const auto& [name, l] : out.aux_losses) loss = loss + l;
    loss.backward();
    for (const auto& p : model->named_parameters()) grads[adjoint][p.key()] = p.value().grad().clone();
  }
  for (const auto& [name, g] : grads[0]) {
    ASSERT_TRUE(grads[1].at(name).defined()) << name;
    EXPECT_LT((grads[1].at(name) - g).abs().max().item<double>(), 1e-6) << name;
  }
  EXPECT_GT(grads[0].at("ode0.w1.weight").abs().sum().item<double>(), 0.0);
}

TEST(Cadgl, AnyModalitySubsetAndRegression) {
  const data::Dataset ds = testing::sweep_dataset();
  for (const std::vector<std::string>& mods :
       std::vector<std::vector<std::string>>{{"a"}, {"v"}, {"t"}, {"a", "v"}, {"t", "v"}, {}}) {
    for (const data::Task task : {data::Task::kClassification, data::Task::kRegression}) {
      const ModelDims dims = model_dims(ds.info, mods, task);
      auto model = make_model(small_config(), dims, false);
      model->train();
      const data::DialogueBatch b = testing::protocol_batch(ds, false);
      const ModelOutput out = model->forward(b, {});
      EXPECT_EQ(out.logits.size(2), dims.output_dim());
      EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
      torch::Tensor loss = testing::task_loss(out.logits, b, task);
      for (const auto& [name, l] : out.aux_losses) loss = loss + l;
      loss.backward();
      EXPECT_TRUE(std::isfinite(loss.item<double>()));
    }
  }
}

TEST(Cadgl, BadConfigIsAClearError) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto expect_error = [&](auto edit, const std::string& needle) {
    CadglConfig c = small_config();
    edit(c);
    try {
      CadglModel m(c, dims);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error([](CadglConfig& c) { c.keywords = "llm"; }, "keywords");
  expect_error([](CadglConfig& c) { c.encoder = "bert"; }, "encoder");
  expect_error([](CadglConfig& c) { c.ode_method = "rk45"; }, "rk45");
  expect_error([](CadglConfig& c) { c.num_layers = 0; }, "num_layers");
  expect_error([](CadglConfig& c) { c.graph_window = -2; }, "graph_window");
}

}  // namespace cadgl_test
}  // namespace merc::models
