#pragma once
// M3Net's hypergraph layer (feiyuchen7/M3NET HypergraphConv.py, without attention as constructed
// in model_hyper.py), D -> D:
//
//   out = LeakyReLU( D^-1 H B^-1 H^T X + bias )                      (negative slope 0.01)
//   D_v = sum_{e containing v} w_e          (w: hyperedge weights, learnable in M3Net)
//   B_e = sum_{incidences (v, e)} ew        (ew: the "EW_weight" of the incidence, see below)
// with 1/0 -> 0. Two scatter steps: hyperedge features B_e^-1 sum_{v in e} x_v, then node
// features D_v^-1 sum_{e containing v} (hyperedge feature). The reference's `weight` matrix is
// created but never applied (nor are `edgeweight` and `edgefc`); they are not created here.
//
// `ew` is given per incidence. M3Net's code indexes its EW_weight parameter by the incidence's
// NODE id (quirk, method_reference.md §3.1); the caller decides (m3net.cpp) and passes the
// gathered per-incidence values.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/graph/multimodal_edges.h"

namespace merc::nn {

class HypergraphConvImpl : public torch::nn::Cloneable<HypergraphConvImpl> {
 public:
  explicit HypergraphConvImpl(int64_t dim);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // x: (N, D); h: incidence list; hyperedge_weight: (num_hyperedges); incidence_weight: (I).
  // Returns (N, D).
  torch::Tensor forward(const torch::Tensor& x, const HyperIncidence& h, const torch::Tensor& hyperedge_weight,
                        const torch::Tensor& incidence_weight);

  int64_t dim;
  torch::Tensor bias;  // (D), zeros at init as in the reference
};
TORCH_MODULE(HypergraphConv);

}  // namespace merc::nn
