#pragma once
// The two relation graphs of GCNet (Lian et al., TPAMI 2023, "GCNet: Graph Completion Network for
// Incomplete Multimodal Learning in Conversation", §3.2; public code zeroQiaoba/GCNet
// gcnet/graph.py, edge_perms + batch_graphify). Both graphs have the same edges and differ only in
// the relation type of each edge.
//
// Edges, per dialogue (no edge crosses dialogues): every utterance j is the SOURCE of an edge to
// every target k of its own dialogue with j - window_past <= k <= j + window_future (clipped to the
// dialogue), the self edge (j, j) included; a negative window is unbounded on that side. So the
// reference's window is anchored at the source: a target k receives from sources
// j in [k - window_future, k + window_past] (the same set when both windows are equal, as in every
// published configuration).
//
// Relation ids (deterministic; the reference numbers its type names by iterating a Python set of
// strings, whose order depends on PYTHONHASHSEED, so its ids are not reproducible; here they are
// the names' list order):
//   temporal graph, 3 relations:  0 = "past"   (target after source, k > j)
//                                 1 = "now"    (k == j, the self edge)
//                                 2 = "future" (k < j)
//   speaker graph, M^2 relations: speaker(target) * M + speaker(source), i.e. the reference's
//                                 type name f"{speaker(target)}{speaker(source)}" read in base M
//                                 (for M = 2: "00" -> 0, "01" -> 1, "10" -> 2, "11" -> 3).
// The reference asserts M <= 2; any M >= 1 works here.
//
// Nodes are numbered as in node_batch.h (dialogue after dialogue, utterance order). Edge order
// (documented, tests rely on it): dialogue ascending, then source j ascending, then target k
// ascending. (The reference's order is a Python set's; sum/mean aggregation does not depend on it
// beyond float rounding.)

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

struct GcnetEdges {
  torch::Tensor edge_index;         // (2, E) int64: row 0 = source node j, row 1 = target node k
  torch::Tensor temporal_relation;  // (E) int64 in [0, 3)
  torch::Tensor speaker_relation;   // (E) int64 in [0, num_speakers^2)
};

inline constexpr int64_t kGcnetTemporalRelations = 3;
inline int64_t num_gcnet_speaker_relations(int64_t num_speakers) { return num_speakers * num_speakers; }

// lengths: (B) int64 in [0, T]; speaker: (B, T) int64 with speaker[b][t] in [0, num_speakers) for
// t < lengths[b] (padding is not read). Results are on speaker's device. Bad shapes, lengths or
// speaker ids -> c10::Error naming them.
GcnetEdges gcnet_edges(const torch::Tensor& lengths, const torch::Tensor& speaker, int64_t window_past,
                       int64_t window_future, int64_t num_speakers);

}  // namespace merc::nn
