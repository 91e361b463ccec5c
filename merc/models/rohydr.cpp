#include "merc/models/rohydr.h"

#include <chrono>
#include <numeric>
#include <string>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>

#include <ATen/CPUGeneratorImpl.h>

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"

namespace merc::models {

namespace F = torch::nn::functional;

void RohydrConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("d_model", d_model, "d: width of the projections and the cross-modal encoders (dst_feature_dim 32)");
  v.field("num_heads", num_heads, "attention heads of the cross-modal and memory encoders (8)");
  v.field("layers", layers, "layers of each cross-modal encoder (nlevels 4); memory encoders max(layers, 3)");
  v.field("sequences", sequences,
          "read each utterance's sequence (DialogueBatch::sequence; needs data.sequences: true and a format that keeps "
          "them, MMSA) instead of its one vector");
  v.field("proj_kernel", proj_kernel,
          "Conv1d kernel of the input projections (release 3, no padding); 0 = 3 on sequences, 1 when every "
          "utterance is one vector");
  v.field("seq_len", seq_len, "sequences are zero-padded or cut to this many steps (MMSA aligned: 50)");
  v.field("text_dropout", text_dropout, "dropout on the text input before its projection (0.5)");
  v.field("attn_dropout", attn_dropout, "attention dropout of the encoders (0.5)");
  v.field("relu_dropout", relu_dropout, "dropout after the encoders' feed-forward ReLU (0.5)");
  v.field("res_dropout", res_dropout, "residual dropout of the encoders (0.5)");
  v.field("embed_dropout", embed_dropout, "embedding dropout of the encoders (0.5)");
  v.field("output_dropout", output_dropout, "dropout inside the regression/classification head (0.5)");
  v.field("attn_mask", attn_mask, "causal future mask in the cross-modal encoders (release true)");
  v.field("generator", generator,
          "dit (DiT + DDIM, current release) | score_sde (VE-SDE score net + Euler-Maruyama, release f125382) | none "
          "(ablation: the reconstructor reads the condition directly)");
  v.field("dit_hidden", dit_hidden, "DiT hidden width (64)");
  v.field("dit_depth", dit_depth, "DiT blocks (6)");
  v.field("dit_heads", dit_heads, "DiT attention heads (16)");
  v.field("train_timesteps", train_timesteps, "DDPM training schedule length (1000, linear beta 1e-4 -> 0.02)");
  v.field("sampling_steps", sampling_steps, "DDIM sampling steps in every forward (50)");
  v.field("ddim_schedule", ddim_schedule,
          "matched: DDIM steps over the training schedule | release: a separate 50-step schedule (timesteps <= 49, "
          "which the 1000-step denoiser reads as almost noise-free)");
  v.field("ddim_clip_sample", ddim_clip_sample, "clip DDIM's predicted x0 to [-1, 1] (release: diffusers' default true)");
  v.field("sde_steps", sde_steps, "score_sde: Euler-Maruyama steps (100)");
  v.field("backprop_through_sampler", backprop_through_sampler,
          "the reconstruction loss back-propagates through every sampling step into the generator (release true)");
  v.field("rec_blocks", rec_blocks, "RCAB blocks of each unimodal reconstructor (20)");
  v.field("rec_reduction", rec_reduction, "channel-attention reduction of the RCAB blocks (16)");
  v.field("adversarial", adversarial, "multimodal fusion recovery: reconstructor R and discriminator D (false = ablation)");
  v.field("rec_hidden1", rec_hidden1, "R's first hidden width (MOSI 80)");
  v.field("rec_hidden2", rec_hidden2, "R's second hidden width (MOSI 96)");
  v.field("rec_dropout", rec_dropout, "R's dropout (0.4)");
  v.field("disc_hidden1", disc_hidden1, "D's first hidden width (128)");
  v.field("disc_hidden2", disc_hidden2, "D's second hidden width (64)");
  v.field("lambda_g", lambda_g, "weight of the unimodal reconstruction loss against the diffusion loss (1)");
  v.field("lambda_al", lambda_al, "weight of the adversarial term in the generator loss (0.5)");
  v.field("lambda_c", lambda_c, "weight of the recovered branch in the task loss, (1 - lambda_c) on the complete one (0.4)");
  v.field("d_weight", d_weight, "weight of the discriminator loss (0.1)");
  v.field("disc_weight_decay", disc_weight_decay, "weight decay of the discriminator's Adam (1e-5)");
  v.field("disc_in_main_optimizer", disc_in_main_optimizer,
          "the main optimizer also holds D, so the generator loss steps D too (release true)");
  v.field("pretrain_epochs", pretrain_epochs,
          "stage 0: epochs training the backbone on the task (use protocol.from_stage 1 so they see complete "
          "modalities); the release loads an unpublished checkpoint instead");
  v.field("freeze_projections", freeze_projections,
          "the input projections get no gradient after stage 0 (the release runs them under no_grad)");
  v.field("redraw_kept_per_forward", redraw_kept_per_forward,
          "training: which modalities are missing is redrawn in every forward, keeping each row's count (release: "
          "random.sample inside forward, so the substeps of one batch see different modalities)");
}

