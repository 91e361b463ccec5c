// zeroQiaoba/GCNet (gcnet/model.py GraphModel, GraphNetwork) state_dict names -> merc gcnet.
//
//   lstm.*                               encoder.lstm.*             (--base-model LSTM)
//   gru.*                                ignored: built next to the LSTM, never used by the
//                                        LSTM run (the GRU branch reads an undefined name)
//   graph_net_{temporal,speaker}.
//     conv1.weight (R, in, out)          {temporal,speaker}.rgcn.weight, relations reordered
//                                        from the checkpoint's ids to merc's (see below)
//     conv1.root / conv1.bias            rgcn.root / rgcn.bias     (PyG RGCNConv, no bases)
//     conv2.lin_rel.{weight,bias}        graph_conv.lin_neighbors  (PyG >= 2.0.2; lin_l before)
//     conv2.lin_root.weight              graph_conv.lin_root       (lin_r before)
//     grufusion.*                        sequence.lstm.*
//     matchatt.transform.*               attention.transform.* with --time-attn; else ignored
//                                        (created, never called)
//     linear.*                           linear.*
//   smax_fc.*, linear_rec.*              smax_fc.*, linear_rec.*
//
// Relation ids: batch_graphify numbers the relation names by iterating a Python set, so the
// order of conv1.weight's first axis depends on the PYTHONHASHSEED of the run. The config says
// which order the checkpoint has (upstream_temporal_relations, upstream_speaker_relations); merc's
// own ids are past=0, now=1, future=2 and speaker "<target><source>" = target * M + source
// (nn/graph/gcnet_edges.h), GCNet's speaker_type string f'{ii_speaker}{jj_speaker}' with ii the
// target.

#include <fmt/format.h>

#include "merc/core/error.h"
#include "merc/models/gcnet.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {
namespace {

// upstream_position[m] = where merc relation m (named merc_names[m]) sits in the checkpoint.
std::vector<int64_t> relation_positions(const std::vector<std::string>& merc_names,
                                        const std::vector<std::string>& upstream, const char* field) {
  const std::string given = fmt::format("{}", fmt::join(upstream, ","));
  const std::string expected = fmt::format("{}", fmt::join(merc_names, ","));
  MERC_CHECK(upstream.size() == merc_names.size(),
             "gcnet: model.{} = '{}' must name the {} relations {} once each, in the checkpoint's order", field, given,
             merc_names.size(), expected);
  std::vector<int64_t> positions;
  for (const std::string& name : merc_names) {
    int64_t found = -1, count = 0;
    for (size_t i = 0; i < upstream.size(); ++i)
      if (upstream[i] == name) found = static_cast<int64_t>(i), ++count;
    MERC_CHECK(count == 1, "gcnet: model.{} = '{}' must name each of the relations {} exactly once", field, given,
               expected);
    positions.push_back(found);
  }
  return positions;
}

// conv1.weight (R, in, out): merc[m] = upstream[positions[m]], and back.
NameRule relation_rule(const std::string& up, const std::string& merc, std::vector<int64_t> positions) {
  std::vector<int64_t> inverse(positions.size());
  for (size_t m = 0; m < positions.size(); ++m) inverse[static_cast<size_t>(positions[m])] = static_cast<int64_t>(m);
  auto permute = [](std::vector<int64_t> index) {
    return [index = std::move(index)](const TensorList& in) -> TensorList {
      TORCH_CHECK(in[0].dim() == 3 && in[0].size(0) == static_cast<int64_t>(index.size()),
                  "expected (", index.size(), ", in, out) relation weights, got ", in[0].sizes());
      return {in[0].index_select(0, torch::tensor(index, torch::kLong)).contiguous()};
    };
  };
  return NameRule{{up}, {merc}, permute(positions), permute(inverse),
                  "relation axis reordered from the checkpoint's Python-set ids to merc's"};
}

}  // namespace

NameTable gcnet_names(const ModelConfig& base, const ModelDims& dims) {
  const auto* config = dynamic_cast<const GcnetConfig*>(&base);
  MERC_CHECK(config != nullptr, "gcnet name table: expected a gcnet config, got model '{}'", base.name);
  MERC_CHECK(config->rnn == "lstm",
             "gcnet name table: rnn '{}' has no upstream counterpart (GCNet's GRU branch crashes and its graph "
             "branches are always LSTMs); import with rnn: lstm",
             config->rnn);
  MERC_CHECK(config->upstream_graph_conv == "lin_rel" || config->upstream_graph_conv == "lin_l",
             "gcnet: model.upstream_graph_conv must be lin_rel or lin_l, got '{}'", config->upstream_graph_conv);
  NameTable t;
  t.model = "gcnet";
  t.upstream = "zeroQiaoba/GCNet@8cce4a0";
  t.rnn("lstm", "encoder.lstm", 2, true);
  t.ignore_prefix("gru.", "GraphModel builds a GRU next to the LSTM; --base-model LSTM never uses it");

  const int64_t M = dims.num_speakers;
  std::vector<std::string> speaker_names;
  for (int64_t target = 0; target < M; ++target)
    for (int64_t source = 0; source < M; ++source) speaker_names.push_back(fmt::format("{}{}", target, source));
  const std::vector<std::string>& speaker_order =
      config->upstream_speaker_relations.empty() ? speaker_names : config->upstream_speaker_relations;
  const bool rel = config->upstream_graph_conv == "lin_rel";
  const std::string neighbors = rel ? "lin_rel" : "lin_l", root = rel ? "lin_root" : "lin_r";
  for (const auto& [branch, merc] : {std::pair<std::string, std::string>{"temporal", "temporal"}, {"speaker", "speaker"}}) {
    const std::string up = "graph_net_" + branch + ".";
    const std::string m = merc + ".";
    const std::vector<int64_t> positions =
        branch == "temporal"
            ? relation_positions({"past", "now", "future"}, config->upstream_temporal_relations,
                                 "upstream_temporal_relations")
            : relation_positions(speaker_names, speaker_order, "upstream_speaker_relations");
    t.rules.push_back(relation_rule(up + "conv1.weight", m + "rgcn.weight", positions));
    t.copy(up + "conv1.root", m + "rgcn.root");
    t.copy(up + "conv1.bias", m + "rgcn.bias");
    t.linear(up + "conv2." + neighbors, m + "graph_conv.lin_neighbors");
    t.copy(up + "conv2." + root + ".weight", m + "graph_conv.lin_root.weight");
    t.rnn(up + "grufusion", m + "sequence.lstm", 2, true);
    if (config->time_attn)
      t.linear(up + "matchatt.transform", m + "attention.transform");
    else
      t.ignore_prefix(up + "matchatt.", "MatchingAttention is built always and called only with --time-attn");
    t.linear(up + "linear", m + "linear");
  }
  t.linear("smax_fc", "smax_fc");
  t.linear("linear_rec", "linear_rec");
  return t;
}

}  // namespace merc::models::upstream
