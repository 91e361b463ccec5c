// rohydr (merc/models/rohydr.h): the forward against a recomputation from its definition, the
// four training substeps (what each one trains, when it runs, which optimizer it steps), the
// release switches, every modality subset and both tasks, and bad configs.
#include <gtest/gtest.h>

#include <torch/nn/functional/loss.h>

#include "merc/core/error.h"
#include "merc/data/missing_protocol.h"
#include "merc/models/registry.h"
#include "merc/models/rohydr.h"
#include "model_test_util.h"

namespace merc::models {
namespace rohydr_test_detail {

using data::Modality;
constexpr auto kF64 = torch::kFloat64;

// Double-precision recomputation vs the model in double: both run the same arithmetic in another
// order (one batched call vs one row at a time); 1e-9 absolute on O(1) logits is far above double
// rounding through a few dozen layers and far below any wiring error.
constexpr double kPinTol = 1e-9;

RohydrConfig tiny_config() {
  auto c = make_model_config("rohydr");
  find_model("rohydr").make_tiny(*c);
  return dynamic_cast<RohydrConfig&>(*c);
}

std::shared_ptr<RohydrModel> make_model(const RohydrConfig& c, const ModelDims& dims, bool dbl, uint64_t seed = 3) {
  torch::manual_seed(static_cast<int64_t>(seed));
  auto model = std::make_shared<RohydrModel>(c, dims);
  // Away from the zero-initialised adaLN / final layers, so the generators do something.
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.add_(0.2 * torch::randn_like(p));
  if (dbl) model->to(kF64);
  return model;
}

std::shared_ptr<torch::nn::Module> child(RohydrModel& m, const std::string& name) {
  for (const auto& c : m.named_children())
    if (c.key() == name) return c.value();
  throw Error("no child module " + name);
}
torch::Tensor param(RohydrModel& m, const std::string& name) { return m.named_parameters()[name]; }

// ---- The recomputation, one utterance at a time, from the definition in rohydr.h. ----
torch::Tensor dense_logits(RohydrModel& m, const RohydrConfig& c, const data::DialogueBatch& b) {
  torch::NoGradGuard no_grad;
  const auto& order = m.order();
  const int64_t B = b.utterance_mask.size(0), T = b.utterance_mask.size(1), d = c.d_model;
  nn::DdimOptions so;
  so.num_inference_steps = c.sampling_steps;
  so.clip_sample = false;
  const nn::DdimSampler sampler(nn::NoiseSchedule::linear(c.train_timesteps, 1e-4, 0.02), so);
  torch::Tensor logits = torch::zeros({B, T, m.named_parameters()["out.bias"].size(0)}, kF64);
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t t = 0; t < T; ++t) {
      if (!b.utterance_mask[bi][t].item<bool>()) continue;
      std::vector<torch::Tensor> p;  // (1, d, 1) each
      std::vector<bool> avail;
      for (Modality mod : order) {
        const int mi = data::index_of(mod);
        avail.push_back(b.modality_mask[bi][t][mi].item<bool>());
        const torch::Tensor x = b.features[mi][bi][t] * (avail.back() ? 1.0 : 0.0);
        const torch::Tensor w = param(m, std::string("proj_") + data::modality_name(mod) + ".weight").squeeze(-1);
        p.push_back(torch::matmul(w, x).view({1, d, 1}));
      }
      bool any_missing = false;
      std::vector<torch::Tensor> done = p;
      for (size_t k = 0; k < order.size(); ++k) {
        if (avail[k]) continue;
        any_missing = true;
        const std::string name = data::modality_name(order[k]);
        std::vector<size_t> others;
        for (size_t j = 0; j < order.size(); ++j)
          if (j != k) others.push_back(j);
        torch::Tensor cond = torch::zeros({1, d, 1}, kF64);
        const bool a0 = avail[others[0]], a1 = avail[others[1]];
        if (a0 && a1) {
          const torch::Tensor w = param(m, "cond_" + name + ".weight").squeeze(-1);
          const torch::Tensor bias = param(m, "cond_" + name + ".bias");
          cond = (torch::matmul(w, torch::cat({p[others[0]].view({d}), p[others[1]].view({d})})) + bias).view({1, d, 1});
        } else if (a0) {
          cond = p[others[0]];
        } else if (a1) {
          cond = p[others[1]];
        }
        const torch::Tensor noise = m.eval_noise(b, torch::tensor({bi * T + t}), k, d, 1).to(kF64);
        auto dit = std::dynamic_pointer_cast<nn::DitDenoiserImpl>(child(m, "dit_" + name));
        auto rec = std::dynamic_pointer_cast<nn::UnimodalReconstructorImpl>(child(m, "rec_" + name));
        done[k] = rec->forward(dit->sample(cond, sampler, noise));
      }
      std::vector<torch::Tensor> h;
      for (size_t k = 0; k < order.size(); ++k) {
        const std::string name = data::modality_name(order[k]);
        std::vector<torch::Tensor> parts;
        size_t j = 0;
        for (size_t o = 0; o < order.size(); ++o) {
          if (o == k) continue;
          auto cross = std::dynamic_pointer_cast<nn::CrossModalTransformerImpl>(
              child(m, "cross_" + name + "_" + std::to_string(j++)));
          parts.push_back(cross->forward(done[k].permute({2, 0, 1}), done[o].permute({2, 0, 1})));
        }
        auto mem = std::dynamic_pointer_cast<nn::CrossModalTransformerImpl>(child(m, "mem_" + name));
        const torch::Tensor seq = mem->forward(torch::cat(parts, 2));
        h.push_back(seq[seq.size(0) - 1]);  // (1, 2d)
      }
      torch::Tensor f = torch::cat(h, 1);
      if (any_missing) f = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(child(m, "fusion_rec"))->forward(f);
      auto lin = [&](const std::string& n, const torch::Tensor& x) {
        return torch::matmul(x, param(m, n + ".weight").t()) + param(m, n + ".bias");
      };
      const torch::Tensor o = lin("proj2", torch::relu(lin("proj1", f))) + f;
      logits[bi][t] = lin("out", o)[0];
    }
  return logits;
}

TEST(Rohydr, DefaultForwardEqualsADenseRecomputation) {
  const data::Dataset ds = testing::sweep_dataset();
  for (data::Task task : {data::Task::kClassification, data::Task::kRegression}) {
    const ModelDims dims = model_dims(ds.info, {}, task);
    const RohydrConfig c = tiny_config();
    auto model = make_model(c, dims, true);
    model->eval();
    const data::DialogueBatch b = testing::protocol_batch(ds, true);
    torch::NoGradGuard no_grad;
    const ModelOutput out = model->forward(b, {});
    const torch::Tensor expected = dense_logits(*model, c, b);
    ASSERT_EQ(out.logits.sizes(), expected.sizes());
    EXPECT_LT((out.logits - expected).abs().max().item<double>(), kPinTol) << out.logits << expected;
    EXPECT_TRUE(out.aux_losses.empty());  // evaluation: no losses
    // Sanity: the recovered rows differ from what zeros in their place would give.
    EXPECT_GT(out.logits.abs().sum().item<double>(), 0.0);
  }
}

TEST(Rohydr, EvaluationIsDeterministicBatchIndependentAndNeverReadsTheTruth) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kRegression);
  auto model = make_model(tiny_config(), dims, false);
  model->eval();
  torch::NoGradGuard no_grad;
  data::DialogueBatch b = testing::protocol_batch(ds, false);
  const torch::Tensor first = model->forward(b, {}).logits;
  EXPECT_TRUE(torch::equal(model->forward(b, {}).logits, first));  // the same noise again
  // The unmasked (true) features are for training losses only.
  for (int m = 0; m < data::kNumModalities; ++m) b.unmasked_features[m] = torch::randn_like(b.unmasked_features[m]);
  EXPECT_TRUE(torch::equal(model->forward(b, {}).logits, first));
  // Dialogue 2 alone gets the same noise (seeded by dialogue id and position), so the same output
  // up to BLAS blocking of a different batch size (1e-5, as model_invariance_test's kPaddingTol).
  data::DialogueBatch alone = testing::collate_indices(ds, {2});
  torch::Tensor keep = torch::ones_like(alone.modality_mask);
  keep[0][0][2] = false;
  keep[0][3][1] = false;
  keep[0][3][2] = false;
  data::apply_missing(alone, keep);
  const torch::Tensor single = model->forward(alone, {}).logits;
  EXPECT_TRUE(torch::allclose(single[0], first[2].narrow(0, 0, 5), 0, 1e-5)) << single[0] << first[2];
}