namespace rohydr_detail {

void check_config(const RohydrConfig& c) {
  MERC_CHECK(c.d_model > 0 && c.num_heads > 0 && c.d_model % c.num_heads == 0,
             "rohydr: d_model ({}) must be a positive multiple of num_heads ({})", c.d_model, c.num_heads);
  MERC_CHECK(c.layers >= 1, "rohydr: layers must be >= 1, got {}", c.layers);
  MERC_CHECK(c.proj_kernel >= 0, "rohydr: proj_kernel must be >= 0, got {}", c.proj_kernel);
  MERC_CHECK(c.seq_len >= 1, "rohydr: seq_len must be >= 1, got {}", c.seq_len);
  MERC_CHECK(c.generator == "dit" || c.generator == "score_sde" || c.generator == "none",
             "rohydr: generator must be dit, score_sde or none, got '{}'", c.generator);
  MERC_CHECK(c.ddim_schedule == "matched" || c.ddim_schedule == "release",
             "rohydr: ddim_schedule must be matched or release, got '{}'", c.ddim_schedule);
  MERC_CHECK(c.dit_hidden > 0 && c.dit_depth >= 1 && c.dit_heads > 0 && c.dit_hidden % c.dit_heads == 0,
             "rohydr: dit_hidden ({}) must be a positive multiple of dit_heads ({}), dit_depth >= 1", c.dit_hidden,
             c.dit_heads);
  MERC_CHECK(c.train_timesteps >= 2 && c.sampling_steps >= 1 && c.sde_steps >= 1,
             "rohydr: train_timesteps >= 2, sampling_steps >= 1 and sde_steps >= 1 expected");
  MERC_CHECK(c.rec_blocks >= 1 && c.rec_reduction >= 1 && 2 * c.d_model >= c.rec_reduction,
             "rohydr: rec_blocks >= 1 and 1 <= rec_reduction <= 2 d_model expected");
  MERC_CHECK(c.lambda_al >= 0 && c.lambda_al <= 1 && c.lambda_c >= 0 && c.lambda_c <= 1 && c.lambda_g >= 0,
             "rohydr: lambda_al and lambda_c must be in [0, 1], lambda_g >= 0");
  MERC_CHECK(c.pretrain_epochs >= 0, "rohydr: pretrain_epochs must be >= 0, got {}", c.pretrain_epochs);
}

// The fusion reconstructor R (decoder_v1): F -> h1 -> h2 -> F with tanh output.
torch::nn::Sequential fusion_reconstructor(int64_t f, const RohydrConfig& c) {
  return torch::nn::Sequential(
      torch::nn::Linear(f, c.rec_hidden1), torch::nn::Dropout(c.rec_dropout),
      torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)), torch::nn::Linear(c.rec_hidden1, c.rec_hidden2),
      torch::nn::Dropout(c.rec_dropout), torch::nn::BatchNorm1d(c.rec_hidden2),
      torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)), torch::nn::Linear(c.rec_hidden2, f),
      torch::nn::Tanh());
}

// The discriminator D (disc_two_class): F -> probability of "complete".
torch::nn::Sequential discriminator(int64_t f, const RohydrConfig& c) {
  return torch::nn::Sequential(torch::nn::BatchNorm1d(f), torch::nn::Linear(f, c.disc_hidden1),
                               torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                               torch::nn::Linear(c.disc_hidden1, c.disc_hidden2), torch::nn::Tanh(),
                               torch::nn::Linear(c.disc_hidden2, 1), torch::nn::Sigmoid());
}

// (N, D) one vector per row -> (N, D, 1).
torch::Tensor as_sequence(const torch::Tensor& x) { return x.unsqueeze(-1); }

// Rows of `mask` (N) bool as an index (K) int64.
torch::Tensor where_true(const torch::Tensor& mask) { return mask.nonzero().reshape({-1}); }

