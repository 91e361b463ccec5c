#include "merc/models/comp.h"

#include <array>
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/models/comp_modulator.h"
#include "merc/models/registry.h"
#include "expert_reference.h"
#include "model_test_util.h"

namespace merc::models {
namespace comp_test {

CompConfig tiny_config() {
  CompConfig c;
  c.name = "comp";
  c.hidden_dim = 4;
  c.depth = 2;
  c.num_heads = 2;
  c.prompt_dim = 3;
  c.num_prototypes = 2;
  c.seq_len = 7;
  c.stage_epoch = 3;
  return c;
}

std::shared_ptr<CompModel> build(const CompConfig& c, data::Task task, std::vector<std::string> mods = {}) {
  const data::Dataset ds = testing::sweep_dataset();
  torch::manual_seed(3);
  return std::make_shared<CompModel>(c, model_dims(ds.info, mods, task));
}

data::DialogueBatch sweep_batch() { return testing::collate_indices(testing::sweep_dataset(), {0, 1, 2, 3}); }

torch::Tensor total_loss(const ModelOutput& out, const data::DialogueBatch& b, data::Task task) {
  torch::Tensor loss = testing::task_loss(out.logits, b, task) * out.task_loss_weight;
  for (const auto& [name, aux] : out.aux_losses) loss = loss + aux;
  return loss;
}

namespace ref = expert_reference;

// float32 model through ~8 tiny layers (2 expert stacks, prompt formers, propagation, coordinator,
// fusion head) against the same arithmetic in double: ~1e-6 on O(1) values; 2e-5 leaves margin.
constexpr double kCompTol = 2e-5;

// merc's default CompConfig with only the sizes shrunk: hidden_dim 256 -> 4, depth 4 -> 2 (one
// layer in block1 and block2), prompt_dim 16 -> 3, num_prototypes 10 -> 2, seq_len 65 -> 7.
// Every switch keeps its default (private_branch released, modulator on, prompt_row_mask true,
// unimodal_twice true, coordinator_zero_missing false, modulator_delta released); dropout 0.5 is
// inactive in eval.
CompConfig default_small_config() {
  CompConfig c;
  c.name = "comp";
  c.hidden_dim = 4;
  c.depth = 2;
  c.prompt_dim = 3;
  c.num_prototypes = 2;
  c.seq_len = 7;
  return c;
}

// Dialogues 0 and 1 (lengths 4 and 2; dialogue 1 utterance 0 has no visual in the data) with audio
// of dialogue 0 utterance 2 and text of dialogue 1 utterance 0 removed as a protocol would.
data::DialogueBatch two_dialogues_with_holes() {
  data::DialogueBatch b = testing::collate_indices(testing::sweep_dataset(), {0, 1});
  for (auto [d, t, m] : {std::tuple{0, 2, data::Modality::kAudio}, std::tuple{1, 0, data::Modality::kText}}) {
    b.modality_mask.index_put_({d, t, data::index_of(m)}, false);
    b.features[data::index_of(m)][d][t].zero_();
  }
  return b;
}

// (B, T, ...) -> (B, S, ...) zero-padded on the time axis.
torch::Tensor pad_time(const torch::Tensor& x, int64_t S) {
  auto shape = x.sizes().vec();
  shape[1] = S - x.size(1);
  return torch::cat({x, torch::zeros(shape, x.options())}, 1);
}

struct CompExpected {
  torch::Tensor logits;       // (B, T, C), zero at padding
  torch::Tensor unimodal;     // (B, T, U, C)
  torch::Tensor unimodal_s;   // (B, S, U, C): the unimodal heads at every padded position
  torch::Tensor coordinator;  // stage 1: (B, T, U)
  // Classification: stage 0 sum_m [CE(out_m) + CE(1 - out_private_m)], stage 1 sum_m CE(out_m) (once).
  torch::Tensor unimodal_loss;
};

// docs/models/comp.md "What it computes", in double, every modality a, t, v used, eval (no
// dropout). c.prompt_row_mask and c.private_branch select the switch being modelled.
CompExpected recompute(const CompModel& model, const CompConfig& c, const data::DialogueBatch& batch, int stage) {
  const auto p = ref::params_of(model);
  const std::string L[] = {"a", "t", "v"};
  const data::Modality order[] = {data::Modality::kAudio, data::Modality::kText, data::Modality::kVisual};
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1), S = c.seq_len;
  const int64_t H = c.hidden_dim, P = c.prompt_dim;
  const auto umask = pad_time(batch.utterance_mask, S);
  // An expert stack applied to each dialogue at all S positions (the prototypes read every one).
  auto stack = [&](const std::string& name, const torch::Tensor& x, const torch::Tensor& mask) {
    std::vector<torch::Tensor> rows;
    for (int64_t b = 0; b < B; ++b) rows.push_back(ref::expert_stack(p, name, x[b], mask[b], c.depth / 2, c.num_heads));
    return torch::stack(rows);
  };
  // The prompt former: cosines of every token of the batch with every prototype of the batch;
  // with the row term, rows whose time-major mask entry is false hold cos - 1e4 in float32,
  // i.e. cos rounded to the float32 spacing 2^-10 of [8192, 16384) (the constant -1e4 itself
  // cancels in the softmax).
  auto prompt = [&](const std::string& name, const torch::Tensor& x, const torch::Tensor& mask,
                    const torch::Tensor& proto) {
    const auto fx = x.reshape({-1, H}), fp = proto.reshape({-1, H});
    auto cos = (fx / fx.norm(2, 1, true)).mm((fp / fp.norm(2, 1, true)).t());  // (B S, B K)
    if (c.prompt_row_mask) {
      const auto hit = mask.t().reshape({-1}).logical_not().unsqueeze(1);  // row r <- mask[r % B][r / B]
      cos = torch::where(hit, torch::round(cos * 1024.0) / 1024.0, cos);
    }
    const auto mixed = torch::softmax(cos, 1).mm(fp).reshape({B, S, H});
    return ref::mlp(p, name + ".proj_d", mixed) + ref::linear(p, name + ".proj_prompt", x);
  };
  std::vector<torch::Tensor> mask, shared, priv, xs, out_m, out_priv;
  for (int m = 0; m < 3; ++m) {
    const int mi = data::index_of(order[m]);
    mask.push_back(pad_time(batch.modality_mask.select(2, mi), S) & umask);
    const auto x = pad_time(batch.features[mi].to(torch::kFloat64), S) * mask[m].unsqueeze(-1);
    const auto proj = ref::linear(p, L[m] + "_in_proj", x);
    shared.push_back(ref::mlp(p, "shared_enc_" + L[m], proj));
    priv.push_back(ref::mlp(p, "private_enc_" + L[m], proj));
  }
  CompExpected e;
  if (stage == 0) {
    for (int m = 0; m < 3; ++m) {
      const auto x = stack("block2_" + L[m], stack("block1_" + L[m], shared[m], mask[m]), mask[m]);
      out_m.push_back(ref::linear(p, "nlp_head_" + L[m], x));
      const auto& src = c.private_branch == "own" ? priv[m] : priv[0];
      out_priv.push_back(ref::linear(p, "nlp_head_" + L[m],
                                     stack("block2_" + L[m], stack("block1_" + L[m], src, mask[m]), mask[m])));
      xs.push_back(x * mask[m].unsqueeze(-1));
    }
  } else {
    std::vector<torch::Tensor> proto(3), prompt0(3), shared2(3), prompt1(3);
    std::vector<std::vector<torch::Tensor>> carried(3);
    for (int m = 0; m < 3; ++m) {
      const std::string f = "prop_former_" + L[m] + "_1";
      proto[m] = ref::mlp(p, f + ".proj_n", shared[m].transpose(1, 2)).transpose(1, 2);  // (B, K, H), over time
      prompt0[m] = prompt(f, shared[m], mask[m], proto[m]);
    }
    for (int m = 0; m < 3; ++m) {
      std::vector<torch::Tensor> parts{shared[m]};
      for (int n = 0; n < 3; ++n)
        if (n != m) parts.push_back(prompt0[n]);
      const auto r = ref::mlp(p, "prop_proj_rev_" + L[m] + "_1",
                              stack("block1_" + L[m], ref::linear(p, "prop_proj_" + L[m] + "_1", torch::cat(parts, -1)),
                                    mask[m]));
      shared2[m] = r.narrow(-1, 0, H);
      for (int k = 0; k < 2; ++k) carried[m].push_back(r.narrow(-1, H + k * P, P));
    }
    for (int m = 0; m < 3; ++m) prompt1[m] = prompt("prop_former_" + L[m] + "_2", shared2[m], mask[m], proto[m]);
    for (int m = 0; m < 3; ++m) {
      std::vector<torch::Tensor> parts{shared2[m]};
      int k = 0;
      for (int n = 0; n < 3; ++n)
        if (n != m) parts.push_back(c.lbd * carried[m][k++] + (1 - c.lbd) * prompt1[n]);
      const auto x = stack("block2_" + L[m], ref::linear(p, "prop_proj_" + L[m] + "_2", torch::cat(parts, -1)), mask[m]);
      out_m.push_back(ref::linear(p, "nlp_head_" + L[m], x));
      xs.push_back(x);
    }
    if (c.coordinator_zero_missing)  // default false: missing positions are not zeroed here
      for (int m = 0; m < 3; ++m) xs[m] = xs[m] * mask[m].unsqueeze(-1);
    const auto w = torch::softmax(ref::mlp(p, "router", torch::cat(xs, -1)), -1);  // (B, S, U)
    for (int m = 0; m < 3; ++m) xs[m] = xs[m] * w.narrow(-1, m, 1);
    e.coordinator = w.narrow(1, 0, T);
  }
  const auto joint = torch::cat(xs, -1);
  const auto hidden = joint + torch::relu(ref::linear(p, "proj1", joint));
  e.logits = ref::linear(p, "nlp_head", hidden).narrow(1, 0, T) * batch.utterance_mask.unsqueeze(-1);
  e.unimodal_s = torch::stack(out_m, 2);
  e.unimodal = e.unimodal_s.narrow(1, 0, T);
  // Masked CE over the real (labelled) rows of the padded batch.
  const auto real = umask.reshape({-1});
  const auto y = pad_time(batch.label, S).reshape({-1}).clamp_min(0).unsqueeze(1);
  auto ce = [&](const torch::Tensor& logits) {
    const auto nll = -torch::log_softmax(logits.reshape({B * S, -1}), 1).gather(1, y).squeeze(1);
    return nll.masked_select(real).mean();
  };
  e.unimodal_loss = torch::zeros({}, torch::kFloat64);
  for (int m = 0; m < 3; ++m) {
    e.unimodal_loss = e.unimodal_loss + ce(out_m[m]);
    if (stage == 0) e.unimodal_loss = e.unimodal_loss + ce(1.0 - out_priv[m]);
  }
  return e;
}

std::shared_ptr<CompModel> build_default(const CompConfig& c, uint64_t seed = 21) {
  torch::manual_seed(seed);
  auto model = std::make_shared<CompModel>(c, model_dims(testing::sweep_dataset().info, {}, data::Task::kClassification));
  model->eval();
  return model;
}

torch::Tensor f64(const torch::Tensor& t) { return t.detach().to(torch::kFloat64); }

TEST(Comp, DefaultForwardEqualsADenseRecomputationInBothStages) {
  const CompConfig c = default_small_config();
  auto model = build_default(c);
  const auto batch = two_dialogues_with_holes();
  torch::NoGradGuard no_grad;
  for (int stage : {0, 1}) {
    model->set_stage(stage);
    const ModelOutput out = model->forward(batch, ForwardContext{stage == 0 ? 0 : 150, stage, 0});
    const CompExpected e = recompute(*model, c, batch, stage);
    EXPECT_TRUE(torch::allclose(f64(out.logits), e.logits, 0, kCompTol)) << "stage " << stage << out.logits << e.logits;
    EXPECT_TRUE(torch::allclose(f64(out.features.at("unimodal")), e.unimodal, 0, kCompTol)) << "stage " << stage;
    if (stage == 1) {
      EXPECT_TRUE(torch::allclose(f64(out.features.at("coordinator_weights")), e.coordinator, 0, kCompTol));
    }
  }
}

// private_branch: the stage-0 unimodal loss sum_m [CE(out_m, y) + CE(1 - out_private_m, y)] with
// the private branch fed private_a for every m (released) or private_m (own), recomputed.
TEST(Comp, PrivateBranchSwitchGivesTheRecomputedStageZeroLoss) {
  const auto batch = two_dialogues_with_holes();
  std::vector<double> losses;
  for (const char* mode : {"released", "own"}) {
    CompConfig c = default_small_config();
    c.private_branch = mode;
    auto model = build_default(c);  // same seed: the same weights for both modes
    const ModelOutput out = model->forward(batch, ForwardContext{0, 0, 0});  // grad mode on: losses computed
    const CompExpected e = recompute(*model, c, batch, 0);
    EXPECT_NEAR(out.aux_losses.at("unimodal").item<double>(), e.unimodal_loss.item<double>(), kCompTol) << mode;
    losses.push_back(e.unimodal_loss.item<double>());
  }
  EXPECT_GT(std::abs(losses[0] - losses[1]), 100 * kCompTol) << "the switch must matter on this example";
}

// prompt_row_mask: true = the -1e4 row term (cosines of the rows hit by the time-major mask
// rounded to 2^-10), false = plain cosines; each setting's stage-1 outputs equal their own
// recomputation, and the two recomputations differ by more than 3 kCompTol, so neither setting
// passes against the other's values. The switch's change is also checked as a difference,
// model(true) - model(false) against recompute(true) - recompute(false), at 5e-7: both model runs
// share every float32 operation but the rounding (measured noise ~1e-7).
// tests/nn/prompt_former_test.cpp pins the rounding itself at the prompt.
TEST(Comp, PromptRowMaskSwitchGivesTheRecomputedStageOneOutputs) {
  const auto batch = two_dialogues_with_holes();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> expected, got;
  for (bool row_mask : {true, false}) {
    CompConfig c = default_small_config();
    c.prompt_row_mask = row_mask;
    auto model = build_default(c);
    {
      // Prototypes spread 30x wider (round-1 prototype Mlp output scaled): the rounding moves the
      // attention-weighted prototype, and so the prompts, 30x more, well above float noise.
      auto params = model->named_parameters();
      for (const char* m : {"a", "t", "v"})
        for (const char* w : {".weight", ".bias"}) params[std::string("prop_former_") + m + "_1.proj_n.fc2" + w].mul_(30.0);
    }
    model->set_stage(1);
    const ModelOutput out = model->forward(batch, ForwardContext{150, 1, 0});
    const CompExpected e = recompute(*model, c, batch, 1);
    got.push_back(f64(out.features.at("unimodal")));
    EXPECT_TRUE(torch::allclose(got.back(), e.unimodal, 0, kCompTol)) << row_mask << got.back() << e.unimodal;
    EXPECT_TRUE(torch::allclose(f64(out.logits), e.logits, 0, kCompTol)) << row_mask;
    expected.push_back(e.unimodal);
  }
  const auto d_exp = expected[0] - expected[1], d_got = got[0] - got[1];
  EXPECT_TRUE(torch::allclose(d_got, d_exp, 0, 5e-7)) << d_got << d_exp;
  EXPECT_GT(d_exp.abs().max().item<double>(), 3 * kCompTol);
}

// modulator: after a stage-1 training backward, `on` multiplies column t of each
// prop_former_m_1.proj_n.fc1.weight gradient by w_m[t], recomputed here from the recomputed
// unimodal outputs (Delta_m = |logit_m[y] - y|, pair weights (S - W) / (S + 1e-10) with
// W = Delta_m - Delta_n, mean over the partners, mean per position over the batch, 1 where no
// utterance); `released` and `off` leave every gradient as backward made it.
// dropout 0 (not the default 0.5) so that the training forward can be recomputed.
TEST(Comp, ModulatorSwitchScalesThePrototypeGradientByRecomputedWeights) {
  const auto batch = two_dialogues_with_holes();
  const int64_t B = 2, S = 7;
  const std::string L[] = {"a", "t", "v"};
  std::map<std::string, std::map<std::string, torch::Tensor>> grads;
  torch::Tensor w_expected;  // (U, S)
  for (const char* mode : {"on", "released", "off"}) {
    CompConfig c = default_small_config();
    c.dropout = 0.0;
    c.modulator = mode;
    auto model = build_default(c);
    model->set_stage(1);
    model->train();
    const ForwardContext ctx{150, 1, 0};
    const ModelOutput out = model->forward(batch, ctx);
    torch::Tensor loss = testing::task_loss(out.logits, batch, data::Task::kClassification);
    for (const auto& [name, aux] : out.aux_losses) loss = loss + aux;
    loss.backward();
    model->after_backward(ctx, out);
    for (const auto& p : model->named_parameters()) grads[mode][p.key()] = p.value().grad().clone();
    if (std::string(mode) != "on") continue;
    // The weights from the recomputed unimodal outputs at every padded position.
    const CompExpected e = recompute(*model, c, batch, 1);
    const auto label = pad_time(batch.label, S);
    const auto selected = pad_time(batch.utterance_mask, S);
    w_expected = torch::ones({3, S}, torch::kFloat64);
    std::vector<std::array<double, 3>> delta;  // per selected row, in row order b S + t
    std::vector<int64_t> pos;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < S; ++t) {
        if (!selected[b][t].item<bool>()) continue;
        const int64_t y = label[b][t].item<int64_t>();
        std::array<double, 3> d{};
        for (int m = 0; m < 3; ++m) d[m] = std::abs(e.unimodal_s[b][t][m][y].item<double>() - static_cast<double>(y));
        delta.push_back(d);
        pos.push_back(t);
      }
    const size_t N = delta.size();
    std::vector<std::array<double, 3>> wm(N, std::array<double, 3>{0, 0, 0});
    for (int m = 0; m < 3; ++m)
      for (int n = 0; n < 3; ++n) {
        if (n == m) continue;
        double sum = 0;
        for (size_t r = 0; r < N; ++r) sum += delta[r][m] - delta[r][n];
        for (size_t r = 0; r < N; ++r) wm[r][m] += (sum - (delta[r][m] - delta[r][n])) / (sum + 1e-10) / 2.0;
      }
    for (int m = 0; m < 3; ++m)
      for (int64_t t = 0; t < S; ++t) {
        double acc = 0;
        int cnt = 0;
        for (size_t r = 0; r < N; ++r)
          if (pos[r] == t) acc += wm[r][m], ++cnt;
        if (cnt > 0) w_expected[m][t] = acc / cnt;
      }
    ASSERT_TRUE(torch::allclose(f64(out.features.at("modulator_weights")), w_expected, 1e-4, 1e-5))
        << out.features.at("modulator_weights") << w_expected;
  }
  EXPECT_GT((w_expected - 1).abs().max().item<double>(), 1e-2) << "the example should modulate something";
  for (const auto& [name, g] : grads["released"]) {
    EXPECT_TRUE(torch::equal(grads["off"][name], g)) << name;
    bool modulated = false;
    for (int m = 0; m < 3; ++m)
      if (name == "prop_former_" + L[m] + "_1.proj_n.fc1.weight") {
        modulated = true;
        // The unmodulated gradient times w_m[t] column by column (1e-4 relative: the weights are
        // recomputed in double from float32-level outputs).
        EXPECT_TRUE(torch::allclose(f64(grads["on"][name]), f64(g) * w_expected[m].unsqueeze(0), 1e-4, 1e-8)) << name;
      }
    if (!modulated) {
      EXPECT_TRUE(torch::equal(grads["on"][name], g)) << name;
    }
  }
}