TEST(Rohydr, SubstepsRunOnlyWhereTheProtocolRemovedSomethingAndStepTheirOptimizer) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kRegression);
  RohydrConfig c = tiny_config();
  auto model = make_model(c, dims, false);
  EXPECT_EQ(model->stage_for_epoch(0, 10), 0);
  EXPECT_EQ(model->stage_for_epoch(c.pretrain_epochs, 10), 1);
  EXPECT_EQ(model->substeps(0), 1);
  ASSERT_EQ(model->substeps(1), 4);
  const data::DialogueBatch missing = testing::protocol_batch(ds, false);
  data::DialogueBatch complete = testing::collate_indices(ds, {0, 2});
  data::apply_missing(complete, torch::ones_like(complete.modality_mask));
  for (int s = 0; s < 4; ++s) {
    EXPECT_TRUE(model->run_substep(missing, ForwardContext{0, 1, s})) << s;
    EXPECT_EQ(model->run_substep(complete, ForwardContext{0, 1, s}), s == 3) << s;
    // D's own optimizer in substep 1; only the task step clips.
    EXPECT_EQ(model->substep_plan(1, s).optimizer, s == 1 ? 1 : 0) << s;
    EXPECT_EQ(model->substep_plan(1, s).clip, s == 3) << s;
  }
  // A dialogue whose visual the DATA lacks (not the protocol) has nothing to recover towards.
  data::DialogueBatch source_missing = testing::collate_indices(ds, {1});
  data::apply_missing(source_missing, torch::ones_like(source_missing.modality_mask));
  EXPECT_FALSE(model->run_substep(source_missing, ForwardContext{0, 1, 0}));
  // Parameter groups: D in its own group with weight decay, not in the main one (unless the
  // release switch says so).
  const auto disc = child(*model, "disc")->parameters();
  auto groups = model->parameter_groups(1);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].params.size(), disc.size());
  EXPECT_DOUBLE_EQ(groups[1].weight_decay, c.disc_weight_decay);
  EXPECT_EQ(groups[0].params.size(), model->parameters().size() - disc.size());
  c.disc_in_main_optimizer = true;
  auto release = make_model(c, dims, false);
  EXPECT_EQ(release->parameter_groups(1)[0].params.size(), release->parameters().size());
  // Without adversarial recovery only substeps 0 and 3 run.
  c.adversarial = false;
  auto plain = make_model(c, dims, false);
  for (int s = 0; s < 4; ++s) EXPECT_EQ(plain->run_substep(missing, ForwardContext{0, 1, s}), s == 0 || s == 3) << s;
}

