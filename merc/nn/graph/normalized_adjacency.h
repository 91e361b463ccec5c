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
// merc keeps Â sparse (one coefficient per edge) and propagates with index_add_, which has
// autograd for both x and the edge weights (GraphSmile learns its edge weights; MMGCN's weights are
// cosine similarities of node features, so gradients flow through them too). Measured on
// IEMOCAP-sized batches this is faster than the dense (N, N) product: docs/models/graphsmile.md.
// A negative row sum gives NaN, as in the public code (pow(-0.5) of a negative number).

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

struct NormalizedAdjacency {
  torch::Tensor edge_index;   // (2, E) int64 [source; target]
  torch::Tensor coefficient;  // (E) float: d_target^-1/2 * w_e * d_source^-1/2
  int64_t num_nodes = 0;
};

// edge_index: (2, E) int64 [source; target] in [0, num_nodes); edge_weight: (E) float or undefined
// (= all ones). Bad shapes or indices -> c10::Error naming them.
NormalizedAdjacency normalize_adjacency(const torch::Tensor& edge_index, const torch::Tensor& edge_weight,
                                        int64_t num_nodes);

// x: (num_nodes, D) -> (num_nodes, D) = Â x.
torch::Tensor propagate(const NormalizedAdjacency& adjacency, const torch::Tensor& x);

// Dense (num_nodes, num_nodes) Â, for tests and inspection (O(N^2) memory).
torch::Tensor dense_matrix(const NormalizedAdjacency& adjacency);

}  // namespace merc::nn
