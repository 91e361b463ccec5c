#pragma once
// Segment reductions for message passing (what torch-scatter provides in Python; not packaged
// for Debian). An edge list is reduced onto its target nodes through index_add_, which has
// autograd in LibTorch:
//
//   scatter_sum(src, index, N)[i]  = sum_{e : index[e] = i} src[e]
//   scatter_mean(src, index, N)[i] = scatter_sum / max(1, #{e : index[e] = i})
//   scatter_softmax(s, index, N)[e] = exp(s[e]) / sum_{e' : index[e'] = index[e]} exp(s[e'])
//
// src: (E, ...) float, index: (E) int64 in [0, N). Nodes no edge reaches get 0 (sum, mean).

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

torch::Tensor scatter_sum(const torch::Tensor& src, const torch::Tensor& index, int64_t num_segments);
torch::Tensor scatter_mean(const torch::Tensor& src, const torch::Tensor& index, int64_t num_segments);
// scores: (E) float. Numerically stable: subtracts each segment's maximum first.
torch::Tensor scatter_softmax(const torch::Tensor& scores, const torch::Tensor& index, int64_t num_segments);

}  // namespace merc::nn