// Which parameters got a non-zero gradient from one substep's losses.
std::set<std::string> touched(RohydrModel& m) {
  std::set<std::string> out;
  for (const auto& p : m.named_parameters())
    if (p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0)
      out.insert(p.key().substr(0, p.key().find('.')));
  return out;
}

double total_loss(const ModelOutput& out) {
  double s = 0;
  for (const auto& [name, l] : out.aux_losses) s += l.item<double>();
  return s;
}

TEST(Rohydr, EachSubstepTrainsWhatTheReleaseTrains) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kRegression);
  auto model = make_model(tiny_config(), dims, false);
  model->train();
  const data::DialogueBatch b = testing::protocol_batch(ds, false);
  auto run = [&](int s) {
    model->zero_grad();
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    const ModelOutput out = model->forward(b, ForwardContext{0, 1, s});
    torch::Tensor total = torch::zeros({});
    for (const auto& [name, l] : out.aux_losses) total = total + l;
    if (out.task_loss_weight > 0) total = total + out.task_loss_weight * testing::task_loss(out.logits, b, dims.task);
    if (total.requires_grad()) total.backward();
    return out;
  };
  // 0: diffusion + reconstruction losses reach the generators, reconstructors and condition convs;
  // not the frozen projections, the fusion or D.
  const ModelOutput o0 = run(0);
  ASSERT_TRUE(o0.aux_losses.count("unimodal_recovery"));
  EXPECT_EQ(o0.task_loss_weight, 0.0);
  std::set<std::string> t0 = touched(*model);
  for (const char* n : {"dit_text", "dit_audio", "dit_visual", "rec_text", "rec_audio", "rec_visual"})
    EXPECT_TRUE(t0.count(n)) << n;
  for (const char* n : {"proj_text", "proj_audio", "proj_visual", "disc", "fusion_rec", "proj1", "out"})
    EXPECT_FALSE(t0.count(n)) << n;
  for (const auto& n : t0) EXPECT_TRUE(n.rfind("dit_", 0) == 0 || n.rfind("rec_", 0) == 0 || n.rfind("cond_", 0) == 0) << n;
  // 1: only D.
  const ModelOutput o1 = run(1);
  ASSERT_TRUE(o1.aux_losses.count("discriminator"));
  EXPECT_EQ(touched(*model), std::set<std::string>{"disc"});
  // 2: the generator loss reuses substep 1's fused features: R, the fusion encoders (through F_lm
  // and F_gt) and D (which the main optimizer does not hold by default).
  const ModelOutput o2 = run(2);
  ASSERT_TRUE(o2.aux_losses.count("generator"));
  std::set<std::string> t2 = touched(*model);
  for (const char* n : {"fusion_rec", "disc", "mem_text", "cross_audio_0"}) EXPECT_TRUE(t2.count(n)) << n;
  EXPECT_FALSE(t2.count("proj1"));
  // Substep 2 without a substep 1 before it has nothing to reuse: no loss.
  EXPECT_TRUE(run(2).aux_losses.empty());
  // 3: the task: head, fusion, R; the recovered branch with weight lambda_c plus the complete one.
  const ModelOutput o3 = run(3);
  EXPECT_DOUBLE_EQ(o3.task_loss_weight, tiny_config().lambda_c);
  ASSERT_TRUE(o3.aux_losses.count("task_complete"));
  std::set<std::string> t3 = touched(*model);
  for (const char* n : {"proj1", "proj2", "out", "fusion_rec", "mem_visual"}) EXPECT_TRUE(t3.count(n)) << n;
  EXPECT_FALSE(t3.count("disc"));
  EXPECT_FALSE(t3.count("proj_text"));  // frozen after stage 0
  // Stage 0: the backbone, projections included, on the task alone.
  model->zero_grad();
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  const ModelOutput s0 = model->forward(b, ForwardContext{0, 0, 0});
  testing::task_loss(s0.logits, b, dims.task).backward();
  std::set<std::string> ts0 = touched(*model);
  EXPECT_TRUE(ts0.count("proj_text"));
  EXPECT_FALSE(ts0.count("dit_audio"));
  EXPECT_FALSE(ts0.count("disc"));
  (void)total_loss;
}

