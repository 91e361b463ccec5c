// MoED (edm-anonymous/MoED model.py, model_graph.py, gcn.py) state_dict names -> merc's moed.
// Keys of the published IEMOCAP / MELD commands (method_reference.md §4):
//   encoder keys            m3net_encoder_names.h
//   linear_u                -> linear_u
//   graph_model.speaker_embeddings -> speaker_embedding (always computed, added per use_speaker)
//   graph_model.fc1 / fc2   -> fc1 (EIGNN input) / fc2 (ECGNN input)
//   graph_model.conv{k}.gate -> ecg_conv{k}.gate (MultiConv, ECGNN layer k)
//   smax_fc                 -> smax_fc
// Created by the reference and never read by its forward (ignored): graph_model.directconv{l}.gate
// (directConv builds a gate it never calls), graph_model.modal_embeddings (use_modal off),
// hidfc (built for every multimodal run, unused), and the norm / linear_l modules the encoder
// table lists.

#include <string>

#include "merc/core/error.h"
#include "merc/models/moed.h"
#include "merc/models/upstream/m3net_encoder_names.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

NameTable moed_name_table(const ModelConfig& config, const ModelDims& dims) {
  const auto* c = dynamic_cast<const MoedConfig*>(&config);
  MERC_CHECK(c != nullptr, "the moed upstream name table needs a moed config, got model '{}'", config.name);
  NameTable t;
  t.model = "moed";
  t.upstream = "edm-anonymous/MoED@d35f7a4";
  add_m3net_encoder_names(t, c->encoder, dims, "moed");
  t.linear("linear_u", "linear_u");
  t.copy("graph_model.speaker_embeddings.weight", "speaker_embedding.weight");
  t.linear("graph_model.fc1", "fc1");
  t.linear("graph_model.fc2", "fc2");
  for (int64_t k = 1; k <= c->num_K; ++k)
    t.linear("graph_model.conv" + std::to_string(k) + ".gate", "ecg_conv" + std::to_string(k) + ".gate");
  for (int64_t l = 1; l <= c->num_L; ++l)
    t.ignore_prefix("graph_model.directconv" + std::to_string(l) + ".",
                    "directConv creates a gate Linear that its forward never calls (EIGNN has no weights)");
  t.ignore("graph_model.modal_embeddings.weight", "modality embeddings are used only with --use_modal (off)");
  t.ignore_prefix("hidfc.", "created for every multimodal run, never used by the forward");
  t.linear("smax_fc", "smax_fc");
  return t;
}

}  // namespace merc::models::upstream
