#pragma once
// One heterogeneous graph of GraphSmile's GSF module (Li, Wang, Zeng, TPAMI 2025; public code
// lijfrank-open/GraphSmile module.py, HeterGConv_Edge + HeterGConvLayer + SGConv_Our). The nodes
// are two (or more) modality blocks stacked, x_0 = [f_m ; f_n] (K N, H), the edges come from
// heter_window_edges(), and with Â the normalised adjacency of normalized_adjacency.h:
//
//   x_i = Â (x_{i-1} W_i) + b_i                              i = 1..L   (SGConv_Our)
//   s   = x_0 + sum_i Dropout(LeakyReLU(x_i V_i + c_i))       (running sum of the fc_layers)
//
// and the output is s (split back into blocks by the caller). W_i, b_i ~ U(-1/sqrt(H), 1/sqrt(H));
// V_i, c_i are torch Linear defaults.
//
// Code details reproduced (each with a switch):
//   - edge weights: the public code gives every graph a learnable vector of 500000 ones and uses
//     its first E entries for the E edges in edge order, so a weight belongs to an edge POSITION
//     in the batch, not to a relation (EdgeWeights::kPosition, the default); kOnes uses weight 1.
//     merc stores `edge_weight_slots` entries and refuses a batch with more edges (the public code
//     would fail on its slice) instead of silently growing.
//   - identical initialisation: the L conv layers and the L MLPs are deep copies of ONE initialised
//     module (copy.deepcopy in _get_clones), so they start with the same weights
//     (identical_init = true, the default); false draws each independently.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/graph/normalized_adjacency.h"

namespace merc::nn {

enum class EdgeWeights { kPosition, kOnes };
// "position" / "ones"; anything else -> merc::Error listing both.
EdgeWeights parse_edge_weights(const std::string& name);

struct HeterGraphConvOptions {
  HeterGraphConvOptions(int64_t hidden_dim, int64_t num_layers) : hidden_dim_(hidden_dim), num_layers_(num_layers) {}
  TORCH_ARG(int64_t, hidden_dim);
  TORCH_ARG(int64_t, num_layers);
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(EdgeWeights, edge_weights) = EdgeWeights::kPosition;
  TORCH_ARG(int64_t, edge_weight_slots) = 500000;
  TORCH_ARG(bool, identical_init) = true;
};

class HeterGraphConvImpl : public torch::nn::Cloneable<HeterGraphConvImpl> {
 public:
  explicit HeterGraphConvImpl(HeterGraphConvOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  // x: (M, H) stacked blocks; edge_index: (2, E) int64 [source; target] in [0, M). Returns (M, H).
  // `groups` (optional, e.g. dialogue_groups()) switches propagation to the block-diagonal form.
  // E > edge_weight_slots with position weights -> merc::Error naming the option.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& edge_index, const NodeGroups& groups = {});

  HeterGraphConvOptions options;
  torch::Tensor edge_weight;                 // (edge_weight_slots) when kPosition, else undefined
  std::vector<torch::Tensor> conv_weights;   // L x (H, H)
  std::vector<torch::Tensor> conv_biases;    // L x (H)
  torch::nn::ModuleList mlps{nullptr};       // L x Linear(H, H)
};
TORCH_MODULE(HeterGraphConv);

}  // namespace merc::nn