// (N) bool: rows whose every used modality has a true value (present, or removed by the protocol).
torch::Tensor all_known(const std::vector<torch::Tensor>& avail, const std::vector<torch::Tensor>& target) {
  torch::Tensor known = avail[0] | target[0];
  for (size_t k = 1; k < avail.size(); ++k) known = known & (avail[k] | target[k]);
  return known;
}

// (B, T, out) zeros: the logits of a substep that trains only through its auxiliary losses.
torch::Tensor no_logits(const data::DialogueBatch& batch, int64_t out, const torch::TensorOptions& options) {
  return torch::zeros({batch.utterance_mask.size(0), batch.utterance_mask.size(1), out}, options);
}

}  // namespace rohydr_detail

using namespace rohydr_detail;

RohydrModel::RohydrModel(const RohydrConfig& config, const ModelDims& dims)
    : Model("RohydrModel"), config_(config), dims_(dims) {
  check_dims(dims, "rohydr");
  check_config(config);
  for (data::Modality m : data::kAllModalities)
    if (dims.use[static_cast<size_t>(data::index_of(m))]) order_.push_back(m);
  // With one vector per utterance (L = 1) the release's kernel 3 without padding cannot apply: the
  // projections become 1 x 1 (docs/models/rohydr.md).
  kernel_ = config.proj_kernel == 0 ? (config.sequences ? 3 : 1) : config.proj_kernel;
  const int64_t length = config.sequences ? config.seq_len : 1;
  MERC_CHECK(kernel_ <= length,
             "rohydr: proj_kernel {} needs per-utterance sequences of at least {} steps; {}: use proj_kernel 0 "
             "(automatic) or 1",
             kernel_, kernel_,
             config.sequences ? fmt::format("seq_len is {}", config.seq_len)
                              : std::string("this model reads one vector per utterance (sequences: false)"));
  const int64_t steps = length - kernel_ + 1;  // L' = L - k + 1
  const int64_t d = config.d_model;
  const auto n = static_cast<int64_t>(order_.size());
  const int64_t others = std::max<int64_t>(1, n - 1);
  fusion_dim_ = n * others * d;

  for (size_t k = 0; k < order_.size(); ++k) {
    const std::string name = data::modality_name(order_[k]);
    const int64_t dm = dims.input_dims[static_cast<size_t>(data::index_of(order_[k]))];
    proj_.push_back(register_module("proj_" + name,
                                    torch::nn::Conv1d(torch::nn::Conv1dOptions(dm, d, kernel_).bias(false))));
    cond_.push_back(n == 3 ? register_module("cond_" + name, torch::nn::Conv1d(torch::nn::Conv1dOptions(2 * d, d, 1)))
                           : torch::nn::Conv1d{nullptr});
    if (config.generator == "dit") {
      nn::DitDenoiserOptions o;
      o.channels = d;
      o.seq_len = steps;
      o.cond_channels = d;
      o.hidden = config.dit_hidden;
      o.depth = config.dit_depth;
      o.heads = config.dit_heads;
      dit_.push_back(register_module("dit_" + name, nn::DitDenoiser(o)));
    } else if (config.generator == "score_sde") {
      nn::ScoreNetOptions o;
      o.channels = d;
      o.seq_len = steps;
      o.cond_channels = d;
      // The release's U-Net widths 32-64-128-256 at d = 32, scaled with d; GroupNorm groups and
      // attention heads as released (4 / 32 / 8) where they divide the widths.
      o.level_channels = {d, 2 * d, 4 * d, 8 * d};
      o.first_groups = std::gcd<int64_t>(4, d);
      o.groups = std::gcd<int64_t>(32, d);
      o.heads = std::gcd<int64_t>(8, d);
      score_.push_back(register_module("score_" + name, nn::ScoreNet(o)));
    }
    rec_.push_back(register_module("rec_" + name, nn::UnimodalReconstructor(d, config.rec_blocks, config.rec_reduction)));
    std::vector<nn::CrossModalTransformer> cross;
    for (int64_t j = 0; j < others; ++j) {
      auto o = nn::CrossModalTransformerOptions(d, config.num_heads, config.layers)
                   .attn_dropout(config.attn_dropout)
                   .relu_dropout(config.relu_dropout)
                   .res_dropout(config.res_dropout)
                   .embed_dropout(config.embed_dropout)
                   .attn_mask(config.attn_mask);
      cross.push_back(register_module("cross_" + name + "_" + std::to_string(j), nn::CrossModalTransformer(o)));
    }
    cross_.push_back(cross);
    auto mo = nn::CrossModalTransformerOptions(others * d, config.num_heads, std::max<int64_t>(config.layers, 3))
                  .attn_dropout(config.attn_dropout)
                  .relu_dropout(config.relu_dropout)
                  .res_dropout(config.res_dropout)
                  .embed_dropout(config.embed_dropout)
                  .attn_mask(config.attn_mask);
    mem_.push_back(register_module("mem_" + name, nn::CrossModalTransformer(mo)));
  }
  proj1_ = register_module("proj1", torch::nn::Linear(fusion_dim_, fusion_dim_));
  proj2_ = register_module("proj2", torch::nn::Linear(fusion_dim_, fusion_dim_));
  out_ = register_module("out", torch::nn::Linear(fusion_dim_, dims.output_dim()));
  fusion_rec_ = register_module("fusion_rec", fusion_reconstructor(fusion_dim_, config));
  disc_ = register_module("disc", discriminator(fusion_dim_, config));

  train_schedule_ = std::make_unique<nn::NoiseSchedule>(nn::NoiseSchedule::linear(config.train_timesteps, 1e-4, 0.02));
  nn::DdimOptions so;
  so.num_inference_steps = config.sampling_steps;
  so.clip_sample = config.ddim_clip_sample;
  // The release samples with a DDIMScheduler of its own 50-step training schedule.
  const nn::NoiseSchedule sampling = config.ddim_schedule == "release"
                                         ? nn::NoiseSchedule::linear(config.sampling_steps, 1e-4, 0.02)
                                         : *train_schedule_;
  sampler_ = std::make_unique<nn::DdimSampler>(sampling, so);
}

