#pragma once
// Nodes of a batch of dialogue graphs. The B padded dialogues of a DialogueBatch become one graph
// of N = sum(lengths) nodes, numbered dialogue by dialogue in utterance order:
//
//   node(b, t) = lengths[0] + ... + lengths[b-1] + t      for t < lengths[b]
//
// (the numbering window_edges() uses). Padding is not a node, so no edge can ever reach it.

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

// (N) int64: for each node, its flat position b * T + t in a (B, T) layout. lengths: (B) int64 in
// [0, max_length]. On lengths' device.
torch::Tensor node_positions(const torch::Tensor& lengths, int64_t max_length);

// (B, T, D) -> (N, D): the real utterances, in node order.
torch::Tensor to_nodes(const torch::Tensor& padded, const torch::Tensor& positions);

// (N, D) -> (B, T, D) with zeros at padding; inverse of to_nodes.
torch::Tensor to_padded(const torch::Tensor& nodes, const torch::Tensor& positions, int64_t batch_size,
                        int64_t max_length);

}  // namespace merc::nn
