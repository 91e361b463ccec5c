#include "merc/nn/graph/graph_conv.h"

#include <ostream>

#include "merc/nn/graph/scatter.h"

namespace merc::nn {

GraphConvImpl::GraphConvImpl(GraphConvOptions options_) : options(options_) { reset(); }

void GraphConvImpl::reset() {
  TORCH_CHECK(options.in_dim() > 0 && options.out_dim() > 0, "GraphConv: expected positive in_dim and out_dim, got ",
              options.in_dim(), ", ", options.out_dim());
  lin_neighbors = register_module(
      "lin_neighbors", torch::nn::Linear(torch::nn::LinearOptions(options.in_dim(), options.out_dim()).bias(options.bias())));
  lin_root = register_module("lin_root",
                             torch::nn::Linear(torch::nn::LinearOptions(options.in_dim(), options.out_dim()).bias(false)));
  reset_parameters();
}

void GraphConvImpl::reset_parameters() {
  // torch::nn::Linear's default (Kaiming-uniform weights, U(+-1/sqrt(in)) bias), as torch_geometric.
  lin_neighbors->reset_parameters();
  lin_root->reset_parameters();
}

void GraphConvImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::GraphConv(in_dim=" << options.in_dim() << ", out_dim=" << options.out_dim()
         << ", aggregation=" << (options.aggregation() == GraphAggregation::kSum ? "sum" : "mean")
         << ", bias=" << options.bias() << ")";
}

torch::Tensor GraphConvImpl::forward(const torch::Tensor& x, const torch::Tensor& edge_index,
                                     const torch::Tensor& edge_weight) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == options.in_dim(), "GraphConv: expected x (N, ", options.in_dim(),
              "), got ", x.sizes());
  TORCH_CHECK(edge_index.dim() == 2 && edge_index.size(0) == 2 && edge_index.scalar_type() == torch::kInt64,
              "GraphConv: expected int64 edge_index (2, E), got ", edge_index.scalar_type(), " ", edge_index.sizes());
  const int64_t E = edge_index.size(1), N = x.size(0);
  TORCH_CHECK(!edge_weight.defined() || (edge_weight.dim() == 1 && edge_weight.size(0) == E),
              "GraphConv: expected edge_weight (E) with E = ", E, " or none, got ", edge_weight.sizes());
  if (E > 0)
    TORCH_CHECK(edge_index.min().item<int64_t>() >= 0 && edge_index.max().item<int64_t>() < N,
                "GraphConv: expected node ids in [0, ", N, "), got [", edge_index.min().item<int64_t>(), ", ",
                edge_index.max().item<int64_t>(), "]");
  auto messages = x.index_select(0, edge_index[0]);
  if (edge_weight.defined()) messages = messages * edge_weight.unsqueeze(1);
  auto aggregated = options.aggregation() == GraphAggregation::kSum ? scatter_sum(messages, edge_index[1], N)
                                                                    : scatter_mean(messages, edge_index[1], N);
  return lin_neighbors(aggregated) + lin_root(x);
}

}  // namespace merc::nn