int RohydrModel::stage_for_epoch(int64_t epoch, int64_t) const { return epoch < config_.pretrain_epochs ? 0 : 1; }

std::vector<ParamGroup> RohydrModel::parameter_groups(int stage) {
  const auto disc = disc_->parameters();
  auto is_disc = [&](const torch::Tensor& p) {
    for (const auto& q : disc)
      if (p.is_same(q)) return true;
    return false;
  };
  if (stage == 0) {
    // The backbone only: projections, cross-modal and memory encoders, head.
    std::vector<torch::Tensor> backbone;
    for (const auto& p : named_parameters()) {
      const std::string& n = p.key();
      bool recovery = false;
      for (const char* prefix : {"dit_", "score_", "rec_", "cond_", "fusion_rec.", "disc."})
        recovery = recovery || n.rfind(prefix, 0) == 0;
      if (!recovery) backbone.push_back(p.value());
    }
    return {ParamGroup{"backbone", backbone, 1.0}};
  }
  std::vector<torch::Tensor> main;
  for (const auto& p : parameters())
    if (config_.disc_in_main_optimizer || !is_disc(p)) main.push_back(p);
  return {ParamGroup{"main", main, 1.0}, ParamGroup{"discriminator", disc, 1.0, config_.disc_weight_decay}};
}

SubstepPlan RohydrModel::substep_plan(int stage, int substep) const {
  if (stage == 0) return SubstepPlan{0, true};
  // Substep 1 steps D's own optimizer; only the task step (3) clips, as ROHYDR.do_train.
  return SubstepPlan{substep == 1 ? 1 : 0, substep == 3};
}

bool RohydrModel::run_substep(const data::DialogueBatch& batch, const ForwardContext& ctx) const {
  if (ctx.stage == 0 || ctx.substep == 3) return true;
  if ((ctx.substep == 1 || ctx.substep == 2) && !config_.adversarial) return false;
  if (!batch.unmasked_modality_mask.defined()) return false;
  // A protocol-removed entry of a used modality: the recovery substeps have a target.
  const torch::Tensor removed = batch.unmasked_modality_mask & ~batch.modality_mask;
  for (data::Modality m : order_)
    if (removed.select(-1, data::index_of(m)).any().item<bool>()) return true;
  return false;
}

torch::Tensor RohydrModel::utterance_input(const torch::Tensor& x, const torch::Tensor& index) const {
  if (!config_.sequences) return as_sequence(x.reshape({x.size(0) * x.size(1), -1}).index_select(0, index));
  // (B, T, L_m, D) -> (N, D, seq_len): zero-padded at the end or cut, as MMSA's fixed 50 steps.
  torch::Tensor s = x.reshape({x.size(0) * x.size(1), x.size(2), x.size(3)}).index_select(0, index);
  const int64_t l = s.size(1);
  if (l > config_.seq_len) s = s.narrow(1, 0, config_.seq_len);
  if (l < config_.seq_len) s = torch::cat({s, torch::zeros({s.size(0), config_.seq_len - l, s.size(2)}, s.options())}, 1);
  return s.permute({0, 2, 1}).contiguous();
}

