#pragma once
// HRG-SSA's GAT over context windows (jicoder-nwpu/HRG-SSA gat_model.py GAT / GATLayer;
// method_reference.md §7.2), dense over each window's (S, S) adjacency ([target i][source j],
// hybrid_relational_graph.h). One layer, heads H x head_dim = d_model, x (n, d_model):
//
//   z = Dropout(x) viewed (n, H, head_dim)          (the release projects nothing before scoring)
//   s_ij = LeakyReLU_0.2( a_src . z_j + a_trg . z_i )   per head, for edges j -> i
//   alpha_i. = Dropout( softmax_j s_ij )             over i's sources
//   agg_i = sum_j alpha_ij z_j                       (n, H, head_dim) -> (n, d_model)
//   x <- x + Dropout( Linear( RMSNorm(agg) ) )       (Linear d_model -> d_model, no bias)
//
// This working aggregation is the default. The release computes agg and then overwrites it with z
// (`out_nodes_features = nodes_features_proj.view(...)`), so a layer is x + Dropout(Linear(RMSNorm(
// Dropout(x)))) and the edges have no effect: release_overwrite = true reproduces that (the scoring
// vectors are then not built, as they would get no gradient). The release's bias, concat and
// activation arguments are never applied in its forward, so they do not exist here.
// Initialisation as GATLayer.init_params: Linear weight normal std (d_model * d_model)^-1/2,
// a_src, a_trg normal std d_model^-1/2; RMSNorm weight ones.

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/t5/rms_norm.h"

namespace merc::nn {

struct WindowGatOptions {
  int64_t d_model = 128;
  int64_t num_heads = 4;    // head_dim = d_model / num_heads
  double dropout = 0.1;     // gat_config dropout (unpublished)
  bool release_overwrite = false;
  int64_t num_layers = 1;   // WindowGat only
};

class WindowGatLayerImpl : public torch::nn::Cloneable<WindowGatLayerImpl> {
 public:
  explicit WindowGatLayerImpl(const WindowGatOptions& options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // x: (N, S, d_model); adjacency: (N, S, S) bool [target][source], every row with at least one
  // source (self loops). Returns (N, S, d_model).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& adjacency);
  // The attention alpha (N, H, S, S) [target][source] before its dropout (tests; working mode).
  torch::Tensor attention(const torch::Tensor& z, const torch::Tensor& adjacency);

  WindowGatOptions options;
  // Release names: linear_proj, layer_norm, scoring_fn_source / scoring_fn_target (1, H, head_dim).
  torch::nn::Linear linear_proj{nullptr};
  t5::RmsNorm layer_norm{nullptr};
  torch::Tensor scoring_fn_source, scoring_fn_target;  // undefined with release_overwrite
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(WindowGatLayer);

// num_layers layers in sequence (the release's GAT: gat_config num_of_layers = --gat).
class WindowGatImpl : public torch::nn::Cloneable<WindowGatImpl> {
 public:
  explicit WindowGatImpl(const WindowGatOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& adjacency);

  WindowGatOptions options;
  torch::nn::ModuleList layers{nullptr};  // names gat_net.{i}
};
TORCH_MODULE(WindowGat);

}  // namespace merc::nn
