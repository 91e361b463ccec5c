#pragma once
// HRG-SSA's implicit-connection detector (jicoder-nwpu/HRG-SSA gat_model.py Edge_Relation, called
// from runner.process_batch; method_reference.md §7.2). Over one window's node features x (n nodes)
// it scores every pair and adds edges the hybrid graph lacks:
//
//   r = W x                                  (W: Linear(in, out), no bias)
//   e[i][j] = ELU( f2(r_i) + f1(r_j) )       (f1, f2: Linear(out, 1), no bias; row i, column j as in
//                                             the release, which adds f_1 transposed to f_2)
//   e[i][j] /= max_j e[i][j]                  (row max over the window's nodes)
//   p[i] = softmax_j over j >= i             (the lower triangle is -inf)
//   keep (i, j) when p[i][j] > 1 / (n - i), i != j, and there is no edge i -> j yet
//   -> new edge i -> j (i < j: an earlier node sends to a later one)
//
// only in windows of more than 2 nodes. The result is a set of edges, so nothing is differentiable:
// the release's detector parameters never receive a gradient and keep their initial values
// (normal, std (in * out)^-1/2 for W and out^-1/2 for f1, f2, T5's initializer_factor 1). Here they
// are registered with requires_grad = false, and the scores run without autograd.
//
// Sizes: the release reads in/out_features from an unpublished config.json (edge_r_config); `in` is
// the node width (d_model), `out` is a choice (see docs/models/hrg_ssa.md).

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

struct ImplicitConnectionOptions {
  int64_t in_features = 128;   // node width
  int64_t out_features = 64;   // width of W x (edge_r_config out_features, unpublished)
};

struct ImplicitConnections {
  torch::Tensor adjacency;    // (N, S, S) bool [target][source]: the input adjacency plus the new edges
  torch::Tensor added;        // (N, S, S) bool [source i][target j]: the new edges i -> j (i < j)
  torch::Tensor probability;  // (N, S, S) float: p[i][j] (NaN or 0 where undefined), for inspection
};

class ImplicitConnectionDetectorImpl : public torch::nn::Cloneable<ImplicitConnectionDetectorImpl> {
 public:
  explicit ImplicitConnectionDetectorImpl(const ImplicitConnectionOptions& options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // x: (N, S, in) window node features; mask: (N, S) bool real slots (context_windows.h, real slots
  // first); adjacency: (N, S, S) bool [target][source] (hybrid_relational_graph.h).
  ImplicitConnections forward(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& adjacency);

  ImplicitConnectionOptions options;
  // Release names: seq_transformation_r (W), f_1, f_2.
  torch::nn::Linear seq_transformation_r{nullptr}, f_1{nullptr}, f_2{nullptr};
};
TORCH_MODULE(ImplicitConnectionDetector);

}  // namespace merc::nn