RohydrModel::Rows RohydrModel::rows(const data::DialogueBatch& batch) const {
  Rows r;
  const int64_t bt = batch.utterance_mask.numel();
  r.index = where_true(batch.utterance_mask.reshape({bt}));
  const bool truth = is_training() && batch.unmasked_modality_mask.defined();
  for (data::Modality m : order_) {
    const auto mi = static_cast<size_t>(data::index_of(m));
    if (config_.sequences)
      MERC_CHECK(batch.sequence[mi].defined(),
                 "rohydr: model.sequences is true but the batch has no {} sequences: set data.sequences: true and "
                 "read a format that keeps them (MMSA aligned_50.pkl / unaligned_50.pkl)",
                 data::modality_name(m));
    const torch::Tensor& input = config_.sequences ? batch.sequence[mi] : batch.features[mi];
    const torch::Tensor avail =
        batch.modality_mask.select(-1, static_cast<int64_t>(mi)).reshape({bt}).index_select(0, r.index);
    const torch::Tensor x = utterance_input(input, r.index);
    r.avail.push_back(avail);
    r.x.push_back(x * avail.view({-1, 1, 1}).to(x.scalar_type()));
    if (truth) {
      const torch::Tensor known =
          batch.unmasked_modality_mask.select(-1, static_cast<int64_t>(mi)).reshape({bt}).index_select(0, r.index);
      const torch::Tensor& true_input = config_.sequences ? batch.unmasked_sequence[mi] : batch.unmasked_features[mi];
      const torch::Tensor xt = utterance_input(true_input, r.index);
      r.x_true.push_back(xt * known.view({-1, 1, 1}).to(xt.scalar_type()));
      r.target.push_back(known & ~avail);
    } else {
      r.x_true.push_back(torch::Tensor());
      r.target.push_back(torch::zeros_like(avail));
    }
  }
  return r;
}

RohydrModel::Rows RohydrModel::redraw_kept(Rows r) const {
  // Rows whose every used modality is known keep their number of missing modalities; which ones
  // are missing is drawn anew (uniformly among the subsets of that size).
  const auto n = static_cast<int64_t>(order_.size());
  const int64_t rows = r.index.size(0);
  const torch::Tensor known = all_known(r.avail, r.target);
  torch::Tensor missing = torch::zeros({rows}, torch::kLong).to(r.index.device());
  for (int64_t k = 0; k < n; ++k) missing = missing + (~r.avail[k]).to(torch::kLong);
  const torch::Tensor rank = torch::rand({rows, n}).to(r.index.device()).argsort(int64_t{1}).argsort(int64_t{1});  // a random permutation per row
  for (int64_t k = 0; k < n; ++k) {
    const torch::Tensor drop = known & (rank.select(1, k) < missing);
    const torch::Tensor avail = torch::where(known, ~drop, r.avail[k]);
    r.target[k] = torch::where(known, drop, r.target[k]);
    r.avail[k] = avail;
    r.x[k] = r.x_true[k] * avail.view({-1, 1, 1}).to(r.x_true[k].scalar_type());
  }
  return r;
}

torch::Tensor RohydrModel::project(size_t k, const torch::Tensor& x, bool frozen) {
  const bool text = order_[k] == data::Modality::kText;
  const torch::Tensor in = text ? F::dropout(x, F::DropoutFuncOptions().p(config_.text_dropout).training(is_training())) : x;
  if (!frozen) return proj_[k](in);
  torch::NoGradGuard guard;
  return proj_[k](in);
}

torch::Tensor RohydrModel::condition(size_t k, const std::vector<torch::Tensor>& p, const torch::Tensor& rows,
                                     const std::vector<torch::Tensor>& avail) {
  std::vector<size_t> others;
  for (size_t j = 0; j < order_.size(); ++j)
    if (j != k) others.push_back(j);
  const torch::Tensor zeros = torch::zeros_like(p[k].index_select(0, rows));
  if (others.empty()) return zeros;
  auto mask = [&](size_t j) { return avail[j].index_select(0, rows).view({-1, 1, 1}); };
  const torch::Tensor pa = p[others[0]].index_select(0, rows);
  if (others.size() == 1) return torch::where(mask(others[0]), pa, zeros);
  const torch::Tensor pb = p[others[1]].index_select(0, rows);
  const torch::Tensor both = cond_[k](torch::cat({pa, pb}, 1));
  const torch::Tensor ma = mask(others[0]), mb = mask(others[1]);
  return torch::where(ma & mb, both, torch::where(ma, pa, torch::where(mb, pb, zeros)));
}

