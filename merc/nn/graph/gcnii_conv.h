#pragma once
// GCNII layer (Chen, Wei, Huang, Ding, Li, ICML 2020, "Simple and Deep Graph Convolutional
// Networks", Eq. 5) in the form MMGCN uses it (hujingwen6666/MMGCN model_GCN.py,
// GraphConvolution with variant=True; called with layer index l = 1, 2, ...):
//
//   theta_l = log(lambda / l + 1)
//   variant:     out = theta_l [Â h ; h0] W + (1 - theta_l) ((1 - alpha) Â h + alpha h0),  W (2H, H)
//   not variant: s = (1 - alpha) Â h + alpha h0;  out = theta_l s W + (1 - theta_l) s,   W (H, H)
//
// No bias. W ~ U(-1/sqrt(H), 1/sqrt(H)) as in the public code. The layer returns the value before
// the nonlinearity: MMGCN applies ReLU (h <- ReLU(out)) and dropout around it.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/graph/normalized_adjacency.h"

namespace merc::nn {

// log(lambda / layer + 1); layer >= 1.
double gcnii_theta(double lambda, int64_t layer);

struct GcniiConvOptions {
  explicit GcniiConvOptions(int64_t hidden_dim) : hidden_dim_(hidden_dim) {}
  TORCH_ARG(int64_t, hidden_dim);
  TORCH_ARG(double, lambda) = 0.5;
  TORCH_ARG(double, alpha) = 0.1;
  TORCH_ARG(bool, variant) = true;
};

class GcniiConvImpl : public torch::nn::Cloneable<GcniiConvImpl> {
 public:
  explicit GcniiConvImpl(GcniiConvOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  // h, h0: (N, H); layer: the 1-based depth l of this layer. Returns (N, H), before any activation.
  torch::Tensor forward(const torch::Tensor& h, const NormalizedAdjacency& adjacency, const torch::Tensor& h0,
                        int64_t layer);

  GcniiConvOptions options;
  torch::Tensor weight;  // (2H, H) when variant, else (H, H)
};
TORCH_MODULE(GcniiConv);

}  // namespace merc::nn
