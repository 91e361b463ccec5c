#pragma once
// Node layout of the multimodal dialogue graphs of M3Net (Chen et al., CVPR 2023) and MoED: each
// dialogue b of length L_b contributes K blocks of L_b nodes (block k = one modality, e.g. MoED's
// l, a, v, u), and dialogues are concatenated:
//
//   node(b, k, t) = K * offset_b + k * L_b + t,     offset_b = L_0 + ... + L_{b-1},  t < L_b
//
// so the graph has K * N nodes, N = sum_b L_b. Within one block the utterances keep the order of
// node_batch.h (dialogue after dialogue); block_rows/interleave_blocks convert between the
// per-block (N, D) matrices of node_batch.h and this (K * N, D) layout.

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace merc::nn {

struct BlockLayout {
  std::vector<int64_t> lengths;  // L_b per dialogue
  std::vector<int64_t> offsets;  // offset_b = L_0 + ... + L_{b-1}
  int64_t num_blocks = 0;        // K
  int64_t num_utterances = 0;    // N

  int64_t num_dialogues() const { return static_cast<int64_t>(lengths.size()); }
  int64_t num_nodes() const { return num_blocks * num_utterances; }
  int64_t node(int64_t b, int64_t k, int64_t t) const { return num_blocks * offsets[b] + k * lengths[b] + t; }
};

// lengths: (B) int64 (any device, read on the CPU), each >= 0; num_blocks >= 1. Bad input ->
// c10::Error naming it.
BlockLayout make_block_layout(const torch::Tensor& lengths, int64_t num_blocks);

// (K * N) int64 on `device`: for each graph node in layout order, its row in
// torch::cat(blocks, 0) where blocks[k] is block k's (N, D) matrix.
torch::Tensor block_gather_index(const BlockLayout& layout, torch::Device device = torch::kCPU);

// K matrices (N, D) (node_batch.h order) -> (K * N, D) in layout order. Differentiable.
torch::Tensor interleave_blocks(const std::vector<torch::Tensor>& blocks, const BlockLayout& layout);

// (N) int64 on `device`: the graph nodes of block k in node_batch.h order.
torch::Tensor block_node_index(const BlockLayout& layout, int64_t k, torch::Device device = torch::kCPU);

// (K * N, D) -> (N, D): the rows of block k, in node_batch.h order. Differentiable.
torch::Tensor block_rows(const torch::Tensor& nodes, const BlockLayout& layout, int64_t k);

// Padded per-block features (each (B, T, D), e.g. one per modality) -> (K * N, D) in layout order,
// through node_batch.h's positions (padding is never a node).
torch::Tensor padded_blocks_to_nodes(const std::vector<torch::Tensor>& padded, const torch::Tensor& positions,
                                     const BlockLayout& layout);

}  // namespace merc::nn