torch::Tensor RohydrModel::generate(size_t k, const torch::Tensor& cond, const torch::Tensor& noise) {
  auto draw = [&] {
    if (config_.generator == "dit") return dit_[k]->sample(cond, *sampler_, noise);
    // The VE-SDE sampler runs under no_grad (as the release's) and draws its own noise.
    if (config_.generator == "score_sde") return score_[k]->sample(cond, config_.sde_steps);
    return cond;  // generator: none
  };
  torch::Tensor sample;
  const auto t0 = std::chrono::steady_clock::now();
  if (config_.backprop_through_sampler) {
    sample = draw();
  } else {
    // Only the reconstructor learns from L_rec.
    torch::NoGradGuard guard;
    sample = draw();
  }
  sampling_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rec_[k](sample);
}

namespace rohydr_detail {
// FNV-1a, 64 bit: a stable seed from a row's key on every platform (std::hash is not).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}
}  // namespace rohydr_detail

torch::Tensor RohydrModel::eval_noise(const data::DialogueBatch& batch, const torch::Tensor& flat, size_t k, int64_t c,
                                      int64_t l) const {
  const int64_t t_len = batch.utterance_mask.size(1);
  const torch::Tensor idx = flat.to(torch::kCPU);
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < idx.size(0); ++i) {
    const int64_t f = idx[i].item<int64_t>();
    const std::string key = batch.dialogue_id[static_cast<size_t>(f / t_len)] + "#" + std::to_string(f % t_len) + "#" +
                            data::modality_name(order_[k]);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(fnv1a(key));
    rows.push_back(torch::randn({c, l}, gen, torch::TensorOptions().dtype(torch::kFloat32)));
  }
  if (rows.empty()) return torch::zeros({0, c, l}).to(batch.utterance_mask.device());
  return torch::stack(rows).to(batch.utterance_mask.device());
}

torch::Tensor RohydrModel::generator_loss(size_t k, const torch::Tensor& target, const torch::Tensor& cond) {
  if (config_.generator == "dit") return dit_[k]->loss(target, cond, *train_schedule_);
  if (config_.generator == "score_sde") return score_[k]->loss(target, cond);
  return torch::zeros({}, target.options());
}

RohydrModel::Recovery RohydrModel::recover(const data::DialogueBatch& batch, const Rows& r, bool want_losses,
                                           bool sample) {
  Recovery out;
  const bool frozen = config_.freeze_projections;
  // p: what the batch shows (zeros where missing: the projections have no bias). With the true
  // inputs known (training) p is the truth masked, so an available modality's two are identical.
  std::vector<torch::Tensor> p;
  for (size_t k = 0; k < order_.size(); ++k) {
    if (r.x_true[k].defined()) {
      out.truth.push_back(project(k, r.x_true[k], frozen));
      p.push_back(out.truth[k] * r.avail[k].view({-1, 1, 1}).to(out.truth[k].scalar_type()));
    } else {
      p.push_back(project(k, r.x[k], frozen));
    }
  }
  out.completed = p;
  out.diffusion_loss = torch::zeros({}, p[0].options());
  out.rec_loss = torch::zeros({}, p[0].options());
  for (size_t k = 0; k < order_.size(); ++k) {
    const torch::Tensor missing = where_true(~r.avail[k]);
    if (missing.numel() == 0) continue;
    const torch::Tensor cond = condition(k, p, missing, r.avail);
    const torch::Tensor targets = r.target[k].index_select(0, missing);  // positions within `missing`
    const torch::Tensor with_target = where_true(targets);
    if (want_losses && with_target.numel() > 0) {
      const torch::Tensor truth = out.truth[k].index_select(0, missing).index_select(0, with_target).detach();
      out.diffusion_loss = out.diffusion_loss + generator_loss(k, truth, cond.index_select(0, with_target));
      if (sample) {
        const torch::Tensor recovered = generate(k, cond.index_select(0, with_target), torch::Tensor());
        out.rec_loss = out.rec_loss + F::mse_loss(recovered, truth);
      }
      out.any_loss = true;
    }
    if (!want_losses && sample) {
      // Evaluation noise is seeded per row; training noise comes from the seeded global generator.
      const torch::Tensor noise =
          is_training() ? torch::Tensor()
                        : eval_noise(batch, r.index.index_select(0, missing), k, cond.size(1), cond.size(2))
                              .to(cond.scalar_type());
      out.completed[k] = p[k].index_copy(0, missing, generate(k, cond, noise));
    }
  }
  return out;
}

