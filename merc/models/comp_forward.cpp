// CompModel::forward and its two stage paths (the class is declared in comp.h; split from
// comp.cpp, which holds construction and the training hooks, to keep both files short).

#include <fmt/format.h>
#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/models/comp.h"
#include "merc/models/comp_losses.h"
#include "merc/models/comp_modulator.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/dropout.h"

namespace merc::models {

namespace {
constexpr double kPrivateNoiseScale = 1.5;  // train_mr.py: noise = clamp(1.5 * randn, -3, 3)
constexpr double kPrivateNoiseClamp = 3.0;

// (B, T, ...) -> (B, S, ...) with zeros (false) appended on the time axis.
torch::Tensor pad_to_seq_len(const torch::Tensor& x, int64_t S) {
  const int64_t T = x.size(1);
  if (T == S) return x;
  auto shape = x.sizes().vec();
  shape[1] = S - T;
  return torch::cat({x, torch::zeros(shape, x.options())}, 1);
}
}  // namespace

// One forward's per-modality tensors at the padded length S (index i = used modality i).
struct CompModel::Encoded {
  torch::Tensor umask;               // (B, S) real utterances
  std::vector<torch::Tensor> mask;   // (B, S) modality available (and real)
  std::vector<torch::Tensor> proj;   // (B, S, H)
  std::vector<torch::Tensor> shared, priv, rec;  // priv and rec only when losses are computed
};

std::vector<torch::Tensor> CompModel::stage0(const Encoded& e, std::vector<torch::Tensor>& out_m,
                                             std::vector<torch::Tensor>& out_private) {
  std::vector<torch::Tensor> xs;
  for (size_t i = 0; i < branches_.size(); ++i) {
    Branch& b = branches_[i];
    const auto& mask = e.mask[i];
    const auto x = b.block2(b.block1(e.shared[i], mask), mask);
    out_m.push_back(b.head(x));
    if (!e.priv.empty()) {  // the private branch only feeds the loss
      // Reference quirk: private_a (the first used modality here) feeds every modality's branch.
      const auto& src = config_.private_branch == "released" ? e.priv[0] : e.priv[i];
      out_private.push_back(b.head(b.block2(b.block1(src, mask), mask)));
    }
    xs.push_back(x * mask.unsqueeze(-1).to(x.scalar_type()));
  }
  return xs;
}

std::vector<torch::Tensor> CompModel::stage1(const Encoded& e, std::vector<torch::Tensor>& out_m,
                                             torch::Tensor& weights) {
  const size_t U = branches_.size();
  const int64_t H = config_.hidden_dim, P = config_.prompt_dim;
  const double lbd = config_.lbd;
  // Round 1: prompts and prototypes from the shared features.
  std::vector<torch::Tensor> prompt0(U), proto(U);
  for (size_t i = 0; i < U && U > 1; ++i) {
    const nn::PromptFormerOutput r = branches_[i].former1(e.shared[i], e.mask[i]);
    prompt0[i] = r.prompt;
    proto[i] = r.prototypes;
  }
  // Propagation round 1: each modality receives the others' prompts, block1, then Mlp_rev splits
  // its output into shared features and the prompts it carried (slot k = k-th other modality).
  std::vector<torch::Tensor> shared2(U);
  std::vector<std::vector<torch::Tensor>> carried(U);
  for (size_t i = 0; i < U; ++i) {
    Branch& b = branches_[i];
    std::vector<torch::Tensor> parts{e.shared[i]};
    for (size_t n = 0; n < U; ++n)
      if (n != i) parts.push_back(prompt0[n]);
    const auto r = b.rev(b.block1(b.prop1(torch::cat(parts, -1)), e.mask[i]));
    shared2[i] = r.narrow(-1, 0, H);
    for (int64_t k = 0; k + 1 < static_cast<int64_t>(U); ++k) carried[i].push_back(r.narrow(-1, H + k * P, P));
  }
  // Round 2: prompts of the updated shared features against the round-1 prototypes.
  std::vector<torch::Tensor> prompt1(U);
  for (size_t i = 0; i < U && U > 1; ++i)
    prompt1[i] = branches_[i].former2->prompt(shared2[i], e.mask[i], proto[i]);
  // Progressive mix and propagation round 2.
  std::vector<torch::Tensor> xs;
  for (size_t i = 0; i < U; ++i) {
    Branch& b = branches_[i];
    std::vector<torch::Tensor> parts{shared2[i]};
    size_t k = 0;
    for (size_t n = 0; n < U; ++n)
      if (n != i) parts.push_back(lbd * carried[i][k++] + (1.0 - lbd) * prompt1[n]);
    const auto x = b.block2(b.prop2(torch::cat(parts, -1)), e.mask[i]);
    out_m.push_back(b.head(x));
    xs.push_back(x);
  }
  // Coordinator: per-position softmax weights over the modalities. The reference does not zero
  // missing positions here (stage 0 does); coordinator_zero_missing does.
  if (config_.coordinator_zero_missing)
    for (size_t i = 0; i < U; ++i) xs[i] = xs[i] * e.mask[i].unsqueeze(-1).to(xs[i].scalar_type());
  weights = torch::softmax(router_(torch::cat(xs, -1)), -1);  // (B, S, U)
  for (size_t i = 0; i < U; ++i) xs[i] = xs[i] * weights.narrow(-1, static_cast<int64_t>(i), 1);
  return xs;
}

ModelOutput CompModel::forward(const data::DialogueBatch& input, const ForwardContext& ctx) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "comp");
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1), S = config_.seq_len;
  MERC_CHECK(T <= S,
             "comp: the batch has a dialogue of {} utterances but model.seq_len is {}; ComP pads every batch to "
             "this fixed length (its prototypes are a Linear over time): set model.seq_len >= {}",
             T, S, T);
  MERC_CHECK(ctx.stage == 0 || ctx.stage == 1, "comp: stage must be 0 or 1, got {}", ctx.stage);
  const bool training = is_training();
  // Losses (and everything only they read) are computed when gradients are recorded.
  const bool with_losses = torch::GradMode::is_enabled();
  Encoded e;
  e.umask = pad_to_seq_len(batch.utterance_mask, S);
  for (size_t i = 0; i < mods_.size(); ++i) {
    const int mi = data::index_of(mods_[i]);
    Branch& b = branches_[i];
    const auto x = pad_to_seq_len(masked_modality(batch, mods_[i]), S);
    e.mask.push_back(pad_to_seq_len(batch.modality_mask.select(2, mi), S) & e.umask);
    e.proj.push_back(nn::counter_dropout(b.in_proj(x), config_.dropout, training));
    e.shared.push_back(b.shared_enc(e.proj[i]));
    if (!with_losses) continue;  // private features and reconstructions only feed the losses
    e.priv.push_back(b.private_enc(e.proj[i]));
    e.rec.push_back(b.dec(torch::cat({e.shared[i], e.priv[i]}, -1)));
  }
  std::vector<torch::Tensor> out_m, out_private;
  torch::Tensor weights;
  const auto xs = ctx.stage == 0 ? stage0(e, out_m, out_private) : stage1(e, out_m, weights);
  const auto joint = torch::cat(xs, -1);
  const auto hidden = joint + nn::counter_dropout(torch::relu(proj1_(joint)), config_.dropout, training);
  const auto full = head_(hidden);  // (B, S, C)

  ModelOutput out;
  out.logits = zero_padding(full.narrow(1, 0, T), batch.utterance_mask);
  out.features["fused"] = zero_padding(hidden.narrow(1, 0, T), batch.utterance_mask);
  out.features["unimodal"] = torch::stack(out_m, 2).narrow(1, 0, T);  // (B, T, U, C)
  if (weights.defined()) out.features["coordinator_weights"] = weights.narrow(1, 0, T);  // (B, T, U)
  if (!with_losses) return out;

  // Losses at the padded length, as the reference computes them.
  const bool regression = dims_.task == data::Task::kRegression;
  const int64_t C = dims_.output_dim();
  const auto umask = e.umask.reshape({-1});
  const auto label = pad_to_seq_len(batch.label, S).reshape({-1});
  const auto raw_score = pad_to_seq_len(batch.score, S).reshape({-1});
  const auto target = regression ? umask & torch::isfinite(raw_score) : umask & (label >= 0);
  const auto score = torch::nan_to_num(raw_score, 0.0);
  auto task = [&](const torch::Tensor& o) {
    return regression ? comp::masked_mse(o.reshape({-1}), score, target) : comp::masked_ce(o.reshape({-1, C}), label, target);
  };
  torch::Tensor unimodal = torch::zeros({}, full.options());
  if (ctx.stage == 0) {
    out.task_loss_weight = 0.0;  // the fused head is not trained in stage 0
    torch::Tensor noise;
    if (regression)
      noise = (torch::randn({B * S}, full.options()) * kPrivateNoiseScale).clamp(-kPrivateNoiseClamp, kPrivateNoiseClamp);
    for (size_t i = 0; i < out_m.size(); ++i) {
      const auto priv_loss = regression ? comp::masked_mse(out_private[i].reshape({-1}), noise, umask)
                                        : comp::masked_ce(1.0 - out_private[i].reshape({-1, C}), label, target);
      unimodal = unimodal + task(out_m[i]) + priv_loss;
    }
  } else {
    for (const auto& o : out_m) unimodal = unimodal + task(o);
    if (config_.unimodal_twice) unimodal = 2.0 * unimodal;  // the reference adds loss_a + loss_t + loss_v twice
    out.aux_losses["reconstruction"] = torch::mse_loss(torch::cat(e.rec, -1), torch::cat(e.proj, -1));
  }
  out.aux_losses["unimodal"] = unimodal;
  std::vector<torch::Tensor> privates, shareds;
  for (size_t i = 0; i < mods_.size(); ++i) {
    privates.push_back(e.priv[i].reshape({B * S, -1}));
    shareds.push_back(e.shared[i].reshape({B * S, -1}));
  }
  out.aux_losses["disentangle"] = comp::disentangle_loss(privates, shareds, umask).total();

  if (ctx.stage == 1 && training && config_.modulator == "on" && mods_.size() > 1) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> deltas;
    const comp::DeltaMode mode =
        config_.modulator_delta == "probability" ? comp::DeltaMode::kProbability : comp::DeltaMode::kReleased;
    for (const auto& o : out_m)
      deltas.push_back(regression ? comp::regression_delta(o.detach().reshape({-1}), score)
                                  : comp::classification_delta(o.detach().reshape({-1, C}), label, mode));
    const auto selected = regression ? target & (score != 0) : target;
    out.features["modulator_weights"] =
        comp::position_weights(torch::stack(deltas, 1).reshape({B, S, -1}), selected.reshape({B, S}));
  }
  return out;
}

}  // namespace merc::models