TEST(Rohydr, TheCompleteBranchLossIsTheReleaseCriterionOnTheTrueFeatures) {
  // With every dropout off, the complete branch of substep 3 is (1 - lambda_c) L1(head(F_gt), y),
  // and F_gt is what the model computes for the same batch with nothing removed.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kRegression);
  RohydrConfig c = tiny_config();
  c.text_dropout = c.attn_dropout = c.relu_dropout = c.res_dropout = c.embed_dropout = c.output_dropout = 0.0;
  c.rec_dropout = 0.0;
  auto model = make_model(c, dims, true);
  model->train();
  const data::DialogueBatch b = testing::protocol_batch(ds, true);
  const ModelOutput out = model->forward(b, ForwardContext{0, 1, 3});
  data::DialogueBatch full = testing::collate_indices(ds, {0, 1, 2, 3});
  for (int m = 0; m < data::kNumModalities; ++m) full.features[m] = full.features[m].to(kF64);
  const ModelOutput complete = model->forward(full, ForwardContext{0, 0, 0});  // stage 0: the backbone on complete input
  torch::Tensor mask = b.utterance_mask & torch::isfinite(b.score);
  // Dialogue 1 utterance 0 lacks visual in the DATA: no true value, so it is not in the complete
  // branch (the model skips it; without the skip the loss would differ).
  mask[1][0] = false;
  const double l1 = (complete.logits.squeeze(-1) - torch::nan_to_num(b.score)).abs().masked_select(mask).mean().item<double>();
  EXPECT_NEAR(out.aux_losses.at("task_complete").item<double>(), (1 - c.lambda_c) * l1, 1e-10);
}