torch::Tensor RohydrModel::fuse(const std::vector<torch::Tensor>& p) {
  // (N, d, L') -> (L', N, d), MulT's time-major layout.
  std::vector<torch::Tensor> seq;
  for (const auto& x : p) seq.push_back(x.permute({2, 0, 1}));
  std::vector<torch::Tensor> last;
  for (size_t k = 0; k < seq.size(); ++k) {
    std::vector<torch::Tensor> h;
    size_t j = 0;
    for (size_t o = 0; o < seq.size(); ++o)
      if (o != k) h.push_back(cross_[k][j++](seq[k], seq[o]));
    if (h.empty()) h.push_back(cross_[k][0](seq[k]));  // one modality: self-attention
    const torch::Tensor mem = mem_[k](torch::cat(h, 2));
    last.push_back(mem.select(0, mem.size(0) - 1));  // the last step, as the release
  }
  return torch::cat(last, 1);
}

torch::Tensor RohydrModel::head(const torch::Tensor& f) {
  const torch::Tensor h = F::dropout(torch::relu(proj1_(f)), F::DropoutFuncOptions().p(config_.output_dropout).training(is_training()));
  return out_(proj2_(h) + f);
}

torch::Tensor RohydrModel::scatter_rows(const torch::Tensor& y, const data::DialogueBatch& batch,
                                        const torch::Tensor& index) const {
  const int64_t b = batch.utterance_mask.size(0), t = batch.utterance_mask.size(1);
  return torch::zeros({b * t, y.size(1)}, y.options()).index_copy(0, index, y).view({b, t, y.size(1)});
}

torch::Tensor RohydrModel::task_loss(const torch::Tensor& y, const data::DialogueBatch& batch,
                                     const torch::Tensor& index) const {
  // The release's criterion: L1 for regression, cross-entropy for classification, over the rows
  // with a target (the trainer's own loss is train.loss: l1 in the RoHyDR experiments).
  const torch::Tensor has = data::target_mask(batch, dims_.task).index_select(0, index);
  const torch::Tensor sel = where_true(has);
  if (sel.numel() == 0) return (y * 0).sum();
  const int64_t bt = batch.utterance_mask.numel();
  if (dims_.task == data::Task::kRegression) {
    const torch::Tensor score = batch.score.reshape({bt}).index_select(0, index).index_select(0, sel);
    return F::l1_loss(y.index_select(0, sel).squeeze(1), score.to(y.scalar_type()));
  }
  const torch::Tensor label = batch.label.reshape({bt}).index_select(0, index).index_select(0, sel);
  return F::cross_entropy(y.index_select(0, sel), label);
}

ModelOutput RohydrModel::forward(const data::DialogueBatch& input, const ForwardContext& ctx) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "rohydr");
  Rows r = rows(batch);
  if (!is_training()) return forward_eval(batch, r);
  if (ctx.stage == 0) return forward_stage0(batch, r);
  if (ctx.substep == 2) return forward_generator(batch);
  if (config_.redraw_kept_per_forward && !r.x_true.empty() && r.x_true[0].defined()) r = redraw_kept(std::move(r));
  if (ctx.substep == 0) return forward_recovery(batch, r);
  if (ctx.substep == 1) return forward_discriminator(batch, r);
  return forward_task(batch, r);
}

namespace rohydr_detail {
// Rows (N) with any used modality missing.
torch::Tensor any_missing(const std::vector<torch::Tensor>& avail) {
  torch::Tensor m = ~avail[0];
  for (size_t k = 1; k < avail.size(); ++k) m = m | ~avail[k];
  return m;
}
// Rows with a missing modality whose every missing modality has a known true value (the rows the
// adversarial losses compare with their complete counterpart).
torch::Tensor adversarial_rows(const std::vector<torch::Tensor>& avail, const std::vector<torch::Tensor>& target) {
  return where_true(any_missing(avail) & all_known(avail, target));
}
}  // namespace rohydr_detail