TEST(Comp, StageScheduleFreezesAndGroupsParameters) {
  auto model = build(tiny_config(), data::Task::kClassification);
  EXPECT_EQ(model->stage_for_epoch(0, 10), 0);
  EXPECT_EQ(model->stage_for_epoch(2, 10), 0);
  EXPECT_EQ(model->stage_for_epoch(3, 10), 1);
  const int64_t all = static_cast<int64_t>(model->parameters().size());
  const auto g0 = model->parameter_groups(0), g1 = model->parameter_groups(1);
  ASSERT_EQ(g0.size(), 1u);
  ASSERT_EQ(g1.size(), 1u);
  EXPECT_EQ(static_cast<int64_t>(g1[0].params.size()), all);
  EXPECT_LT(static_cast<int64_t>(g0[0].params.size()), all);
  // Stage 0 (the constructor's) freezes prompting and the fusion head; stage 1 trains everything.
  const auto named = model->named_parameters();
  EXPECT_FALSE(named["prop_former_a_1.proj_n.fc1.weight"].requires_grad());
  EXPECT_FALSE(named["nlp_head.weight"].requires_grad());
  EXPECT_TRUE(named["shared_enc_a.fc1.weight"].requires_grad());
  EXPECT_TRUE(named["block1_t.layers.0.q.weight"].requires_grad());
  model->set_stage(1);
  for (const auto& p : model->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_THROW(model->set_stage(2), Error);
}

TEST(Comp, StageLossesAndEveryStageOneParameterGetsAGradient) {
  for (data::Task task : {data::Task::kClassification, data::Task::kRegression}) {
    auto model = build(tiny_config(), task);
    const auto batch = sweep_batch();
    model->train();
    ModelOutput out0 = model->forward(batch, ForwardContext{0, 0, 0});
    EXPECT_EQ(out0.task_loss_weight, 0.0);
    EXPECT_EQ(out0.aux_losses.count("unimodal"), 1u);
    EXPECT_EQ(out0.aux_losses.count("disentangle"), 1u);
    EXPECT_EQ(out0.aux_losses.count("reconstruction"), 0u);
    EXPECT_EQ(out0.features.count("modulator_weights"), 0u);

    model->set_stage(1);
    ModelOutput out1 = model->forward(batch, ForwardContext{3, 1, 0});
    EXPECT_EQ(out1.task_loss_weight, 1.0);
    EXPECT_EQ(out1.aux_losses.count("reconstruction"), 1u);
    total_loss(out1, batch, task).backward();
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    }
    // No aux loss in no-grad forwards (evaluation).
    torch::NoGradGuard ng;
    EXPECT_TRUE(model->forward(batch, ForwardContext{3, 1, 0}).aux_losses.empty());
  }
}

