#include "merc/nn/graph/normalized_adjacency.h"

#include <c10/util/Exception.h>

namespace merc::nn {

NormalizedAdjacency normalize_adjacency(const torch::Tensor& edge_index, const torch::Tensor& edge_weight,
                                        int64_t num_nodes) {
  TORCH_CHECK(edge_index.dim() == 2 && edge_index.size(0) == 2 && edge_index.scalar_type() == torch::kInt64,
              "normalize_adjacency: expected int64 edge_index (2, E), got ", edge_index.scalar_type(), " ",
              edge_index.sizes());
  TORCH_CHECK(num_nodes >= 0, "normalize_adjacency: negative num_nodes ", num_nodes);
  const int64_t E = edge_index.size(1);
  if (E > 0)
    TORCH_CHECK(edge_index.min().item<int64_t>() >= 0 && edge_index.max().item<int64_t>() < num_nodes,
                "normalize_adjacency: node ids must be in [0, ", num_nodes, "), got [",
                edge_index.min().item<int64_t>(), ", ", edge_index.max().item<int64_t>(), "]");
  torch::Tensor w = edge_weight;
  if (!w.defined()) w = torch::ones({E}, torch::TensorOptions().device(edge_index.device()));
  TORCH_CHECK(w.dim() == 1 && w.size(0) == E && w.is_floating_point(),
              "normalize_adjacency: expected a float edge_weight (", E, "), got ", w.scalar_type(), " ", w.sizes());
  const torch::Tensor source = edge_index[0], target = edge_index[1];
  const torch::Tensor degree = torch::zeros({num_nodes}, w.options()).index_add(0, target, w);
  // d^-1/2 with 0 where d = 0. pow is evaluated on 1 there so that no inf enters the graph: the
  // public code's in-place "inf -> 0" has the same value and no gradient flows through isolated
  // nodes either way (no edge reads them).
  const torch::Tensor isolated = degree == 0;
  const torch::Tensor inv_sqrt =
      torch::where(isolated, torch::zeros_like(degree), torch::where(isolated, torch::ones_like(degree), degree).pow(-0.5));
  NormalizedAdjacency adj;
  adj.edge_index = edge_index;
  adj.coefficient = inv_sqrt.index_select(0, target) * w * inv_sqrt.index_select(0, source);
  adj.num_nodes = num_nodes;
  return adj;
}

NodeGroups dialogue_groups(const torch::Tensor& lengths, int64_t num_blocks) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64 && num_blocks >= 1,
              "dialogue_groups: expected int64 lengths (B) and num_blocks >= 1, got ", lengths.sizes(), " and ",
              num_blocks);
  const int64_t B = lengths.size(0);
  const int64_t T = B > 0 ? lengths.max().item<int64_t>() : 0;
  const auto options = torch::TensorOptions().dtype(torch::kInt64).device(lengths.device());
  // One block: dialogue b's nodes are b repeated L_b times, slots 0..L_b-1.
  const torch::Tensor group1 = torch::repeat_interleave(torch::arange(B, options), lengths);
  const torch::Tensor starts = torch::cumsum(lengths, 0) - lengths;
  const torch::Tensor slot1 = torch::arange(group1.size(0), options) - starts.index_select(0, group1);
  NodeGroups g;
  g.group = group1.repeat({num_blocks});
  g.slot = (torch::arange(num_blocks, options) * T).repeat_interleave(group1.size(0)) + slot1.repeat({num_blocks});
  g.num_groups = B;
  g.num_slots = num_blocks * T;
  return g;
}

NormalizedAdjacency block_diagonal(NormalizedAdjacency adjacency, const NodeGroups& groups) {
  TORCH_CHECK(groups.group.dim() == 1 && groups.group.size(0) == adjacency.num_nodes &&
                  groups.slot.sizes() == groups.group.sizes(),
              "block_diagonal: expected group and slot of ", adjacency.num_nodes, " nodes, got ", groups.group.sizes(),
              " and ", groups.slot.sizes());
  const int64_t G = groups.num_groups, S = groups.num_slots;
  const torch::Tensor source = adjacency.edge_index[0], target = adjacency.edge_index[1];
  const torch::Tensor g = groups.group.index_select(0, target);
  TORCH_CHECK(torch::equal(g, groups.group.index_select(0, source)),
              "block_diagonal: an edge joins two different groups");
  const torch::Tensor flat = (g * S + groups.slot.index_select(0, target)) * S + groups.slot.index_select(0, source);
  adjacency.blocks =
      torch::zeros({G * S * S}, adjacency.coefficient.options()).index_add(0, flat, adjacency.coefficient).view({G, S, S});
  adjacency.node_slot = groups.group * S + groups.slot;
  return adjacency;
}

torch::Tensor propagate(const NormalizedAdjacency& adjacency, const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) == adjacency.num_nodes, "propagate: expected x (", adjacency.num_nodes,
              ", D), got ", x.sizes());
  if (adjacency.blocks.defined()) {
    const int64_t G = adjacency.blocks.size(0), S = adjacency.blocks.size(1), D = x.size(1);
    const torch::Tensor padded = torch::zeros({G * S, D}, x.options()).index_copy(0, adjacency.node_slot, x);
    return torch::bmm(adjacency.blocks, padded.view({G, S, D})).view({G * S, D}).index_select(0, adjacency.node_slot);
  }
  const torch::Tensor messages = x.index_select(0, adjacency.edge_index[0]) * adjacency.coefficient.unsqueeze(1);
  return torch::zeros_like(x).index_add(0, adjacency.edge_index[1], messages);
}

torch::Tensor dense_matrix(const NormalizedAdjacency& adjacency) {
  const int64_t N = adjacency.num_nodes;
  const torch::Tensor flat = adjacency.edge_index[1] * N + adjacency.edge_index[0];
  return torch::zeros({N * N}, adjacency.coefficient.options()).index_add(0, flat, adjacency.coefficient).view({N, N});
}

}  // namespace merc::nn