ModelOutput RohydrModel::forward_eval(const data::DialogueBatch& batch, const Rows& r) {
  const Recovery rec = recover(batch, r, false, true);
  torch::Tensor f = fuse(rec.completed);
  if (config_.adversarial && f.size(0) > 0) {
    const torch::Tensor missing = where_true(any_missing(r.avail));
    if (missing.numel() > 0) f = f.index_copy(0, missing, fusion_rec_->forward(f.index_select(0, missing)));
  }
  ModelOutput out;
  out.logits = scatter_rows(head(f), batch, r.index);
  out.features["fused"] = scatter_rows(f, batch, r.index);
  return out;
}

ModelOutput RohydrModel::forward_stage0(const data::DialogueBatch& batch, const Rows& r) {
  // The backbone alone on what the batch shows (complete modalities with protocol.from_stage 1).
  std::vector<torch::Tensor> p;
  for (size_t k = 0; k < order_.size(); ++k) p.push_back(project(k, r.x[k], false));
  ModelOutput out;
  out.logits = scatter_rows(head(fuse(p)), batch, r.index);
  return out;
}

ModelOutput RohydrModel::forward_recovery(const data::DialogueBatch& batch, const Rows& r) {
  const Recovery rec = recover(batch, r, true, true);
  ModelOutput out;
  out.logits = no_logits(batch, dims_.output_dim(), rec.completed[0].options());
  out.task_loss_weight = 0.0;
  if (rec.any_loss)
    out.aux_losses["unimodal_recovery"] =
        (rec.diffusion_loss + config_.lambda_g * rec.rec_loss) / (1.0 + config_.lambda_g);
  return out;
}

ModelOutput RohydrModel::forward_discriminator(const data::DialogueBatch& batch, const Rows& r) {
  const torch::Tensor adv = adversarial_rows(r.avail, r.target);
  ModelOutput out;
  out.logits = no_logits(batch, dims_.output_dim(), r.x[0].options());
  out.task_loss_weight = 0.0;
  cached_lm_ = torch::Tensor();
  cached_gt_ = torch::Tensor();
  // BatchNorm needs two rows in training; checked before the (costly) recovery.
  if (adv.numel() < 2) return out;
  const Recovery rec = recover(batch, r, false, true);
  cached_lm_ = fuse(rec.completed).index_select(0, adv);
  cached_gt_ = fuse(rec.truth).index_select(0, adv);
  const torch::Tensor real = disc_->forward(cached_gt_.detach());
  const torch::Tensor fake = disc_->forward(cached_lm_.detach());
  out.aux_losses["discriminator"] = config_.d_weight * (F::binary_cross_entropy(real, torch::ones_like(real)) +
                                                        F::binary_cross_entropy(fake, torch::zeros_like(fake)));
  return out;
}

ModelOutput RohydrModel::forward_generator(const data::DialogueBatch& batch) {
  ModelOutput out;
  out.logits = no_logits(batch, dims_.output_dim(), torch::TensorOptions().device(batch.utterance_mask.device()));
  out.task_loss_weight = 0.0;
  if (!cached_lm_.defined()) return out;  // substep 1 had fewer than two rows
  const torch::Tensor recon = fusion_rec_->forward(cached_lm_);
  const torch::Tensor judged = disc_->forward(recon);
  out.aux_losses["generator"] = config_.lambda_al * F::binary_cross_entropy(judged, torch::ones_like(judged)) +
                                (1.0 - config_.lambda_al) * F::l1_loss(recon, cached_gt_);
  cached_lm_ = torch::Tensor();
  cached_gt_ = torch::Tensor();
  return out;
}

ModelOutput RohydrModel::forward_task(const data::DialogueBatch& batch, const Rows& r) {
  const Recovery rec = recover(batch, r, false, true);
  torch::Tensor lm = fuse(rec.completed);
  const torch::Tensor missing = where_true(any_missing(r.avail));
  if (config_.adversarial && missing.numel() >= 2) lm = lm.index_copy(0, missing, fusion_rec_->forward(lm.index_select(0, missing)));
  ModelOutput out;
  out.logits = scatter_rows(head(lm), batch, r.index);
  out.features["fused"] = scatter_rows(lm, batch, r.index);
  out.task_loss_weight = config_.lambda_c;
  const torch::Tensor gt = rec.truth.empty() ? lm : fuse(rec.truth);
  // The complete branch only where every used modality is known: a modality the data itself lacks
  // has no true value to fuse (the release always has the full input).
  const torch::Tensor rows = where_true(all_known(r.avail, r.target));
  out.aux_losses["task_complete"] =
      (1.0 - config_.lambda_c) * task_loss(head(gt).index_select(0, rows), batch, r.index.index_select(0, rows));
  return out;
}

}  // namespace merc::models
