// ComP (WenjueHE/2026-AAAI-ComP@28192d3, ComP/model.py, ComP/modules/Attention.py) state_dict keys
// -> merc's comp parameters. The reference always builds the three modalities a, t, v; its per-layer
// experts live in shared blocks (block{1,2}.blocks.<i>.Transformer_<m>), merc's in per-modality
// stacks (block{1,2}_<m>.layers.<i>). Every tensor is a plain copy (torch.nn.Linear and
// torch::nn::Linear store (out, in)); the table only renames.

#include <fmt/format.h>

#include "merc/core/error.h"
#include "merc/models/comp.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

NameTable comp_name_table(const ModelConfig& base, const ModelDims& dims) {
  const auto* config = dynamic_cast<const CompConfig*>(&base);
  MERC_CHECK(config != nullptr, "comp name table: expected the comp model's config, got model '{}'", base.name);
  MERC_CHECK(dims.use[data::index_of(data::Modality::kAudio)] && dims.use[data::index_of(data::Modality::kText)] &&
                 dims.use[data::index_of(data::Modality::kVisual)],
             "comp name table: the upstream ComP always has audio, text and visual (its propagation Linears take "
             "H + 2 * prompt_dim inputs); build the merc model with all three modalities to import its checkpoint");
  NameTable t;
  t.model = "comp";
  t.upstream = "WenjueHE/2026-AAAI-ComP@28192d3";
  const int64_t half = config->depth / 2;  // int(depth/2) layers in each of block1 and block2
  for (const char* m : {"a", "t", "v"}) {
    const std::string s(m);
    t.linear(s + "_in_proj.0", s + "_in_proj");  // nn.Sequential(nn.Linear(...)) -> a plain Linear
    for (const char* mlp : {"shared_enc_", "private_enc_", "dec_"}) {
      t.linear(mlp + s + ".fc1", mlp + s + ".fc1");
      t.linear(mlp + s + ".fc2", mlp + s + ".fc2");
    }
    for (const char* block : {"block1", "block2"})
      for (int64_t i = 0; i < half; ++i) {
        const std::string up = fmt::format("{}.blocks.{}.Transformer_{}", block, i, s);
        const std::string me = fmt::format("{}_{}.layers.{}", block, s, i);
        for (const char* lin : {"q", "k", "v"}) t.linear(up + "." + lin, me + "." + lin);
        t.linear(up + ".mlp.fc1", me + ".fc1");
        t.linear(up + ".mlp.fc2", me + ".fc2");
      }
    t.linear("nlp_head_" + s, "nlp_head_" + s);
    t.linear("prop_proj_" + s + "_1", "prop_proj_" + s + "_1");
    t.linear("prop_proj_" + s + "_2", "prop_proj_" + s + "_2");
    t.linear("prop_proj_rev_" + s + "_1.fc1", "prop_proj_rev_" + s + "_1.fc1");
    t.linear("prop_proj_rev_" + s + "_1.fc2", "prop_proj_rev_" + s + "_1.fc2");
    t.ignore_prefix("prop_proj_rev_" + s + "_2.",
                    "built by ComP.__init__ but never called in ComP.forward (only prop_proj_rev_*_1 is)");
    for (const char* round : {"_1", "_2"}) {
      const std::string f = "prop_former_" + s + round;
      t.linear(f + ".proj_d.fc1", f + ".proj_d.fc1");
      t.linear(f + ".proj_d.fc2", f + ".proj_d.fc2");
      t.linear(f + ".proj_prompt", f + ".proj_prompt");
    }
    t.linear("prop_former_" + s + "_1.proj_n.fc1", "prop_former_" + s + "_1.proj_n.fc1");
    t.linear("prop_former_" + s + "_1.proj_n.fc2", "prop_former_" + s + "_1.proj_n.fc2");
    t.ignore_prefix("prop_former_" + s + "_2.proj_n.",
                    "PromptFormer_2 builds a prototype Mlp that its forward never calls (round 2 re-uses the "
                    "round-1 prototypes)");
  }
  t.linear("router.fc1", "router.fc1");
  t.linear("router.fc2", "router.fc2");
  t.linear("proj1", "proj1");
  t.linear("nlp_head", "nlp_head");
  return t;
}

}  // namespace merc::models::upstream