TEST(Comp, CoordinatorWeightsSumToOne) {
  auto model = build(tiny_config(), data::Task::kClassification);
  model->eval();
  torch::NoGradGuard ng;
  const auto out = model->forward(sweep_batch(), ForwardContext{3, 1, 0});
  const auto& w = out.features.at("coordinator_weights");
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{4, 5, 3}));
  EXPECT_TRUE(torch::allclose(w.sum(-1), torch::ones({4, 5}), 0, 1e-6));  // float32 sum of 3 terms
  EXPECT_GT(w.min().item<float>(), 0.0f);
}

// Appends `extra` padded positions to a batch by hand (zeros, masks false, label -1, score 0).
data::DialogueBatch pad_batch(const data::DialogueBatch& b, int64_t extra) {
  data::DialogueBatch p = b;
  auto pad = [&](const torch::Tensor& t, double value) {
    auto shape = t.sizes().vec();
    shape[1] = extra;
    return torch::cat({t, torch::full(shape, value, t.options())}, 1);
  };
  for (auto& f : p.features)
    if (f.defined()) f = pad(f, 0);
  p.speaker = pad(b.speaker, 0);
  p.utterance_mask = pad(b.utterance_mask, 0);
  p.modality_mask = pad(b.modality_mask, 0);
  p.label = pad(b.label, -1);
  p.score = pad(b.score, 0);
  return p;
}

