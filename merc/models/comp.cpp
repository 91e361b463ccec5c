#include "merc/models/comp.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/models/comp_losses.h"
#include "merc/models/comp_modulator.h"
#include "merc/models/model_inputs.h"

namespace merc::models {

namespace {
constexpr data::Modality kReferenceOrder[] = {data::Modality::kAudio, data::Modality::kText, data::Modality::kVisual};

char comp_letter(data::Modality m) { return m == data::Modality::kAudio ? 'a' : m == data::Modality::kText ? 't' : 'v'; }
}  // namespace

void CompConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("hidden_dim", hidden_dim, "H: width of every modality branch (--hidden)");
  v.field("depth", depth, "expert attention layers in total; block1 and block2 get depth/2 each (--depth)");
  v.field("num_heads", num_heads, "attention heads of the expert layers (--num_heads)");
  v.field("mlp_ratio", mlp_ratio, "hidden width of the expert layers' Mlp and the coordinator, times H");
  v.field("dropout", dropout, "dropout of projections, Mlps, experts, coordinator and fusion head (--drop_rate)");
  v.field("attn_dropout", attn_dropout, "dropout on the expert attention weights (--attn_drop_rate)");
  v.field("prompt_dim", prompt_dim, "P: prompt width (hard-coded 16 in the reference)");
  v.field("num_prototypes", num_prototypes, "K: prototypes per dialogue (hard-coded 10 in the reference)");
  v.field("seq_len", seq_len, "fixed padded dialogue length: prototypes are a Linear over time (MOSI 65, else 150)");
  v.field("lbd", lbd, "lambda: weight of the propagated prompt against the round-2 prompt (--lbd)");
  v.field("stage_epoch", stage_epoch, "epochs of stage 0 (unimodal + disentangling) before prompting (--stage_epoch)");
  v.field("private_branch", private_branch,
          "released: the private branch feeds private_a to every modality (reference quirk); own: private_m");
  v.field("modulator", modulator,
          "gradient modulator: on (works), released (never fires, as the public code), off (ablation)");
  v.field("prompt_row_mask", prompt_row_mask,
          "add the reference's row-constant -1e4 'mask' term to the prompt similarities (no masking, float rounding)");
  v.field("unimodal_twice", unimodal_twice,
          "count the stage-1 unimodal losses twice, as the reference's loss sum does (false: once, as the paper writes it)");
  v.field("coordinator_zero_missing", coordinator_zero_missing,
          "zero a modality's missing positions before the stage-1 coordinator (the reference does not; stage 0 does)");
  v.field("modulator_delta", modulator_delta,
          "classification error of the modulator: released (|logit of the true class - class index|, the reference) "
          "| probability (1 - softmax probability of the true class)");
}

