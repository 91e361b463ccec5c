// RoHyDR (Siowllience/RoHyDR@d305062, trains/mainNets/model/rohydr.py with ditmodel.py, DiT/models.py,
// rcan.py and subNets_adv/transformers_encoder/transformer.py; the current DiT version) state_dict
// keys -> merc's rohydr parameters. tests/fixtures/rohydr/upstream_keys.txt lists the keys the
// authors' ROHYDR(MOSI config, use_bert=False) has (tests/fixtures/make_rohydr_keys.py).
//
// Upstream modality letters l / a / v are merc's text / audio / visual. merc's cross_<m>_<j> reads
// the j-th OTHER used modality in the order text, audio, visual, which is upstream's trans_<m>_with_<n>
// order too. Every tensor is a plain copy (same layouts: Conv1d, Linear (out, in), in_proj of the
// fairseq attention, RCAN indices) except cat_va, whose input halves are swapped: merc feeds cond_text
// [p_audio ‖ p_visual], the release feeds cat_va [proj_x_v, proj_x_a].

#include <algorithm>

#include <fmt/format.h>

#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/models/rohydr.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {
namespace rohydr_names_detail {

// DiTDiffusionModule() and the RCAN Group as ROHYDR.__init__ builds them: constants of the release,
// not read from its config, so every release checkpoint has them.
constexpr int64_t kDitChannels = 32, kDitSteps = 48, kDitHidden = 64, kDitDepth = 6, kDitHeads = 16;
constexpr int64_t kRecBlocks = 20, kRecReduction = 16;

// (out, 2 d, k) -> the two d-wide input halves swapped; its own inverse.
TensorList swap_input_halves(const TensorList& in) {
  const torch::Tensor& w = in.at(0);
  MERC_CHECK(w.dim() == 3 && w.size(1) % 2 == 0, "expected a Conv1d weight (out, 2 d, k) with an even input width");
  const int64_t d = w.size(1) / 2;
  return {torch::cat({w.narrow(1, d, d), w.narrow(1, 0, d)}, 1)};
}

// subNets_adv TransformerEncoder (fairseq layout) -> merc CrossModalTransformer: same names.
void transformer(NameTable& t, const std::string& up, const std::string& me, int64_t layers) {
  for (int64_t i = 0; i < layers; ++i) {
    const std::string u = fmt::format("{}.layers.{}.", up, i), m = fmt::format("{}.layers.{}.", me, i);
    t.copy(u + "self_attn.in_proj_weight", m + "self_attn.in_proj_weight");
    t.copy(u + "self_attn.in_proj_bias", m + "self_attn.in_proj_bias");
    t.linear(u + "self_attn.out_proj", m + "self_attn.out_proj");
    t.linear(u + "fc1", m + "fc1");
    t.linear(u + "fc2", m + "fc2");
    t.layer_norm(u + "layer_norms.0", m + "layer_norms.0");
    t.layer_norm(u + "layer_norms.1", m + "layer_norms.1");
  }
  t.layer_norm(up + ".layer_norm", me + ".layer_norm");
  t.ignore(up + ".version", "fairseq's constant version marker (2); no parameter");
  t.ignore_prefix(up + ".embed_positions.",
                  "the sinusoidal position table's type marker (_float_tensor); ROHYDR builds no position embedding");
}

// score_<m>.dit (DiT subclass LinearEmbedDiT: x_embedder, y_embedder, pos_embed replaced by its own,
// unpatchify added) -> merc DitDenoiser.
void dit(NameTable& t, const std::string& up, const std::string& me, int64_t depth) {
  t.linear(up + ".x_embedder.0", me + ".x_embedder");  // nn.Sequential(nn.Linear)
  t.linear(up + ".y_embedder", me + ".y_embedder");
  t.copy(up + ".pos_embed", me + ".pos_embed");
  t.linear(up + ".t_embedder.mlp.0", me + ".t_embedder.fc1");  // mlp = Linear, SiLU, Linear
  t.linear(up + ".t_embedder.mlp.2", me + ".t_embedder.fc2");
  for (int64_t i = 0; i < depth; ++i) {
    const std::string u = fmt::format("{}.blocks.{}.", up, i), m = fmt::format("{}.blocks.{}.", me, i);
    t.linear(u + "attn.qkv", m + "attn.qkv");
    t.linear(u + "attn.proj", m + "attn.proj");
    t.linear(u + "mlp.fc1", m + "fc1");
    t.linear(u + "mlp.fc2", m + "fc2");
    t.linear(u + "adaLN_modulation.1", m + "ada_ln");  // adaLN_modulation = SiLU, Linear
  }
  t.linear(up + ".final_layer.linear", me + ".final_layer.linear");
  t.linear(up + ".final_layer.adaLN_modulation.1", me + ".final_layer.ada_ln");
  t.linear(up + ".unpatchify.0", me + ".unpatchify");  // nn.Sequential(nn.Linear)
}

// rec_<m> = nn.Sequential(Conv1d, Group(RCAB x blocks, Conv1d), Conv1d) -> merc UnimodalReconstructor
// (registered under the same indices, RCAB body Conv, ReLU, Conv, CALayer(conv_du Conv, ReLU, Conv)).
void reconstructor(NameTable& t, const std::string& up, const std::string& me, int64_t blocks) {
  t.linear(up + ".0", me + ".0");
  for (int64_t b = 0; b < blocks; ++b)
    for (const char* conv : {"body.0", "body.2", "body.3.conv_du.0", "body.3.conv_du.2"})
      t.linear(fmt::format("{}.1.body.{}.{}", up, b, conv), fmt::format("{}.1.body.{}.{}", me, b, conv));
  t.linear(fmt::format("{}.1.body.{}", up, blocks), fmt::format("{}.1.body.{}", me, blocks));
  t.linear(up + ".2", me + ".2");
}

void check_release_shapes(const RohydrConfig& c) {
  const int64_t kernel = c.proj_kernel == 0 ? (c.sequences ? 3 : 1) : c.proj_kernel;
  const int64_t steps = (c.sequences ? c.seq_len : 1) - kernel + 1;
  MERC_CHECK(steps == kDitSteps,
             "rohydr name table: the release's generators are DiTs over {} steps (MMSA's 50-step sequences through "
             "its kernel-3 projections); this merc model has {} (model.sequences {}, seq_len {}, proj_kernel {}): "
             "set data.sequences: true and model.sequences: true (seq_len 50, proj_kernel 3) to import its checkpoint",
             kDitSteps, steps, c.sequences, c.seq_len, kernel);
  MERC_CHECK(c.generator == "dit" && c.d_model == kDitChannels && c.dit_hidden == kDitHidden &&
                 c.dit_depth == kDitDepth && c.dit_heads == kDitHeads && c.rec_blocks == kRecBlocks &&
                 c.rec_reduction == kRecReduction,
             "rohydr name table: the release hard-codes DiTDiffusionModule(in_channels {}, hidden {}, depth {}, heads "
             "{}) and RCAN Group({} blocks, reduction {}); this merc model has generator {}, d_model {}, dit_hidden {}, "
             "dit_depth {}, dit_heads {}, rec_blocks {}, rec_reduction {}",
             kDitChannels, kDitHidden, kDitDepth, kDitHeads, kRecBlocks, kRecReduction, c.generator, c.d_model,
             c.dit_hidden, c.dit_depth, c.dit_heads, c.rec_blocks, c.rec_reduction);
}

}  // namespace rohydr_names_detail

