#pragma once
// Window edges of DialogueGCN (Ghosal et al., EMNLP 2019, §3.3): inside each dialogue, utterance
// i receives an edge from every utterance j with i - window_past <= j <= i + window_future
// (itself included), and each edge has one of 2 M^2 relation types, M = num_speakers:
//
//   relation(j -> i) = (speaker(j) * M + speaker(i)) * 2 + direction,
//   direction = 0 when j < i (the source was said before the target), 1 when j >= i.
//
// This is the relation numbering of the public DialogueGCN code (its edge_type_mapping lists
// (s_src, s_tgt, '0'), (s_src, s_tgt, '1') for s_src, s_tgt = 0..M-1, with the self-loop in the
// '1' group). Nodes are numbered as in node_batch.h (dialogue after dialogue, utterance order).
//
// Edge order (documented, tests rely on it): dialogue b ascending, then target i ascending, then
// source j ascending.

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

struct WindowEdges {
  torch::Tensor edge_index;  // (2, E) int64: row 0 = source node j, row 1 = target node i
  torch::Tensor relation;    // (E) int64 in [0, 2 * num_speakers^2)
};

// lengths: (B) int64; speaker: (B, T) int64 with speaker[b][t] in [0, num_speakers) for
// t < lengths[b] (padding is not read). A negative window means "unbounded" on that side.
// Results are on speaker's device. Bad shapes or speaker ids -> c10::Error naming them.
WindowEdges window_edges(const torch::Tensor& lengths, const torch::Tensor& speaker, int64_t window_past,
                         int64_t window_future, int64_t num_speakers);

inline int64_t num_window_relations(int64_t num_speakers) { return 2 * num_speakers * num_speakers; }

}  // namespace merc::nn
