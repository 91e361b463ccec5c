#include "merc/nn/graph/node_batch.h"

#include <c10/util/Exception.h>

namespace merc::nn {

torch::Tensor node_positions(const torch::Tensor& lengths, int64_t max_length) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64,
              "node_positions: expected int64 lengths (B), got ", lengths.scalar_type(), " ", lengths.sizes());
  const int64_t B = lengths.size(0);
  auto steps = torch::arange(max_length, lengths.options()).unsqueeze(0).expand({B, max_length});
  auto real = steps < lengths.unsqueeze(1);
  TORCH_CHECK(B == 0 || (lengths.min().item<int64_t>() >= 0 && lengths.max().item<int64_t>() <= max_length),
              "node_positions: expected lengths in [0, ", max_length, "], got ", lengths);
  return real.reshape({-1}).nonzero().reshape({-1});
}

torch::Tensor to_nodes(const torch::Tensor& padded, const torch::Tensor& positions) {
  TORCH_CHECK(padded.dim() == 3, "to_nodes: expected (B, T, D), got ", padded.sizes());
  return padded.reshape({padded.size(0) * padded.size(1), padded.size(2)}).index_select(0, positions);
}

torch::Tensor to_padded(const torch::Tensor& nodes, const torch::Tensor& positions, int64_t batch_size,
                        int64_t max_length) {
  TORCH_CHECK(nodes.dim() == 2 && nodes.size(0) == positions.size(0), "to_padded: expected nodes (N, D) with N = ",
              positions.size(0), ", got ", nodes.sizes());
  auto out = torch::zeros({batch_size * max_length, nodes.size(1)}, nodes.options());
  return out.index_copy(0, positions, nodes).view({batch_size, max_length, nodes.size(1)});
}

}  // namespace merc::nn
