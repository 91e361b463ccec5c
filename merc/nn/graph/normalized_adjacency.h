#pragma once
// Symmetrically normalised adjacency of a weighted graph, the propagation matrix of a GCN (Kipf &
// Welling, ICLR 2017) as the public GraphSmile (module.py, _edge_index_to_adjacency_matrix +
// SGConv_Our) and MMGCN (model_mm.py, create_big_adj + GCNII) code build it densely:
//
//   A[t, s] = sum of w_e over the edges e = (s -> t)   (duplicate edges add up)
//   d_t     = sum_s A[t, s]                             (row sums: weighted in-degree of t)
//   Â       = D^-1/2 A D^-1/2,  with d^-1/2 := 0 where d = 0 (the codes' "inf -> 0")
//   propagate(Â, x)[t] = sum_s Â[t, s] x[s]
//
// merc keeps one coefficient per edge, with autograd for both x and the edge weights (GraphSmile
// learns its edge weights; MMGCN's weights are cosine similarities of node features, so gradients
// flow through them too), and propagates either sparsely (gather, scale, index_add_) or, when every
// edge stays inside one group of nodes (a dialogue), through dense per-group blocks and one
// batched matmul (block_diagonal()). At IEMOCAP sizes the block form is the fastest of the three
// (sparse, whole dense (N, N) matrix as the public codes, block-diagonal):
// benchmarks/graph_propagation_bench.cpp, numbers in docs/models/graphsmile.md.
// A negative row sum gives NaN, as in the public code (pow(-0.5) of a negative number).

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

struct NormalizedAdjacency {
  torch::Tensor edge_index;   // (2, E) int64 [source; target]
  torch::Tensor coefficient;  // (E) float: d_target^-1/2 * w_e * d_source^-1/2
  int64_t num_nodes = 0;
  // Block-diagonal form (set by block_diagonal(); undefined = sparse propagation):
  torch::Tensor blocks;     // (G, S, S) float: Â restricted to each group, rows/columns = slots
  torch::Tensor node_slot;  // (num_nodes) int64: g * S + slot of each node
};

// How nodes fall into groups: every node has a group in [0, num_groups) and a slot in
// [0, num_slots), unique inside its group.
struct NodeGroups {
  torch::Tensor group;  // (num_nodes) int64
  torch::Tensor slot;   // (num_nodes) int64
  int64_t num_groups = 0;
  int64_t num_slots = 0;
};

// K stacked modality blocks of the N = sum(lengths) utterance nodes (node m * N + start_b + t, the
// layout of heter_window_edges and mmgcn_edges): group = dialogue b, slot = m * T + t with
// T = max(lengths). On lengths' device.
NodeGroups dialogue_groups(const torch::Tensor& lengths, int64_t num_blocks);

// The same adjacency with its block-diagonal form filled in. An edge between two groups ->
// c10::Error.
NormalizedAdjacency block_diagonal(NormalizedAdjacency adjacency, const NodeGroups& groups);

// edge_index: (2, E) int64 [source; target] in [0, num_nodes); edge_weight: (E) float or undefined
// (= all ones). Bad shapes or indices -> c10::Error naming them.
NormalizedAdjacency normalize_adjacency(const torch::Tensor& edge_index, const torch::Tensor& edge_weight,
                                        int64_t num_nodes);

// x: (num_nodes, D) -> (num_nodes, D) = Â x.
torch::Tensor propagate(const NormalizedAdjacency& adjacency, const torch::Tensor& x);

// Dense (num_nodes, num_nodes) Â, for tests and inspection (O(N^2) memory).
torch::Tensor dense_matrix(const NormalizedAdjacency& adjacency);

}  // namespace merc::nn
