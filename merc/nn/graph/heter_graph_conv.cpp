#include "merc/nn/graph/heter_graph_conv.h"

#include <cmath>
#include <ostream>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>

#include "merc/core/error.h"
#include "merc/nn/graph/normalized_adjacency.h"

namespace merc::nn {

EdgeWeights parse_edge_weights(const std::string& name) {
  if (name == "position") return EdgeWeights::kPosition;
  if (name == "ones") return EdgeWeights::kOnes;
  throw Error(fmt::format("unknown edge_weights '{}' (expected position or ones)", name));
}

HeterGraphConvImpl::HeterGraphConvImpl(HeterGraphConvOptions options_) : options(std::move(options_)) { reset(); }

void HeterGraphConvImpl::reset() {
  const int64_t H = options.hidden_dim(), L = options.num_layers();
  MERC_CHECK(H > 0 && L >= 0, "HeterGraphConv: hidden_dim must be positive and num_layers >= 0, got {} and {}", H, L);
  MERC_CHECK(options.dropout() >= 0 && options.dropout() < 1, "HeterGraphConv: dropout must be in [0, 1), got {}",
             options.dropout());
  if (options.edge_weights() == EdgeWeights::kPosition) {
    MERC_CHECK(options.edge_weight_slots() > 0, "HeterGraphConv: edge_weight_slots must be positive, got {}",
               options.edge_weight_slots());
    edge_weight = register_parameter("edge_weight", torch::ones({options.edge_weight_slots()}));
  }
  conv_weights.clear();
  conv_biases.clear();
  mlps = register_module("mlps", torch::nn::ModuleList());
  for (int64_t i = 0; i < L; ++i) {
    conv_weights.push_back(register_parameter("conv_weight_" + std::to_string(i), torch::empty({H, H})));
    conv_biases.push_back(register_parameter("conv_bias_" + std::to_string(i), torch::empty({H})));
    mlps->push_back(torch::nn::Linear(H, H));
  }
  reset_parameters();
}

void HeterGraphConvImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.hidden_dim()));
  if (edge_weight.defined()) edge_weight.fill_(1.0);
  for (size_t i = 0; i < conv_weights.size(); ++i) {
    torch::nn::init::uniform_(conv_weights[i], -bound, bound);
    torch::nn::init::uniform_(conv_biases[i], -bound, bound);
    mlps[i]->as<torch::nn::Linear>()->reset_parameters();
  }
  if (options.identical_init() && !conv_weights.empty()) {
    auto first = mlps[0]->as<torch::nn::Linear>();
    for (size_t i = 1; i < conv_weights.size(); ++i) {
      conv_weights[i].copy_(conv_weights[0]);
      conv_biases[i].copy_(conv_biases[0]);
      auto mlp = mlps[i]->as<torch::nn::Linear>();
      mlp->weight.copy_(first->weight);
      mlp->bias.copy_(first->bias);
    }
  }
}

void HeterGraphConvImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::HeterGraphConv(hidden_dim=" << options.hidden_dim() << ", num_layers=" << options.num_layers()
         << ", edge_weights=" << (options.edge_weights() == EdgeWeights::kPosition ? "position" : "ones")
         << ", identical_init=" << options.identical_init() << ")";
}

torch::Tensor HeterGraphConvImpl::forward(const torch::Tensor& x, const torch::Tensor& edge_index,
                                          const NodeGroups& groups) {
  MERC_CHECK(x.dim() == 2 && x.size(1) == options.hidden_dim(),
             "HeterGraphConv: expected x (M, {}), got a tensor with {} dims and last dim {}", options.hidden_dim(),
             x.dim(), x.dim() > 0 ? x.size(-1) : 0);
  const int64_t E = edge_index.size(1);
  torch::Tensor weight;
  if (edge_weight.defined()) {
    MERC_CHECK(E <= edge_weight.size(0),
               "HeterGraphConv: the batch has {} heterogeneous edges but model.edge_weight_slots is {} (GraphSmile's "
               "position-indexed edge weights); raise edge_weight_slots or use edge_weights: ones",
               E, edge_weight.size(0));
    weight = edge_weight.narrow(0, 0, E);
  }
  NormalizedAdjacency adj = normalize_adjacency(edge_index, weight, x.size(0));
  if (groups.group.defined()) adj = block_diagonal(std::move(adj), groups);
  torch::Tensor f = x, sum = x;
  for (size_t i = 0; i < conv_weights.size(); ++i) {
    f = propagate(adj, f.mm(conv_weights[i])) + conv_biases[i];
    torch::Tensor g = torch::leaky_relu(mlps[i]->as<torch::nn::Linear>()->forward(f));
    sum = sum + torch::dropout(g, options.dropout(), is_training());
  }
  return sum;
}

}  // namespace merc::nn
