#pragma once
// Inter-modal window edges of GraphSmile's heterogeneous graphs (Li, Wang, Zeng, TPAMI 2025,
// "Tracing intricate cues in dialogue", the GSF module; public code lijfrank-open/GraphSmile
// module.py, HeterGConv_Edge._heter_no_weight_edge). The graph has K modality blocks of the same
// N = sum(lengths) utterance nodes, block m holding nodes m * N .. m * N + N - 1 numbered as in
// node_batch.h (dialogue after dialogue). Inside every dialogue, for every ORDERED pair of blocks
// (m, n) with m != n, utterance j of block m is linked with utterance k of block n for every
//
//   k in [j - window_past, j + window_future] clipped to the dialogue  (negative = unbounded side)
//
// Only inter-modal edges: no edge stays inside a block and there are no self loops.
//
// Direction: the public code lists the pair (m_j, n_k) as (row, column) of the adjacency A and
// computes A f, so n_k's features flow INTO m_j. In merc's [source; target] convention that edge
// is source n_k, target m_j.
//
// Edge order (the public code's, which matters because GraphSmile indexes its learnable edge
// weights by edge position): dialogue b ascending, then block pairs (m, n) in
// itertools.permutations order ((0,1), (0,2), (1,0), (1,2), (2,0), (2,1) for K = 3), then j
// ascending, then k ascending. Pure integer code.

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

// lengths: (B) int64 >= 0 (any device; read on the CPU); num_blocks K >= 2. Returns (2, E) int64
// [source; target] on lengths' device. Bad arguments -> c10::Error naming them.
torch::Tensor heter_window_edges(const torch::Tensor& lengths, int64_t num_blocks, int64_t window_past,
                                 int64_t window_future);

}  // namespace merc::nn