CompModel::CompModel(const CompConfig& config, const ModelDims& dims) : Model("comp"), config_(config), dims_(dims) {
  check_dims(dims, "comp");
  const auto& c = config;
  MERC_CHECK(c.hidden_dim > 0 && c.num_heads > 0 && c.hidden_dim % c.num_heads == 0,
             "comp: hidden_dim must be positive and divisible by num_heads, got {} and {}", c.hidden_dim, c.num_heads);
  MERC_CHECK(c.depth >= 2, "comp: depth must be >= 2 (block1 and block2 get depth/2 layers each), got {}", c.depth);
  MERC_CHECK(c.mlp_ratio > 0 && static_cast<int64_t>(c.hidden_dim * c.mlp_ratio) > 0,
             "comp: mlp_ratio must give a positive width, got {}", c.mlp_ratio);
  MERC_CHECK(c.dropout >= 0 && c.dropout < 1, "comp: dropout must be in [0, 1), got {}", c.dropout);
  MERC_CHECK(c.attn_dropout >= 0 && c.attn_dropout < 1, "comp: attn_dropout must be in [0, 1), got {}", c.attn_dropout);
  MERC_CHECK(c.prompt_dim > 0 && c.num_prototypes > 0 && c.seq_len > 0,
             "comp: prompt_dim, num_prototypes and seq_len must be positive, got {}, {}, {}", c.prompt_dim,
             c.num_prototypes, c.seq_len);
  MERC_CHECK(c.lbd >= 0 && c.lbd <= 1, "comp: lbd must be in [0, 1], got {}", c.lbd);
  MERC_CHECK(c.stage_epoch >= 0, "comp: stage_epoch must be >= 0, got {}", c.stage_epoch);
  MERC_CHECK(c.private_branch == "released" || c.private_branch == "own",
             "comp: private_branch must be released or own, got '{}'", c.private_branch);
  MERC_CHECK(c.modulator == "on" || c.modulator == "released" || c.modulator == "off",
             "comp: modulator must be on, released or off, got '{}'", c.modulator);
  MERC_CHECK(c.modulator_delta == "released" || c.modulator_delta == "probability",
             "comp: modulator_delta must be released or probability, got '{}'", c.modulator_delta);

  for (data::Modality m : kReferenceOrder)
    if (dims.use[data::index_of(m)]) mods_.push_back(m);
  const int64_t U = static_cast<int64_t>(mods_.size()), H = c.hidden_dim, P = c.prompt_dim;
  const int64_t C = dims.output_dim();
  const int64_t carried = H + (U - 1) * P;  // shared features plus the prompts of the other modalities
  const auto expert = nn::ExpertAttentionOptions(H).num_heads(c.num_heads).mlp_ratio(c.mlp_ratio).drop(c.dropout)
                          .attn_drop(c.attn_dropout);
  const auto mlp = [&](int64_t in, int64_t out) { return nn::GeluMlp(nn::GeluMlpOptions(in, H, out).dropout(c.dropout)); };
  const auto former = [&](bool round1) {
    return nn::PromptFormer(nn::PromptFormerOptions(c.seq_len, H)
                                .num_prototypes(c.num_prototypes)
                                .prompt_dim(P)
                                .dropout(c.dropout)
                                .make_prototypes(round1)
                                .row_mask_term(c.prompt_row_mask));
  };
  for (data::Modality m : mods_) {
    const std::string s(1, comp_letter(m));
    Branch b;
    b.in_proj = register_module(s + "_in_proj", torch::nn::Linear(dims.input_dims[data::index_of(m)], H));
    b.shared_enc = register_module("shared_enc_" + s, mlp(H, H));
    b.private_enc = register_module("private_enc_" + s, mlp(H, H));
    b.dec = register_module("dec_" + s, mlp(2 * H, H));
    b.block1 = register_module("block1_" + s, nn::ExpertStack(expert, c.depth / 2));
    b.block2 = register_module("block2_" + s, nn::ExpertStack(expert, c.depth / 2));
    b.head = register_module("nlp_head_" + s, torch::nn::Linear(H, C));
    if (U > 1) {  // with one modality no prompt is exchanged: the formers would be unused
      b.former1 = register_module("prop_former_" + s + "_1", former(true));
      b.former2 = register_module("prop_former_" + s + "_2", former(false));
    }
    b.prop1 = register_module("prop_proj_" + s + "_1", torch::nn::Linear(carried, H));
    b.prop2 = register_module("prop_proj_" + s + "_2", torch::nn::Linear(carried, H));
    b.rev = register_module("prop_proj_rev_" + s + "_1", mlp(H, carried));
    branches_.push_back(b);
  }
  router_ = register_module(
      "router", nn::GeluMlp(nn::GeluMlpOptions(U * H, static_cast<int64_t>(H * c.mlp_ratio), U).dropout(c.dropout)));
  proj1_ = register_module("proj1", torch::nn::Linear(U * H, U * H));
  head_ = register_module("nlp_head", torch::nn::Linear(U * H, C));
  set_stage(0);
}

int CompModel::stage_for_epoch(int64_t epoch, int64_t) const { return epoch < config_.stage_epoch ? 0 : 1; }

std::vector<torch::Tensor> CompModel::stage_only_parameters() const {
  // Trained in stage 1 only: the decoders (reconstruction loss), prompting, propagation,
  // coordinator and the fusion head (computed but not trained in stage 0).
  std::vector<torch::Tensor> out;
  auto add = [&](const torch::nn::Module& m) {
    for (const auto& p : m.parameters()) out.push_back(p);
  };
  for (const Branch& b : branches_) {
    add(*b.dec);
    if (b.former1) add(*b.former1);
    if (b.former2) add(*b.former2);
    add(*b.prop1);
    add(*b.prop2);
    add(*b.rev);
  }
  add(*router_);
  add(*proj1_);
  add(*head_);
  return out;
}

void CompModel::set_stage(int stage) {
  MERC_CHECK(stage == 0 || stage == 1, "comp: stage must be 0 or 1, got {}", stage);
  for (auto& p : parameters()) p.set_requires_grad(true);
  if (stage == 0)
    for (auto& p : stage_only_parameters()) p.set_requires_grad(false);
}

std::vector<ParamGroup> CompModel::parameter_groups(int stage) {
  ParamGroup g;
  g.name = stage == 0 ? "stage0" : "all";
  std::vector<torch::Tensor> frozen = stage == 0 ? stage_only_parameters() : std::vector<torch::Tensor>{};
  for (const auto& p : parameters()) {
    bool skip = false;
    for (const auto& f : frozen) skip = skip || f.is_same(p);
    if (!skip) g.params.push_back(p);
  }
  return {g};
}

torch::Tensor CompModel::modulated_weight(size_t i) const { return branches_.at(i).former1->proj_n->fc1->weight; }

void CompModel::after_backward(const ForwardContext& ctx, const ModelOutput& out) {
  if (ctx.stage != 1 || config_.modulator != "on" || branches_.size() < 2) return;
  const auto it = out.features.find("modulator_weights");
  if (it == out.features.end()) return;  // not a stage-1 training forward
  const torch::Tensor& w = it->second;  // (U, S)
  for (size_t i = 0; i < branches_.size(); ++i) {
    torch::Tensor weight = modulated_weight(i);
    torch::Tensor grad = weight.mutable_grad();
    if (!grad.defined()) continue;
    comp::scale_gradient_columns(grad, w[static_cast<int64_t>(i)].to(grad.scalar_type()));
  }
}

}  // namespace merc::models
