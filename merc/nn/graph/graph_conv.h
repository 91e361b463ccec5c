#pragma once
// GraphConv (Morris et al., AAAI 2019, "Weisfeiler and Leman Go Neural", the torch_geometric
// layer of the same name), the second graph layer of DialogueGCN (Eq. 3):
//
//   h_i = W_1 x_i + W_2 AGG_{j -> i} (w_{j->i} x_j) + b,    AGG = sum (default) or mean
//
// with w = 1 when no edge weights are given. Messages are summed onto targets with index_add_.
// No nonlinearity: the caller applies one if it wants.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

enum class GraphAggregation { kSum, kMean };

struct GraphConvOptions {
  GraphConvOptions(int64_t in_dim, int64_t out_dim) : in_dim_(in_dim), out_dim_(out_dim) {}
  TORCH_ARG(int64_t, in_dim);
  TORCH_ARG(int64_t, out_dim);
  TORCH_ARG(GraphAggregation, aggregation) = GraphAggregation::kSum;
  TORCH_ARG(bool, bias) = true;
};

class GraphConvImpl : public torch::nn::Cloneable<GraphConvImpl> {
 public:
  explicit GraphConvImpl(GraphConvOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  // x: (N, in_dim); edge_index: (2, E) int64 [source; target]; edge_weight: (E) or undefined.
  // Returns (N, out_dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& edge_index,
                        const torch::Tensor& edge_weight = {});

  GraphConvOptions options;
  torch::nn::Linear lin_neighbors{nullptr};  // W_2 and the bias b
  torch::nn::Linear lin_root{nullptr};       // W_1, no bias
};
TORCH_MODULE(GraphConv);

}  // namespace merc::nn
