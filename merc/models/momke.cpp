#include "merc/models/momke.h"

#include <string>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>

#include "merc/core/error.h"
#include "merc/core/log.h"
#include "merc/models/masked_losses.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/dropout.h"

namespace merc::models {

namespace {

// The reference's modality order (x_joint = [x_a ; x_t ; x_v], router outputs a, t, v).
constexpr std::array<data::Modality, 3> kMomkeOrder = {data::Modality::kAudio, data::Modality::kText,
                                                       data::Modality::kVisual};

}  // namespace

void MomkeConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("hidden_dim", hidden_dim, "D_e: width of the projections and experts (--hidden)");
  v.field("depth", depth, "ExpertAttention layers per modality expert (--depth)");
  v.field("num_heads", num_heads, "attention heads per expert layer (--num_heads)");
  v.field("mlp_ratio", mlp_ratio, "expert and router Mlp hidden width = hidden_dim * mlp_ratio");
  v.field("dropout", dropout, "dropout of the projections, Mlps, routers and fusion layer (--drop_rate)");
  v.field("attn_dropout", attn_dropout, "dropout on the attention weights (--attn_drop_rate)");
  v.field("stage_epoch", stage_epoch, "epochs of stage 0 (unimodal expert training) before the mixture stage");
  v.field("load_best_experts", load_best_experts,
          "at stage 1, restore each expert from its best unimodal train-accuracy epoch (the reference "
          "means to but does not: false reproduces it)");
}

MomkeModel::MomkeModel(const MomkeConfig& config, const ModelDims& dims)
    : Model("momke"), config_(config), dims_(dims) {
  check_dims(dims, "momke");
  MERC_CHECK(config.hidden_dim > 0 && config.depth > 0 && config.num_heads > 0,
             "momke: hidden_dim, depth and num_heads must be positive, got {}, {}, {}", config.hidden_dim,
             config.depth, config.num_heads);
  MERC_CHECK(config.hidden_dim % config.num_heads == 0, "momke: hidden_dim {} must be divisible by num_heads {}",
             config.hidden_dim, config.num_heads);
  MERC_CHECK(config.dropout >= 0 && config.dropout < 1 && config.attn_dropout >= 0 && config.attn_dropout < 1,
             "momke: dropout and attn_dropout must be in [0, 1), got {} and {}", config.dropout, config.attn_dropout);
  MERC_CHECK(config.mlp_ratio > 0 && static_cast<int64_t>(config.hidden_dim * config.mlp_ratio) > 0,
             "momke: mlp_ratio must give a positive Mlp width, got {}", config.mlp_ratio);
  MERC_CHECK(config.stage_epoch >= 0, "momke: stage_epoch must be >= 0, got {}", config.stage_epoch);
  for (data::Modality m : kMomkeOrder)
    if (dims.use[data::index_of(m)]) modalities_.push_back(m);
  const int64_t d = config.hidden_dim, n = static_cast<int64_t>(modalities_.size()), c = dims.output_dim();
  const auto mlp_hidden = static_cast<int64_t>(d * config.mlp_ratio);
  const auto expert_options = nn::ExpertAttentionOptions(d)
                                  .num_heads(config.num_heads)
                                  .mlp_ratio(config.mlp_ratio)
                                  .drop(config.dropout)
                                  .attn_drop(config.attn_dropout);
  for (data::Modality m : modalities_) {
    const std::string name = data::modality_name(m);
    in_proj_.push_back(register_module("in_proj_" + name, torch::nn::Linear(dims.input_dims[data::index_of(m)], d)));
    experts_.push_back(register_module("expert_" + name, nn::ExpertStack(expert_options, config.depth)));
    unimodal_heads_.push_back(register_module("head_" + name, torch::nn::Linear(d, c)));
    routers_.push_back(register_module(
        "router_" + name,
        nn::GeluMlp(nn::GeluMlpOptions(d, mlp_hidden, n).dropout(config.dropout))));
  }
  fusion_ = register_module("fusion", torch::nn::Linear(n * d, n * d));
  head_ = register_module("head", torch::nn::Linear(n * d, c));
  set_stage(0);
  tracking_.best_acc.assign(modalities_.size(), -1.0);
  tracking_.best_state.resize(modalities_.size());
}

