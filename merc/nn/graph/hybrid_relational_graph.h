#pragma once
// HRG-SSA's hybrid relational graph over each context window (jicoder-nwpu/HRG-SSA reader.py and
// runner.process_batch; method_reference.md §7.1). Nodes i, j are window slots (0 = oldest,
// size - 1 = current, context_windows.h):
//
//   adjacency relation  g[i][i-1] = 1 + e^{-1}
//   cognate relation    g[i][j]   = 1 + e^{j-i}   for every earlier j < i with speaker(j) = speaker(i)
//
// reader.py writes the adjacency weight first and the cognate weight over it; for j = i - 1 with
// the same speaker both are 1 + e^{-1}, so the order never matters. Edges: a self loop on every
// node and (k -> j) for every g[j][k] > 0, i.e. each node receives from its previous utterance and
// from its earlier same-speaker utterances. The release uses g only through these edges (the
// softmax of g it computes in process_batch is never read); the weights are kept for inspection.
//
// Dense layout: adjacency[w][i][j] = true <=> edge j -> i (i aggregates j), so row i lists the
// sources of node i. Empty slots have only a self loop (so a softmax over a row is always defined)
// and no edge to or from a real node.

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "merc/nn/graph/context_windows.h"

namespace merc::nn {

struct HybridRelationalGraph {
  torch::Tensor weight;     // (N, S, S) float32: g[w][i][j], 0 where no relation
  torch::Tensor adjacency;  // (N, S, S) bool: [target i][source j], self loops included
};

// node_speaker: (num_nodes) int64 speaker of each node (node_batch.h order).
HybridRelationalGraph hybrid_relational_graph(const ContextWindows& windows, const torch::Tensor& node_speaker);

// The edges (source, target) of one window's (S, S) adjacency over its first `size` slots: for each
// target j ascending, its self loop (j, j), then (k, j) for its earlier sources k ascending (the
// release's order, runner.process_batch, for the hybrid edges; implicit connections, also earlier
// -> later, appear in place), then any edges from later sources (none are ever built).
std::vector<std::pair<int64_t, int64_t>> window_edge_list(const torch::Tensor& adjacency, int64_t size);

}  // namespace merc::nn
