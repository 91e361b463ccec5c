#include "merc/models/hrg_ssa_graphs.h"

#include "merc/core/error.h"
#include "merc/nn/loss/window_info_nce.h"

namespace merc::models {

namespace hrg_graphs_detail {
const char* const kPrefix[data::kNumModalities] = {"text", "audio", "video"};
constexpr int kT = static_cast<int>(data::Modality::kText);
constexpr int kA = static_cast<int>(data::Modality::kAudio);
constexpr int kV = static_cast<int>(data::Modality::kVisual);

// Adds `term` to `sum` (either may be undefined).
void accumulate(torch::Tensor& sum, const torch::Tensor& term) { sum = sum.defined() ? sum + term : term; }
}  // namespace hrg_graphs_detail

HrgSsaGraphsImpl::HrgSsaGraphsImpl(const HrgGraphOptions& o) : options(o) { reset(); }

void HrgSsaGraphsImpl::reset() {
  using namespace hrg_graphs_detail;
  MERC_CHECK(options.detector.in_features == options.gat.d_model,
             "hrg_ssa graphs: the detector reads nodes of width {}, got in_features {}", options.gat.d_model,
             options.detector.in_features);
  for (int m = 0; m < data::kNumModalities; ++m) {
    if (!options.use[m]) continue;
    gat[m] = register_module(std::string(kPrefix[m]) + "_gat", nn::WindowGat(options.gat));
    if (options.implicit_connections)
      edge_relation[m] = register_module(std::string(kPrefix[m]) + "_edge_relation",
                                         nn::ImplicitConnectionDetector(options.detector));
  }
  if (options.emotion_gat_unused) {
    emotion_gat = register_module("emotion_gat", nn::WindowGat(options.gat));
    if (options.implicit_connections)
      emotion_edge_relation =
          register_module("emotion_edge_relation", nn::ImplicitConnectionDetector(options.detector));
  }
}

HrgGraphOutput HrgSsaGraphsImpl::forward(const HrgGraphInput& in) {
  using namespace hrg_graphs_detail;
  HrgGraphOutput out;
  auto graph_of = [&](const torch::Tensor& x, nn::ImplicitConnectionDetector& detector) {
    return detector ? detector->forward(x, in.mask, in.adjacency).adjacency : in.adjacency;
  };
  const nn::WindowInfoNceOptions pairs{false, options.temperature};
  const nn::WindowInfoNceOptions emotion_pairs{true, options.temperature};
  // 1-2. Graphs on the encoded nodes; primary sentiment alignment before the GATs.
  for (int m = 0; m < data::kNumModalities; ++m) {
    if (!options.use[m]) continue;
    MERC_CHECK(in.nodes[m].defined(), "hrg_ssa graphs: the {} nodes are missing", kPrefix[m]);
    out.adjacency[m] = graph_of(in.nodes[m], edge_relation[m]);
    if (in.losses && in.emotion.defined())
      accumulate(out.con_u, nn::window_info_nce(in.nodes[m], in.emotion, in.mask, emotion_pairs));
  }
  if (emotion_gat && in.emotion.defined())
    out.emotion_gat = emotion_gat->forward(in.emotion, graph_of(in.emotion, emotion_edge_relation));
  // 3. A GAT per modality.
  for (int m = 0; m < data::kNumModalities; ++m)
    if (options.use[m]) out.nodes[m] = gat[m]->forward(in.nodes[m], out.adjacency[m]);
  // 4. Multimodal semantic alignment after the GATs.
  if (in.losses) {
    const auto& n = out.nodes;
    if (options.use[kA] && options.use[kT]) accumulate(out.con_c, nn::window_info_nce(n[kA], n[kT], in.mask, pairs));
    if (options.use[kV] && options.use[kT]) accumulate(out.con_c, nn::window_info_nce(n[kV], n[kT], in.mask, pairs));
    if (options.use[kA] && options.use[kV]) accumulate(out.con_c, nn::window_info_nce(n[kA], n[kV], in.mask, pairs));
  }
  return out;
}

}  // namespace merc::models
