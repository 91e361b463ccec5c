// MoMKE (wxxv/MoMKE@2dceb57, MoMKE/model_expert_softmoe.py, MoMKE/modules/Attention_softmoe.py)
// state_dict keys -> merc's momke parameters. The reference always builds the three modalities a, t,
// v; its experts live in one shared block (block.blocks.<i>.Transformer_<m>), merc's in one stack per
// modality (expert_<modality>.layers.<i>). Every tensor is a plain copy (torch.nn.Linear and
// torch::nn::Linear store (out, in)); the table only renames.

#include <fmt/format.h>

#include "merc/core/error.h"
#include "merc/models/momke.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

NameTable momke_name_table(const ModelConfig& base, const ModelDims& dims) {
  const auto* config = dynamic_cast<const MomkeConfig*>(&base);
  MERC_CHECK(config != nullptr, "momke name table: expected the momke model's config, got model '{}'", base.name);
  MERC_CHECK(dims.use[data::index_of(data::Modality::kAudio)] && dims.use[data::index_of(data::Modality::kText)] &&
                 dims.use[data::index_of(data::Modality::kVisual)],
             "momke name table: the upstream MoMKE always has audio, text and visual (three experts, routers over "
             "3, a 3 * hidden fusion layer); build the merc model with all three modalities to import its checkpoint");
  NameTable t;
  t.model = "momke";
  t.upstream = "wxxv/MoMKE@2dceb57";
  const std::pair<const char*, data::Modality> mods[] = {
      {"a", data::Modality::kAudio}, {"t", data::Modality::kText}, {"v", data::Modality::kVisual}};
  for (const auto& [s, m] : mods) {
    const std::string name = data::modality_name(m);
    t.linear(fmt::format("{}_in_proj.0", s), "in_proj_" + name);  // nn.Sequential(nn.Linear(...))
    for (int64_t i = 0; i < config->depth; ++i) {
      const std::string up = fmt::format("block.blocks.{}.Transformer_{}", i, s);
      const std::string me = fmt::format("expert_{}.layers.{}", name, i);
      for (const char* lin : {"q", "k", "v"}) t.linear(up + "." + lin, me + "." + lin);
      t.linear(up + ".mlp.fc1", me + ".fc1");
      t.linear(up + ".mlp.fc2", me + ".fc2");
    }
    t.linear(fmt::format("nlp_head_{}", s), "head_" + name);
    t.linear(fmt::format("router_{}.fc1", s), "router_" + name + ".fc1");
    t.linear(fmt::format("router_{}.fc2", s), "router_" + name + ".fc2");
  }
  t.linear("proj1", "fusion");
  t.linear("nlp_head", "head");
  return t;
}

}  // namespace merc::models::upstream
