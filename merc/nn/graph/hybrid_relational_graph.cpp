#include "merc/nn/graph/hybrid_relational_graph.h"

#include <cmath>

#include "merc/core/error.h"

namespace merc::nn {

HybridRelationalGraph hybrid_relational_graph(const ContextWindows& windows, const torch::Tensor& node_speaker) {
  MERC_CHECK(node_speaker.dim() == 1 && node_speaker.scalar_type() == torch::kInt64,
             "hybrid relational graph: node_speaker must be int64 (num_nodes), got {} {}",
             c10::toString(node_speaker.scalar_type()), node_speaker.sizes());
  const int64_t N = windows.num_windows(), S = windows.slots();
  const auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(node_speaker.device());
  const auto iopts = torch::TensorOptions().dtype(torch::kInt64).device(node_speaker.device());
  const torch::Tensor speaker = node_speaker.index_select(0, windows.node.reshape({-1})).view({N, S});
  const torch::Tensor i = torch::arange(S, iopts).view({1, S, 1});
  const torch::Tensor j = torch::arange(S, iopts).view({1, 1, S});
  const torch::Tensor both_real = windows.mask.unsqueeze(2) & windows.mask.unsqueeze(1);  // (N, S, S)
  const torch::Tensor earlier = (j < i) & both_real;
  const torch::Tensor same_speaker = speaker.unsqueeze(2) == speaker.unsqueeze(1);
  const torch::Tensor adjacent = (j == i - 1) & both_real;
  const torch::Tensor cognate = earlier & same_speaker;
  // 1 + e^{j - i}: equals 1 + e^{-1} on the adjacency diagonal, so the two rules agree where both apply.
  const torch::Tensor relation = 1.0 + torch::exp((j - i).to(torch::kFloat32));
  HybridRelationalGraph g;
  g.weight = torch::where(adjacent | cognate, relation.expand({N, S, S}), torch::zeros({N, S, S}, fopts));
  g.adjacency = (g.weight > 0) | torch::eye(S, iopts.dtype(torch::kBool)).unsqueeze(0);
  return g;
}

std::vector<std::pair<int64_t, int64_t>> window_edge_list(const torch::Tensor& adjacency, int64_t size) {
  MERC_CHECK(adjacency.dim() == 2 && adjacency.size(0) == adjacency.size(1) && size <= adjacency.size(0),
             "window_edge_list: adjacency must be (S, S) with S >= size {}, got {}", size, adjacency.sizes());
  const torch::Tensor a = adjacency.to(torch::kCPU).to(torch::kBool).contiguous();
  const auto acc = a.accessor<bool, 2>();
  std::vector<std::pair<int64_t, int64_t>> edges;
  for (int64_t t = 0; t < size; ++t) {
    if (acc[t][t]) edges.emplace_back(t, t);
    for (int64_t s = 0; s < t; ++s)
      if (acc[t][s]) edges.emplace_back(s, t);
  }
  // Edges to an earlier target (none in the hybrid graph itself) come last.
  for (int64_t t = 0; t < size; ++t)
    for (int64_t s = t + 1; s < size; ++s)
      if (acc[t][s]) edges.emplace_back(s, t);
  return edges;
}

}  // namespace merc::nn
