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

torch::Tensor propagate(const NormalizedAdjacency& adjacency, const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) == adjacency.num_nodes, "propagate: expected x (", adjacency.num_nodes,
              ", D), got ", x.sizes());
  const torch::Tensor messages = x.index_select(0, adjacency.edge_index[0]) * adjacency.coefficient.unsqueeze(1);
  return torch::zeros_like(x).index_add(0, adjacency.edge_index[1], messages);
}

torch::Tensor dense_matrix(const NormalizedAdjacency& adjacency) {
  const int64_t N = adjacency.num_nodes;
  const torch::Tensor flat = adjacency.edge_index[1] * N + adjacency.edge_index[0];
  return torch::zeros({N * N}, adjacency.coefficient.options()).index_add(0, flat, adjacency.coefficient).view({N, N});
}

}  // namespace merc::nn
