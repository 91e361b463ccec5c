#include "merc/models/moed_graph.h"

#include <algorithm>

#include "merc/core/error.h"

namespace merc::models {

namespace {
char moed_letter_of(data::Modality m) {
  return m == data::Modality::kText ? 'l' : (m == data::Modality::kAudio ? 'a' : 'v');
}
std::vector<int64_t> block_iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}
void moed_add_shared_edges(nn::EdgeList& e, const nn::BlockLayout& layout, int64_t M, bool with_u,
                      const std::vector<int64_t>& sources, const MoedGraphOptions& o) {
  nn::add_intra_utterance_edges(e, layout, block_iota(M), o.single_edge == "intra" ? 1 : 2);
  if (with_u && !o.directed_edge.empty()) nn::add_directed_edges(e, layout, sources, M);
}
}  // namespace

std::vector<int64_t> moed_directed_sources(const std::string& directed_edge, const std::string& modals_order,
                                           const std::vector<data::Modality>& used, bool letter_quirk) {
  const int64_t M = static_cast<int64_t>(used.size());
  for (char c : directed_edge)
    MERC_CHECK(c == 'a' || c == 'v' || c == 'l', "moed: directed_edge letters must be a, v or l, got '{}'",
               directed_edge);
  if (directed_edge.size() == 3) return block_iota(M);
  std::vector<int64_t> sources;
  for (char c : directed_edge) {
    const auto pos = modals_order.find(c);
    if (pos == std::string::npos) continue;  // the reference's `if m in modals`
    int64_t block = -1;
    if (letter_quirk) {
      block = static_cast<int64_t>(pos);
    } else {
      for (int64_t k = 0; k < M; ++k)
        if (moed_letter_of(used[static_cast<size_t>(k)]) == c) block = k;
    }
    if (block >= 0 && block < M) sources.push_back(block);
  }
  return sources;
}

nn::EdgeList moed_ecgnn_edges(const nn::BlockLayout& layout, int64_t M, bool with_u, const std::vector<int64_t>& sources,
                              const MoedGraphOptions& o) {
  nn::EdgeList e;
  // Pre-size for the reference's all-pairs windows (sum of L^2 per block) to avoid regrowth.
  int64_t pairs = 0;
  for (int64_t L : layout.lengths) pairs += L * L;
  e.reserve(2 * pairs * layout.num_blocks + 8 * layout.num_nodes());
  const auto mode = o.single_edge == "inter"
                        ? nn::TemporalMultiplicity::kDirectional
                        : (o.temporal_duplicates ? nn::TemporalMultiplicity::kReference : nn::TemporalMultiplicity::kSingle);
  nn::add_temporal_window_edges(e, layout, block_iota(M + (with_u ? 1 : 0)), o.window_dir, o.window_dir_f, mode);
  moed_add_shared_edges(e, layout, M, with_u, sources, o);
  return e;
}

nn::EdgeList moed_eignn_edges(const nn::BlockLayout& layout, int64_t M, bool with_u, const std::vector<int64_t>& sources,
                              const torch::Tensor& speaker, const MoedGraphOptions& o) {
  nn::EdgeList e;
  nn::add_speaker_window_edges(e, layout, block_iota(M + (with_u ? 1 : 0)), speaker, o.window_spk, o.window_spk_f,
                               o.skip_first_sender);
  moed_add_shared_edges(e, layout, M, with_u, sources, o);
  return e;
}

}  // namespace merc::models
