// M3Net (feiyuchen7/M3NET model.py, model_hyper.py, HypergraphConv.py, high_fre_conv.py)
// state_dict names -> merc's m3net (graph_type 'hyper', concat_DHT; method_reference.md §3.1):
//   encoder keys                       m3net_encoder_names.h
//   graph_model.speaker_embeddings     -> speaker_embedding (use_speaker)
//   graph_model.fc1                    -> fc1
//   graph_model.hyperconv{l}.bias      -> hyperconv{l}.bias
//   graph_model.hyperedge_weight (1000) -> hyperedge_weight (model.max_hyperedges >= 1000)
//   graph_model.EW_weight (5200)       -> EW_weight (model.max_incidences >= 5200)
//   graph_model.conv{k}.gate           -> conv{k}.gate (highConv layer k)
//   smax_fc                            -> smax_fc
// Created by the reference and never read by its forward (ignored): hyperconv{l}.weight,
// .edgeweight and .edgefc (HypergraphConv without attention applies no weight matrix; the
// x @ weight line is commented out), graph_model.hyperedge_attr1/2 (passed as hyperedge_attr, read
// only with attention), graph_model.modal_embeddings (use_modal off), hidfc.

#include <string>

#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/models/m3net.h"
#include "merc/models/upstream/m3net_encoder_names.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

namespace {

// The reference's fixed allocations (model_hyper.py: torch.ones(1000), torch.ones(5200)).
constexpr int64_t kUpstreamHyperedges = 1000;
constexpr int64_t kUpstreamIncidences = 5200;

// upstream (n) -> merc (size >= n): the n values, then ones (the reference's initial value) for
// the slots the reference does not have; back: the first n.
void resized_vector(NameTable& t, const std::string& up, const std::string& merc, int64_t n, int64_t size) {
  NameRule r;
  r.upstream = {up};
  r.merc = {merc};
  r.to_merc = [n, size](const TensorList& in) -> TensorList {
    MERC_CHECK(in[0].dim() == 1 && in[0].size(0) == n, "expected a vector of {} values, got shape {}", n,
               in[0].sizes());
    return {torch::cat({in[0], torch::ones({size - n}, in[0].options())})};
  };
  r.to_upstream = [n](const TensorList& in) -> TensorList { return {in[0].slice(0, 0, n)}; };
  r.note = "the reference allocates " + std::to_string(n) + " slots; merc's extra slots keep the initial 1";
  t.rules.push_back(std::move(r));
}

}  // namespace

NameTable m3net_name_table(const ModelConfig& config, const ModelDims& dims) {
  const auto* c = dynamic_cast<const M3netConfig*>(&config);
  MERC_CHECK(c != nullptr, "the m3net upstream name table needs an m3net config, got model '{}'", config.name);
  MERC_CHECK(c->max_hyperedges >= kUpstreamHyperedges && c->max_incidences >= kUpstreamIncidences,
             "m3net: the upstream checkpoint holds {} hyperedge weights and {} EW weights; model.max_hyperedges = {} "
             "and model.max_incidences = {} must be at least that",
             kUpstreamHyperedges, kUpstreamIncidences, c->max_hyperedges, c->max_incidences);
  NameTable t;
  t.model = "m3net";
  t.upstream = "feiyuchen7/M3NET@4d0fa88";
  add_m3net_encoder_names(t, c->encoder, dims, "m3net");
  if (c->use_speaker)
    t.copy("graph_model.speaker_embeddings.weight", "speaker_embedding.weight");
  else
    t.ignore("graph_model.speaker_embeddings.weight", "speaker embeddings are added only with use_speaker");
  t.linear("graph_model.fc1", "fc1");
  for (int64_t l = 1; l <= c->num_L; ++l) {
    const std::string up = "graph_model.hyperconv" + std::to_string(l);
    t.copy(up + ".bias", "hyperconv" + std::to_string(l) + ".bias");
    t.ignore(up + ".weight", "HypergraphConv without attention never multiplies by weight (the line is commented out)");
    t.ignore(up + ".edgeweight", "created, never used by HypergraphConv.forward");
    t.ignore_prefix(up + ".edgefc.", "created, never used (its call is commented out)");
  }
  resized_vector(t, "graph_model.hyperedge_weight", "hyperedge_weight", kUpstreamHyperedges, c->max_hyperedges);
  resized_vector(t, "graph_model.EW_weight", "EW_weight", kUpstreamIncidences, c->max_incidences);
  t.ignore("graph_model.hyperedge_attr1", "hyperedge attributes are read only by attention (use_attention off)");
  t.ignore("graph_model.hyperedge_attr2", "hyperedge attributes are read only by attention (use_attention off)");
  for (int64_t k = 1; k <= c->num_K; ++k)
    t.linear("graph_model.conv" + std::to_string(k) + ".gate", "conv" + std::to_string(k) + ".gate");
  t.ignore("graph_model.modal_embeddings.weight", "modality embeddings are used only with --use_modal (off)");
  t.ignore_prefix("hidfc.", "created for every multimodal run, used only by the GCN3/DeepGCN graph types");
  t.linear("smax_fc", "smax_fc");
  return t;
}

}  // namespace merc::models::upstream