TEST(Rohydr, RedrawKeptKeepsEachRowsNumberOfMissingModalities) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kRegression);
  RohydrConfig c = tiny_config();
  c.redraw_kept_per_forward = true;
  auto model = make_model(c, dims, false);
  model->train();
  const data::DialogueBatch b = testing::protocol_batch(ds, false);
  const RohydrModel::Rows r = model->rows(b);
  std::set<std::vector<bool>> patterns;
  for (int trial = 0; trial < 20; ++trial) {
    const RohydrModel::Rows d = model->redraw_kept(r);
    for (int64_t i = 0; i < r.index.size(0); ++i) {
      int before = 0, after = 0;
      std::vector<bool> pat;
      for (size_t k = 0; k < 3; ++k) {
        before += !r.avail[k][i].item<bool>();
        after += !d.avail[k][i].item<bool>();
        pat.push_back(d.avail[k][i].item<bool>());
        // A row the data itself lacks a modality of keeps its own pattern.
        if (!(r.avail[k][i].item<bool>() || r.target[k][i].item<bool>())) {
          EXPECT_FALSE(d.avail[k][i].item<bool>());
        }
        // What is missing now is either known (a target) or missing in the data.
        if (!d.avail[k][i].item<bool>() && r.x_true[k][i].abs().sum().item<double>() > 0) {
          EXPECT_TRUE(d.target[k][i].item<bool>());
        }
      }
      EXPECT_EQ(before, after) << "row " << i;
      if (i == 1) patterns.insert(pat);  // dialogue 0 utterance 1: one missing of three
    }
  }
  EXPECT_GT(patterns.size(), 1u);  // the missing modality really moves
}

TEST(Rohydr, EverySubsetTaskAndGeneratorRunsEverySubstepWithFiniteGradients) {
  const data::Dataset ds = testing::sweep_dataset();
  const std::vector<std::vector<std::string>> subsets = {{"t"}, {"a"}, {"v"}, {"t", "a"}, {"t", "v"}, {"a", "v"}, {}};
  for (const std::string generator : {"dit", "score_sde", "none"})
    for (const auto& subset : subsets)
      for (data::Task task : {data::Task::kClassification, data::Task::kRegression}) {
        RohydrConfig c = tiny_config();
        c.generator = generator;
        const ModelDims dims = model_dims(ds.info, subset, task);
        auto model = make_model(c, dims, false);
        model->train();
        const data::DialogueBatch b = testing::protocol_batch(ds, false);
        for (int s = 0; s < 4; ++s) {
          model->zero_grad();
          const ModelOutput out = model->forward(b, ForwardContext{0, 1, s});
          ASSERT_EQ(out.logits.size(2), dims.output_dim());
          torch::Tensor total = out.task_loss_weight * testing::task_loss(out.logits, b, task);
          for (const auto& [name, l] : out.aux_losses) total = total + l;
          ASSERT_TRUE(std::isfinite(total.item<double>())) << generator << " substep " << s;
          if (total.requires_grad()) total.backward();
          for (const auto& p : model->parameters())
            if (p.grad().defined()) {
              ASSERT_TRUE(torch::isfinite(p.grad()).all().item<bool>()) << generator;
            }
        }
        model->eval();
        torch::NoGradGuard no_grad;
        const torch::Tensor y = model->forward(b, {}).logits;
        EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << generator;
        // Padding rows are zero.
        EXPECT_EQ(y[3].narrow(0, 1, y.size(1) - 1).abs().sum().item<double>(), 0.0);
      }
}

