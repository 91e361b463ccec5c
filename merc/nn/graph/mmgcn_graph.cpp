#include "merc/nn/graph/mmgcn_graph.h"

#include <algorithm>
#include <vector>

#include <c10/util/Exception.h>
#include <torch/nn/functional/normalization.h>

namespace merc::nn {

namespace {
constexpr double kMmgcnNormFloor = 1e-12;  // below it a feature vector counts as zero (cosine 0)
constexpr double kMmgcnPi = 3.14159265358979323846;
}  // namespace

torch::Tensor mmgcn_edges(const torch::Tensor& lengths, int64_t num_blocks) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64,
              "mmgcn_edges: expected int64 lengths (B), got ", lengths.scalar_type(), " ", lengths.sizes());
  TORCH_CHECK(num_blocks >= 1, "mmgcn_edges: expected at least one modality block, got ", num_blocks);
  const torch::Tensor len_cpu = lengths.to(torch::kCPU).contiguous();
  const int64_t* len = len_cpu.data_ptr<int64_t>();
  int64_t N = 0;
  for (int64_t b = 0; b < len_cpu.size(0); ++b) {
    TORCH_CHECK(len[b] >= 0, "mmgcn_edges: negative dialogue length ", len[b], " at index ", b);
    N += len[b];
  }
  std::vector<int64_t> source, target;
  int64_t start = 0;
  for (int64_t b = 0; b < len_cpu.size(0); ++b) {
    const int64_t L = len[b];
    for (int64_t m = 0; m < num_blocks; ++m)
      for (int64_t i = 0; i < L; ++i)
        for (int64_t j = 0; j < L; ++j) {
          target.push_back(m * N + start + i);
          source.push_back(m * N + start + j);
        }
    for (int64_t m = 0; m < num_blocks; ++m)
      for (int64_t n = 0; n < num_blocks; ++n) {
        if (m == n) continue;
        for (int64_t k = 0; k < L; ++k) {
          target.push_back(m * N + start + k);
          source.push_back(n * N + start + k);
        }
      }
    start += L;
  }
  const auto E = static_cast<int64_t>(source.size());
  torch::Tensor edges = torch::empty({2, E}, torch::kInt64);
  std::copy(source.begin(), source.end(), edges.data_ptr<int64_t>());
  std::copy(target.begin(), target.end(), edges.data_ptr<int64_t>() + E);
  return edges.to(lengths.device());
}

torch::Tensor angular_similarity(const torch::Tensor& nodes, const torch::Tensor& edge_index) {
  TORCH_CHECK(nodes.dim() == 2, "angular_similarity: expected nodes (N, D), got ", nodes.sizes());
  namespace F = torch::nn::functional;
  const torch::Tensor unit = F::normalize(nodes, F::NormalizeFuncOptions().dim(1).eps(kMmgcnNormFloor));
  const torch::Tensor cosine = (unit.index_select(0, edge_index[0]) * unit.index_select(0, edge_index[1])).sum(1);
  return 1.0 - torch::acos(cosine * kMmgcnCosineScale) / kMmgcnPi;
}

NormalizedAdjacency mmgcn_adjacency(const std::vector<torch::Tensor>& blocks, const torch::Tensor& lengths) {
  TORCH_CHECK(!blocks.empty(), "mmgcn_adjacency: no modality block");
  for (const auto& b : blocks)
    TORCH_CHECK(b.dim() == 2 && b.sizes() == blocks[0].sizes(), "mmgcn_adjacency: every block must be (N, D) of ",
                blocks[0].sizes(), ", got ", b.sizes());
  const torch::Tensor nodes = torch::cat(blocks, 0);
  const torch::Tensor edges = mmgcn_edges(lengths, static_cast<int64_t>(blocks.size()));
  TORCH_CHECK(nodes.size(0) == static_cast<int64_t>(blocks.size()) * lengths.sum().item<int64_t>(),
              "mmgcn_adjacency: blocks have ", blocks[0].size(0), " rows but the lengths sum to ",
              lengths.sum().item<int64_t>());
  const auto K = static_cast<int64_t>(blocks.size());
  return block_diagonal(normalize_adjacency(edges, angular_similarity(nodes, edges), nodes.size(0)),
                        dialogue_groups(lengths, K));
}

}  // namespace merc::nn