NameTable rohydr_name_table(const ModelConfig& base, const ModelDims& dims) {
  using namespace rohydr_names_detail;
  const auto* config = dynamic_cast<const RohydrConfig*>(&base);
  MERC_CHECK(config != nullptr, "rohydr name table: expected the rohydr model's config, got model '{}'", base.name);
  MERC_CHECK(dims.use[data::index_of(data::Modality::kText)] && dims.use[data::index_of(data::Modality::kAudio)] &&
                 dims.use[data::index_of(data::Modality::kVisual)],
             "rohydr name table: the upstream ROHYDR always has text, audio and visual (six cross-modal encoders, "
             "2 d-wide memories, a 6 d fusion); build the merc model with all three modalities to import its "
             "checkpoint");
  check_release_shapes(*config);
  NameTable t;
  t.model = "rohydr";
  t.upstream = "Siowllience/RoHyDR@d305062";
  struct Mod {
    const char* up;  // upstream letter
    const char* me;  // merc modality name
    const char* others[2];  // upstream letters of the other two, in merc's order (text, audio, visual)
  };
  const Mod mods[] = {{"l", "text", {"a", "v"}}, {"a", "audio", {"l", "v"}}, {"v", "visual", {"l", "a"}}};
  const int64_t mem_layers = std::max<int64_t>(config->layers, 3);  // get_network(layers=3): max(nlevels, 3)
  for (const Mod& m : mods) {
    const std::string up(m.up), me(m.me);
    t.linear("proj_" + up, "proj_" + me, /*bias=*/false);
    for (int j = 0; j < 2; ++j)
      transformer(t, fmt::format("trans_{}_with_{}", up, m.others[j]), fmt::format("cross_{}_{}", me, j), config->layers);
    transformer(t, "trans_" + up + "_mem", "mem_" + me, mem_layers);
    dit(t, "score_" + up + ".dit", "dit_" + me, kDitDepth);
    reconstructor(t, "rec_" + up, "rec_" + me, kRecBlocks);
  }
  // The conditions of two available modalities: cond_m reads [p_x ‖ p_y], x before y in merc's order.
  t.rules.push_back(NameRule{{"cat_va.weight"}, {"cond_text.weight"}, swap_input_halves, swap_input_halves,
                             "cat_va reads [proj_x_v, proj_x_a], merc's cond_text [p_audio ‖ p_visual]: input "
                             "halves swapped"});
  t.copy("cat_va.bias", "cond_text.bias");
  t.linear("cat_lv", "cond_audio");   // [l, v] = [text ‖ visual]
  t.linear("cat_la", "cond_visual");  // [l, a] = [text ‖ audio]
  t.linear("proj1", "proj1");
  t.linear("proj2", "proj2");
  t.linear("out_layer", "out");
  // RECONSTRUCTION: Linear, Dropout, LeakyReLU, Linear, Dropout, BatchNorm1d, LeakyReLU, Linear, Tanh.
  t.linear("reconstruction.Model.model.0", "fusion_rec.0");
  t.linear("reconstruction.Model.model.3", "fusion_rec.3");
  t.batch_norm("reconstruction.Model.model.5", "fusion_rec.5");
  t.linear("reconstruction.Model.model.7", "fusion_rec.7");
  // DISCRIMINATOR: BatchNorm1d, Linear, LeakyReLU, Linear, Tanh, Linear, Sigmoid.
  t.batch_norm("discriminator.Model.model.0", "disc.0");
  t.linear("discriminator.Model.model.1", "disc.1");
  t.linear("discriminator.Model.model.3", "disc.3");
  t.linear("discriminator.Model.model.5", "disc.5");
  t.ignore_prefix("text_model.",
                  "the BERT text encoder (use_bert): merc reads text features from the data instead of running BERT");
  return t;
}

}  // namespace merc::models::upstream
