#pragma once
// The multimodal graph of MMGCN (Hu, Liu, Zhao, Jin, ACL 2021, "MMGCN: Multimodal Fusion via Deep
// Graph Convolution Network for Emotion Recognition in Conversation", §3.3; public code
// hujingwen6666/MMGCN model_mm.py, MM_GCN.create_big_adj). K modality blocks of the same
// N = sum(lengths) utterance nodes (block m holds nodes m * N .. m * N + N - 1, numbered as in
// node_batch.h). Inside every dialogue:
//
//   intra-modal: every ordered pair (i, j) of utterances of the same block, i = j included;
//   inter-modal: the copies of the same utterance in two different blocks, both directions;
//
// and every edge (u, v) weighs  w = 1 - arccos(0.99999 * cos(x_u, x_v)) / pi,  the angular
// similarity of the two node features (the 0.99999 keeps arccos away from its infinite slope at
// +-1). The graph is normalised as in normalized_adjacency.h (Â = D^-1/2 A D^-1/2). The weights
// are differentiable functions of the node features, as in the public code.
//
// Edge order of mmgcn_edges (documented, tests rely on it): dialogue ascending; inside it the
// intra-modal blocks m = 0..K-1 (target i ascending, source j ascending), then the inter-modal
// pairs (m, n), m != n, in row-major order (utterance k ascending) with source n_k, target m_k.

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "merc/nn/graph/normalized_adjacency.h"

namespace merc::nn {

inline constexpr double kMmgcnCosineScale = 0.99999;  // the public code's factor inside arccos

// lengths: (B) int64 >= 0; num_blocks K >= 1. (2, E) int64 [source; target] on lengths' device.
torch::Tensor mmgcn_edges(const torch::Tensor& lengths, int64_t num_blocks);

// (E) weights 1 - arccos(0.99999 cos(x_source, x_target)) / pi for the rows of `nodes` (K N, D).
// A zero feature vector has cosine 0 with everything (the public code divides by its zero norm and
// gives NaN; merc clamps the norm at 1e-12 instead).
torch::Tensor angular_similarity(const torch::Tensor& nodes, const torch::Tensor& edge_index);

// blocks: K tensors (N, D) with the same shape. Builds the edges, weighs them and normalises.
NormalizedAdjacency mmgcn_adjacency(const std::vector<torch::Tensor>& blocks, const torch::Tensor& lengths);

}  // namespace merc::nn
