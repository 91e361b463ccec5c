#pragma once
// Edge builders of the multimodal dialogue graphs of MoED (ECGNN / EIGNN) and M3Net, on the node
// layout of block_layout.h. Pure integer code: edges are appended to an EdgeList (two growing
// int64 vectors) with plain loops and turned into one (2, E) tensor [source; target] at the end,
// so a batch of ~365k edges costs a few milliseconds.
//
// `blocks` arguments list the block indices k an edge family is built on (e.g. {0, 1, 2, 3} for
// MoED's l, a, v, u). Duplicated edges are kept on purpose where the reference code produces
// them: duplicates change degrees and sums (method_reference.md §4.4-4.5).
//
// Edge order (tests compare sorted lists, the convolutions do not depend on it): dialogue by
// dialogue, in the loop order documented per function.

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "merc/nn/graph/block_layout.h"

namespace merc::nn {

struct EdgeList {
  std::vector<int64_t> src, dst;
  void add(int64_t s, int64_t d) {
    src.push_back(s);
    dst.push_back(d);
  }
  int64_t size() const { return static_cast<int64_t>(src.size()); }
  void reserve(int64_t n) {
    src.reserve(static_cast<size_t>(n));
    dst.reserve(static_cast<size_t>(n));
  }
  // (2, E) int64 [src; dst] on `device`.
  torch::Tensor to_tensor(torch::Device device = torch::kCPU) const;
};

// How the windowed temporal edges of MoED's ECGNN (create_ECGNN_edges, item 1) count a pair of
// nodes p < q of one block with gap g = q - p. `past` = window_dir, `future` = window_dir_f,
// -1 = unbounded.
enum class TemporalMultiplicity {
  // The released code: each direction (p->q and q->p) m(g) times,
  //   m(g) = 1[past = -1 or g <= past] + 1[future = -1 or g <= future]
  // (it checks every ordered permutation against both windows and adds both directions each time).
  kReference,
  // The released code with --single_edge inter: q->p (later to earlier) once iff g <= past, p->q
  // once iff g <= future: a directional window without duplicates.
  kDirectional,
  // Corrected single multiplicity: each direction once iff m(g) > 0.
  kSingle,
};

// Windowed temporal edges inside each listed block of every dialogue. Loop order: dialogue,
// block, p, q > p; then the q->p copies before the p->q copies of that pair.
void add_temporal_window_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& blocks,
                               int64_t past, int64_t future, TemporalMultiplicity mode);

// All ordered pairs of distinct nodes inside each listed block (M3Net's graph branch), once.
void add_all_pairs_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& blocks);

// Same-speaker window edges of MoED's EIGNN (create_EIGNN_edges, item 1), inside each listed
// block. For each dialogue and speaker, with that speaker's utterances s_0, s_1, ... in order, the
// sender s_j sends to s_k for k in [max(0, j - past), j - 1] (all earlier when past = -1) and for
// k in [j + 1, min(n - 1, j + future)] (all later when future = -1).
// skip_first_sender = true reproduces the released code, whose loop starts at j = 1: the first
// utterance of each speaker never sends (it still receives). false starts at j = 0.
// speaker: (B, T) int64 (read for t < L_b only). Loop order: dialogue, speaker in order of first
// appearance, j, past k (descending) then future k (ascending), block.
void add_speaker_window_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& blocks,
                              const torch::Tensor& speaker, int64_t past, int64_t future, bool skip_first_sender);

// Intra-utterance inter-modal edges: for each utterance t, every ordered pair (i, j), i != j, of
// the listed blocks, node(b, i, t) -> node(b, j, t), each `multiplicity` times (MoED: 2, or 1 with
// --single_edge intra; M3Net: 1). Loop order: dialogue, t, i, j (permutation order), copies.
void add_intra_utterance_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& blocks,
                               int64_t multiplicity);

// Directed edges node(b, s, t) -> node(b, target, t) for each source block s (MoED's l_t -> u_t,
// a_t -> u_t, v_t -> u_t). Loop order: dialogue, t, sources in the given order.
void add_directed_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& sources,
                        int64_t target);

// M3Net's hypergraph (model_hyper.py, create_hyper_index) as an incidence list: per dialogue, K
// modality hyperedges (hyperedge k = all L_b nodes of block k) then L_b utterance hyperedges
// (hyperedge K + t = {node(b, k, t) : k < K}); hyperedge ids are global and consecutive over the
// batch. Incidence order: block 0's nodes, block 1's, ..., then per utterance its K nodes.
struct HyperIncidence {
  torch::Tensor node;       // (I) int64: the node of each incidence
  torch::Tensor hyperedge;  // (I) int64: its hyperedge
  int64_t num_hyperedges = 0;
};
HyperIncidence m3net_hyperedges(const BlockLayout& layout, torch::Device device = torch::kCPU);

}  // namespace merc::nn