TEST(Rohydr, DefaultSizesFollowTheRelease) {
  // MMSA CMU-MOSI dims: text 768, audio 5, visual 20; one vector per utterance here (kernel 1).
  ModelDims dims;
  dims.input_dims = {768, 5, 20};
  dims.use = {true, true, true};
  dims.task = data::Task::kRegression;
  RohydrModel model(RohydrConfig{}, dims);
  auto s = [&](const std::string& n) { return model.named_parameters()[n].sizes().vec(); };
  EXPECT_EQ(s("proj_text.weight"), (std::vector<int64_t>{32, 768, 1}));
  EXPECT_EQ(s("cond_audio.weight"), (std::vector<int64_t>{32, 64, 1}));
  EXPECT_EQ(model.fusion_dim(), 192);
  EXPECT_EQ(s("proj1.weight"), (std::vector<int64_t>{192, 192}));
  EXPECT_EQ(s("out.weight"), (std::vector<int64_t>{1, 192}));
  EXPECT_EQ(s("fusion_rec.0.weight"), (std::vector<int64_t>{80, 192}));
  EXPECT_EQ(s("disc.1.weight"), (std::vector<int64_t>{128, 192}));
  int64_t dit_blocks = 0;
  for (const auto& p : model.named_parameters())
    if (p.key().rfind("dit_audio.blocks.", 0) == 0 && p.key().find(".ada_ln.weight") != std::string::npos)
      ++dit_blocks;
  EXPECT_EQ(dit_blocks, 6);
}

TEST(Rohydr, ReleaseSamplerSwitchesSelectTheReleasedSchedule) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kRegression);
  RohydrConfig c;  // published sizes: 1000 training steps, 50 sampling steps
  c.d_model = 4, c.num_heads = 2, c.dit_hidden = 4, c.dit_heads = 2, c.rec_blocks = 1, c.rec_reduction = 2;
  // matched (merc): 50 DDIM steps over the 1000-step training schedule, no clipping.
  RohydrModel matched(c, dims);
  EXPECT_EQ(matched.sampler().timesteps().front(), 980);
  EXPECT_EQ(matched.sampler().timesteps().back(), 0);
  EXPECT_FALSE(matched.sampler().options().clip_sample);
  // release: diffusers' DDIMScheduler(num_train_timesteps=50) with its default clip_sample=True:
  // timesteps 49 ... 0, which the 1000-step denoiser reads as nearly noise-free.
  c.ddim_schedule = "release";
  c.ddim_clip_sample = true;
  RohydrModel release(c, dims);
  EXPECT_EQ(release.sampler().timesteps().front(), 49);
  EXPECT_EQ(release.sampler().timesteps().size(), 50u);
  EXPECT_TRUE(release.sampler().options().clip_sample);
}

TEST(Rohydr, BadConfigsAreClearErrors) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kRegression);
  auto expect_error = [&](const std::function<void(RohydrConfig&)>& set, const std::string& what) {
    RohydrConfig c = tiny_config();
    set(c);
    try {
      RohydrModel m(c, dims);
      FAIL() << "expected an error about " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error([](RohydrConfig& c) { c.generator = "gan"; }, "generator must be dit, score_sde or none");
  expect_error([](RohydrConfig& c) { c.num_heads = 3; }, "multiple of num_heads");
  expect_error([](RohydrConfig& c) { c.proj_kernel = 3; }, "one vector per utterance");
  expect_error([](RohydrConfig& c) { c.ddim_schedule = "fast"; }, "ddim_schedule must be matched or release");
  expect_error([](RohydrConfig& c) { c.lambda_c = 2; }, "lambda_c");
}

}  // namespace rohydr_test_detail
}  // namespace merc::models