ModelOutput MomkeModel::forward(const data::DialogueBatch& input, const ForwardContext& ctx) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "momke");
  const bool unimodal_stage = ctx.stage == 0;
  const size_t n = modalities_.size();
  ModelOutput out;
  // 1. Projections p_m and availability masks k_m (modality present and real utterance).
  std::vector<torch::Tensor> proj, avail;
  for (size_t i = 0; i < n; ++i) {
    const int mi = data::index_of(modalities_[i]);
    proj.push_back(nn::counter_dropout(in_proj_[i](masked_modality(batch, modalities_[i])), config_.dropout, is_training()));
    avail.push_back(batch.modality_mask.select(2, mi).logical_and(batch.utterance_mask));
  }
  // 2. Experts: stage 0 each modality through its own expert + unimodal heads; stage 1 every
  //    modality through every expert, mixed by its router.
  std::vector<torch::Tensor> y(n), router_weights;
  if (unimodal_stage) {
    out.task_loss_weight = 0.0;
    std::vector<torch::Tensor> unimodal;
    for (size_t i = 0; i < n; ++i) {
      y[i] = experts_[i](proj[i], avail[i]);
      unimodal.push_back(unimodal_heads_[i](y[i]));
      const std::string name = data::modality_name(modalities_[i]);
      out.aux_losses["unimodal_" + name] = masked_task_loss(unimodal.back(), batch, dims_.task);
      out.features["unimodal_" + name] = zero_padding(unimodal.back(), batch.utterance_mask);
    }
    if (config_.load_best_experts && is_training()) track_unimodal_accuracy(batch, ctx, unimodal);
  } else {
    for (size_t i = 0; i < n; ++i) {
      const torch::Tensor w = torch::softmax(routers_[i]->forward(proj[i]), -1);  // (B, T, M)
      std::vector<torch::Tensor> by_expert;
      for (size_t e = 0; e < n; ++e) by_expert.push_back(experts_[e](proj[i], avail[i]));
      y[i] = (torch::stack(by_expert, 2) * w.unsqueeze(-1)).sum(2);  // (B, T, D_e)
      router_weights.push_back(w);
    }
    out.features["router_weights"] = zero_padding(torch::stack(router_weights, 2), batch.utterance_mask);
  }
  // 3. Missing positions zeroed, concatenation, residual fusion layer, output head.
  for (size_t i = 0; i < n; ++i) y[i] = y[i].masked_fill(avail[i].logical_not().unsqueeze(-1), 0.0);
  const torch::Tensor z = torch::cat(y, 2);
  const torch::Tensor h = z + nn::counter_dropout(torch::relu(fusion_(z)), config_.dropout, is_training());
  out.logits = zero_padding(head_(h), batch.utterance_mask);
  out.features["joint"] = z;
  out.features["fused"] = zero_padding(h, batch.utterance_mask);
  return out;
}

int MomkeModel::stage_for_epoch(int64_t epoch, int64_t) const { return epoch < config_.stage_epoch ? 0 : 1; }

std::vector<torch::Tensor> MomkeModel::trainable(int stage) {
  std::vector<torch::Tensor> out;
  auto add = [&](const torch::nn::Module& m) {
    for (const auto& p : m.parameters()) out.push_back(p);
  };
  for (size_t i = 0; i < modalities_.size(); ++i) {
    add(*in_proj_[i]);
    add(*experts_[i]);
    if (stage == 0) add(*unimodal_heads_[i]);
    if (stage != 0) add(*routers_[i]);
  }
  if (stage != 0) {
    add(*fusion_);
    add(*head_);
  }
  return out;
}

void MomkeModel::set_stage(int stage) {
  MERC_CHECK(stage == 0 || stage == 1, "momke: stage must be 0 or 1, got {}", stage);
  if (stage_ == 0 && stage == 1) finish_tracked_epoch();
  const bool transfer = stage_ == 0 && stage == 1 && config_.load_best_experts;
  stage_ = stage;
  for (auto& p : parameters()) p.requires_grad_(false);
  for (auto& p : trainable(stage)) p.requires_grad_(true);
  if (!transfer) return;
  // The intended (not the reference's) stage transfer: each expert from its best stage-0 epoch.
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < modalities_.size(); ++i) {
    auto& saved = tracking_.best_state[i];
    if (saved.empty()) continue;
    const auto params = experts_[i]->parameters();
    for (size_t k = 0; k < params.size(); ++k) params[k].copy_(saved[k]);
    spdlog::info("momke: expert {} restored from stage-0 epoch with unimodal train accuracy {:.4f}",
                  data::modality_name(modalities_[i]), tracking_.best_acc[i]);
    saved.clear();
  }
}

std::vector<ParamGroup> MomkeModel::parameter_groups(int stage) {
  return {ParamGroup{stage == 0 ? "unimodal_experts" : "mixture", trainable(stage), 1.0}};
}

void MomkeModel::track_unimodal_accuracy(const data::DialogueBatch& batch, const ForwardContext& ctx,
                                         const std::vector<torch::Tensor>& outputs) {
  torch::NoGradGuard no_grad;
  // The first training forward of a new epoch comes before its first step: the parameters are
  // still those at the end of the previous epoch.
  if (ctx.epoch != tracking_.epoch) {
    finish_tracked_epoch();
    tracking_.epoch = ctx.epoch;
  }
  const size_t n = modalities_.size();
  tracking_.correct.resize(n, 0.0);
  tracking_.total.resize(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    torch::Tensor hit, keep;
    if (dims_.task == data::Task::kRegression) {
      // The reference's CMU train accuracy: Acc-2 of (y > 0) vs (y_hat > 0) on non-zero labels.
      const torch::Tensor score = batch.score;
      keep = batch.utterance_mask & ~torch::isnan(score) & (score != 0);
      hit = (outputs[i].squeeze(-1) > 0) == (score > 0);
    } else {
      keep = batch.utterance_mask & (batch.label >= 0);
      hit = outputs[i].argmax(-1) == batch.label;
    }
    tracking_.correct[i] += (hit & keep).sum().item<double>();
    tracking_.total[i] += keep.sum().item<double>();
  }
}

void MomkeModel::finish_tracked_epoch() {
  if (tracking_.epoch < 0) return;
  for (size_t i = 0; i < tracking_.correct.size(); ++i) {
    const double acc = tracking_.total[i] > 0 ? tracking_.correct[i] / tracking_.total[i] : 0.0;
    if (acc > tracking_.best_acc[i]) {  // strict: the first best epoch, as torch.argmax
      tracking_.best_acc[i] = acc;
      tracking_.best_state[i].clear();
      for (const auto& p : experts_[i]->parameters()) tracking_.best_state[i].push_back(p.detach().clone());
    }
  }
  tracking_.correct.assign(tracking_.correct.size(), 0.0);
  tracking_.total.assign(tracking_.total.size(), 0.0);
  tracking_.epoch = -1;
}

}  // namespace merc::models