TEST(Comp, PadsToSeqLenInsideAndCropsTheOutput) {
  auto model = build(tiny_config(), data::Task::kClassification);
  model->eval();
  torch::NoGradGuard ng;
  const auto batch = sweep_batch();  // T = 5, seq_len = 7
  for (int stage : {0, 1}) {
    const auto a = model->forward(batch, ForwardContext{0, stage, 0}).logits;
    ASSERT_EQ(a.sizes(), (std::vector<int64_t>{4, 5, 3}));
    // The same dialogues arriving with more padding (T = 7 = seq_len) give the same outputs.
    const auto b = model->forward(pad_batch(batch, 2), ForwardContext{0, stage, 0}).logits;
    ASSERT_EQ(b.sizes(), (std::vector<int64_t>{4, 7, 3}));
    EXPECT_TRUE(torch::allclose(a, b.narrow(1, 0, 5), 0, 1e-6)) << "stage " << stage;
    EXPECT_EQ(b.narrow(1, 5, 2).abs().max().item<float>(), 0.0f);
  }
  // Longer than seq_len: a clear error naming seq_len.
  try {
    model->forward(pad_batch(batch, 3), ForwardContext{});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("seq_len"), std::string::npos) << e.what();
  }
}

// Runs one stage-1 training forward + backward; returns the gradients before after_backward.
struct Step {
  ModelOutput out;
  std::map<std::string, torch::Tensor> grads;
};
Step stage1_step(CompModel& model, const data::DialogueBatch& batch, data::Task task) {
  model.set_stage(1);
  model.train();
  model.zero_grad();
  Step s;
  s.out = model.forward(batch, ForwardContext{3, 1, 0});
  total_loss(s.out, batch, task).backward();
  for (const auto& p : model.named_parameters())
    s.grads[p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor();
  return s;
}

TEST(Comp, ModulatorScalesExactlyThePrototypeColumns) {
  for (data::Task task : {data::Task::kRegression, data::Task::kClassification}) {
    auto model = build(tiny_config(), task);
    const auto batch = sweep_batch();
    const Step s = stage1_step(*model, batch, task);
    ASSERT_EQ(s.out.features.count("modulator_weights"), 1u);
    const auto& w = s.out.features.at("modulator_weights");  // (U, S)
    ASSERT_EQ(w.sizes(), (std::vector<int64_t>{3, 7}));

    // The weights follow from the unimodal outputs: Delta_m = |yhat_m - y| (regression, label != 0)
    // or |logit_m[y] - y| (classification); positions 5, 6 are padding only -> 1.
    const auto uni = s.out.features.at("unimodal").detach();  // (B, T, U, C)
    torch::Tensor deltas, selected;
    if (task == data::Task::kRegression) {
      const auto y = torch::nan_to_num(batch.score, 0.0);
      deltas = (uni.squeeze(-1) - y.unsqueeze(-1)).abs();
      selected = batch.utterance_mask & (y != 0);
    } else {
      const auto y = batch.label.clamp_min(0);
      deltas = (uni.gather(3, y.view({4, 5, 1, 1}).expand({4, 5, 3, 1})).squeeze(-1) -
                y.unsqueeze(-1).to(torch::kFloat))
                   .abs();
      selected = batch.utterance_mask;
    }
    const auto expected = comp::position_weights(deltas, selected);
    EXPECT_TRUE(torch::allclose(w.narrow(1, 0, 5), expected, 1e-5, 1e-6));
    EXPECT_TRUE(torch::equal(w.narrow(1, 5, 2), torch::ones({3, 2})));
    EXPECT_FALSE(torch::allclose(w, torch::ones_like(w))) << "the example should modulate something";

    model->after_backward(ForwardContext{3, 1, 0}, s.out);
    const char* letters[] = {"a", "t", "v"};
    for (const auto& p : model->named_parameters()) {
      const auto& before = s.grads.at(p.key());
      bool modulated = false;
      for (int m = 0; m < 3; ++m)
        if (p.key() == std::string("prop_former_") + letters[m] + "_1.proj_n.fc1.weight") {
          modulated = true;
          EXPECT_TRUE(torch::allclose(p.value().grad(), before * w[m].unsqueeze(0), 1e-6, 1e-7)) << p.key();
        }
      if (!modulated) {
        EXPECT_TRUE(torch::equal(p.value().grad(), before)) << p.key() << " must not change";
      }
    }
  }
}

TEST(Comp, ProbabilityDeltaFeedsOneMinusTheTrueClassProbability) {
  CompConfig c = tiny_config();
  c.modulator_delta = "probability";
  auto model = build(c, data::Task::kClassification);
  const auto batch = sweep_batch();
  const Step s = stage1_step(*model, batch, data::Task::kClassification);
  const auto& w = s.out.features.at("modulator_weights");  // (U, S)
  const auto uni = s.out.features.at("unimodal").detach();  // (B, T, U, C)
  const auto y = batch.label.clamp_min(0);
  const auto p_true = torch::softmax(uni, -1).gather(3, y.view({4, 5, 1, 1}).expand({4, 5, 3, 1})).squeeze(-1);
  const auto expected = comp::position_weights(1.0 - p_true, batch.utterance_mask);
  EXPECT_TRUE(torch::allclose(w.narrow(1, 0, 5), expected, 1e-5, 1e-6));
  // The released Delta (raw logit minus class index) gives other weights on the same outputs.
  const auto released = comp::position_weights(
      (uni.gather(3, y.view({4, 5, 1, 1}).expand({4, 5, 3, 1})).squeeze(-1) - y.unsqueeze(-1).to(torch::kFloat)).abs(),
      batch.utterance_mask);
  EXPECT_FALSE(torch::allclose(expected, released, 1e-3, 1e-3));
}

// unimodal_twice: the stage-1 "unimodal" aux loss is 2 sum_m CE(out_m, y) (default) or once, with
// the unimodal outputs and the CE recomputed (classification, the default model).
TEST(Comp, UnimodalTwiceGivesTwiceOrOnceTheRecomputedStageOneLoss) {
  const auto batch = two_dialogues_with_holes();
  for (bool twice : {true, false}) {
    CompConfig c = default_small_config();
    c.unimodal_twice = twice;
    auto model = build_default(c);  // eval; grad mode stays on, so the losses are computed
    model->set_stage(1);
    const ModelOutput out = model->forward(batch, ForwardContext{150, 1, 0});
    const CompExpected e = recompute(*model, c, batch, 1);
    EXPECT_GT(e.unimodal_loss.item<double>(), 0.1);
    EXPECT_NEAR(out.aux_losses.at("unimodal").item<double>(), (twice ? 2 : 1) * e.unimodal_loss.item<double>(),
                kCompTol)
        << twice;
  }
}

TEST(Comp, CoordinatorZeroMissingChangesOnlyPositionsWithAMissingModality) {
  CompConfig zero = tiny_config();
  zero.coordinator_zero_missing = true;
  auto a = build(tiny_config(), data::Task::kClassification);
  auto b = build(zero, data::Task::kClassification);
  torch::NoGradGuard ng;
  const auto batch = sweep_batch();  // dialogue 1, utterance 0 has no visual
  torch::Tensor wa, wb;
  for (auto [m, w] : {std::pair{a.get(), &wa}, std::pair{b.get(), &wb}}) {
    m->set_stage(1);
    m->eval();
    *w = m->forward(batch, ForwardContext{3, 1, 0}).features.at("coordinator_weights");  // (B, T, U)
  }
  const auto complete = batch.utterance_mask & batch.modality_mask.all(-1);  // every modality present
  ASSERT_FALSE(complete[1][0].item<bool>());
  EXPECT_TRUE(torch::equal(wa.index({complete}), wb.index({complete})));
  EXPECT_FALSE(torch::allclose(wa[1][0], wb[1][0])) << "zeroing the missing visual must move the weights";
  // And the exact values: each setting equals its recomputation.
  const auto holes = two_dialogues_with_holes();
  for (bool zero_missing : {false, true}) {
    CompConfig cfg = default_small_config();
    cfg.coordinator_zero_missing = zero_missing;
    auto model = build_default(cfg);
    model->set_stage(1);
    const ModelOutput out = model->forward(holes, ForwardContext{150, 1, 0});
    const CompExpected e = recompute(*model, cfg, holes, 1);
    EXPECT_TRUE(torch::allclose(f64(out.features.at("coordinator_weights")), e.coordinator, 0, kCompTol)) << zero_missing;
    EXPECT_TRUE(torch::allclose(f64(out.logits), e.logits, 0, kCompTol)) << zero_missing;
  }
}

TEST(Comp, ReleasedAndOffModulatorsLeaveGradientsUntouched) {
  for (const char* mode : {"released", "off"}) {
    CompConfig c = tiny_config();
    c.modulator = mode;
    auto model = build(c, data::Task::kRegression);
    const Step s = stage1_step(*model, sweep_batch(), data::Task::kRegression);
    EXPECT_EQ(s.out.features.count("modulator_weights"), 0u) << mode;
    ModelOutput forced = s.out;  // even when handed weights, released/off never fire
    forced.features["modulator_weights"] = torch::full({3, 7}, 2.0f);
    model->after_backward(ForwardContext{3, 1, 0}, forced);
    for (const auto& p : model->named_parameters()) EXPECT_TRUE(torch::equal(p.value().grad(), s.grads.at(p.key())));
  }
}

TEST(Comp, PrivateBranchReleasedFeedsTheFirstModalityOnly) {
  // Backward of the stage-0 unimodal loss alone: with the released quirk, private_a feeds every
  // modality's private branch, so private_enc_t gets no gradient from it; with `own` it does.
  for (const char* mode : {"released", "own"}) {
    CompConfig c = tiny_config();
    c.private_branch = mode;
    auto model = build(c, data::Task::kClassification);
    model->eval();
    const auto out = model->forward(sweep_batch(), ForwardContext{});
    out.aux_losses.at("unimodal").backward();
    const auto g = model->named_parameters()["private_enc_t.fc1.weight"].grad();
    const bool has = g.defined() && g.abs().sum().item<double>() > 0;
    EXPECT_EQ(has, std::string(mode) == "own") << mode;
    EXPECT_GT(model->named_parameters()["private_enc_a.fc1.weight"].grad().abs().sum().item<double>(), 0) << mode;
  }
}

TEST(Comp, SubsetsOfModalitiesRunBothStages) {
  for (const auto& mods : std::vector<std::vector<std::string>>{{"t"}, {"a", "v"}}) {
    auto model = build(tiny_config(), data::Task::kRegression, mods);
    EXPECT_EQ(model->modalities().size(), mods.size());
    const Step s = stage1_step(*model, sweep_batch(), data::Task::kRegression);
    EXPECT_EQ(s.out.logits.sizes(), (std::vector<int64_t>{4, 5, 1}));
    model->after_backward(ForwardContext{3, 1, 0}, s.out);
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    }
  }
}

TEST(Comp, BadConfigValuesAreClearErrors) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto expect_error = [&](auto edit) {
    CompConfig c = tiny_config();
    edit(c);
    EXPECT_THROW(CompModel(c, dims), Error);
  };
  expect_error([](CompConfig& c) { c.depth = 1; });
  expect_error([](CompConfig& c) { c.hidden_dim = 5; });  // not divisible by 2 heads
  expect_error([](CompConfig& c) { c.modulator = "maybe"; });
  expect_error([](CompConfig& c) { c.private_branch = "shared"; });
  expect_error([](CompConfig& c) { c.modulator_delta = "logit"; });
  expect_error([](CompConfig& c) { c.lbd = 1.5; });
  expect_error([](CompConfig& c) { c.seq_len = 0; });
}

}  // namespace comp_test
}  // namespace merc::models
