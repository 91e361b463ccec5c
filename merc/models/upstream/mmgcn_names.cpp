// hujingwen6666/MMGCN (model.py DialogueGCNModel with --graph_type MMGCN --multi_modal
// --mm_fusion_mthd concat_subsequently, model_mm.py MM_GCN, model_GCN.py GCNII_lyc) state_dict
// names -> merc mmgcn.
//
//   linear_a / linear_v / linear_l            proj_audio / proj_visual / text_proj
//   lstm_l.*                                  text_lstm.* (packed_rnn: false, the reference's
//                                             unpacked LSTM) or text_encoder.lstm.* (true)
//   graph_model.speaker_embeddings.weight     speaker.weight (--use_speaker, text used)
//   graph_model.graph_net.fcs.0.*             graph_input.*
//   graph_model.graph_net.convs.<l>.weight    gcnii<l>.weight  ((2 G, G): [Â h ; h0] W, variant)
//   smax_fc.*                                 output.*
//
// Ignored, each built by the constructor and never read by this forward: att_model
// (MaskedEdgeAttention, relation graphs only), gatedatt (--mm_fusion_mthd gated only),
// graph_model.{a,v,l}_fc, graph_model.feature_fc and final_fc (return_feature is True),
// graph_model.modal_embeddings (--use_modal off), graph_model.{a,v,l}_spk_embs (never used).

#include <fmt/format.h>

#include "merc/core/error.h"
#include "merc/models/mmgcn.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

NameTable mmgcn_names(const ModelConfig& base, const ModelDims& dims) {
  const auto* config = dynamic_cast<const MmgcnConfig*>(&base);
  MERC_CHECK(config != nullptr, "mmgcn name table: expected an mmgcn config, got model '{}'", base.name);
  MERC_CHECK(config->rnn == "lstm", "mmgcn name table: rnn '{}' has no upstream counterpart (--base-model LSTM); use lstm",
             config->rnn);
  const bool audio = dims.use[static_cast<size_t>(data::Modality::kAudio)];
  const bool visual = dims.use[static_cast<size_t>(data::Modality::kVisual)];
  const bool text = dims.use[static_cast<size_t>(data::Modality::kText)];
  MERC_CHECK(static_cast<int>(audio) + static_cast<int>(visual) + static_cast<int>(text) >= 2,
             "mmgcn name table: the reference's MM_GCN needs at least two modalities (its --modals)");
  NameTable t;
  t.model = "mmgcn";
  t.upstream = "hujingwen6666/MMGCN@85732d9";
  if (audio) t.linear("linear_a", "proj_audio");
  if (visual) t.linear("linear_v", "proj_visual");
  if (text) {
    t.linear("linear_l", "text_proj");
    t.rnn("lstm_l", config->packed_rnn ? "text_encoder.lstm" : "text_lstm", config->rnn_layers, true);
  }
  if (text && config->use_speaker)
    t.copy("graph_model.speaker_embeddings.weight", "speaker.weight");
  else
    t.ignore("graph_model.speaker_embeddings.weight", "added to the text nodes only with --use_speaker and text used");
  t.linear("graph_model.graph_net.fcs.0", "graph_input");
  for (int64_t l = 0; l < config->num_layers; ++l)
    t.copy(fmt::format("graph_model.graph_net.convs.{}.weight", l), fmt::format("gcnii{}.weight", l));
  t.linear("smax_fc", "output");

  t.ignore_prefix("att_model.", "MaskedEdgeAttention: only the relation-graph branch (batch_graphify) calls it");
  t.ignore_prefix("gatedatt.", "MMGatedAttention: only --mm_fusion_mthd gated calls it");
  for (const char* m : {"a", "v", "l"}) {
    t.ignore_prefix(fmt::format("graph_model.{}_fc.", m), "MM_GCN builds it and its forward never calls it");
    t.ignore(fmt::format("graph_model.{}_spk_embs.weight", m), "MM_GCN builds it and its forward never reads it");
  }
  t.ignore_prefix("graph_model.feature_fc.", "MM_GCN returns its features (return_feature=True), never calls it");
  t.ignore_prefix("graph_model.final_fc.", "MM_GCN returns its features (return_feature=True), never calls it");
  t.ignore("graph_model.modal_embeddings.weight", "read only with --use_modal (off in the published commands)");
  return t;
}

}  // namespace merc::models::upstream
