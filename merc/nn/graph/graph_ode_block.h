#pragma once
// The graph neural ODE of CADGL's deleted draft (premiree/CDAGL 6872dbc:model.py, GraphODEFunc +
// DGODE.forward; docs: method_reference.md §8.2): node states h (N, H) evolve under
//
//   dh/dt = f(h) = W2 tanh(W1 [h ‖ A h])          W1 = Linear(2H, H), W2 = Linear(H, H) (with biases)
//
// for a fixed dense adjacency A (N, N) (e.g. dynamic_conversation_graph()), from h(0) = the input to
// the output h(1): t in [0, 1], f does not depend on t. Two modes:
//
//   - continuous (discrete_steps = 0, default): h(1) by merc's odeint (nn/ode/odeint.h) with
//     `ode` options (default dopri5, rtol 1e-7, atol 1e-9: torchdiffeq's defaults, which the draft's
//     odeint(..., method='dopri5') used), or odeint_adjoint when `adjoint` is set (gradients for W1,
//     W2, the input h and, when it requires grad, A).
//   - discrete (discrete_steps = K > 0): K residual layers with shared weights,
//       h_0 = input,  h_k = h_{k-1} + (1/K) f(h_{k-1})   for k = 1..K,  output h_K
//     i.e. exactly forward Euler with K equal steps on [0, 1] (a merc ablation, not in the draft;
//     plain autograd, `ode` and `adjoint` are ignored).
//
// last_stats() describes the latest forward: odeint's OdeStats (nfe = evaluations of f) in the
// continuous mode; nfe = accepted_steps = K, rejected_steps = 0, initial_step = 1/K in the discrete one.
// Initialisation: torch Linear defaults.

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/ode/odeint.h"

namespace merc::nn {

struct GraphOdeBlockOptions {
  explicit GraphOdeBlockOptions(int64_t hidden_dim) : hidden_dim_(hidden_dim) {}
  TORCH_ARG(int64_t, hidden_dim);
  TORCH_ARG(OdeOptions, ode) = {};
  TORCH_ARG(bool, adjoint) = false;
  TORCH_ARG(int64_t, discrete_steps) = 0;  // 0 = continuous (odeint); K > 0 = K Euler layers
};

class GraphOdeBlockImpl : public torch::nn::Cloneable<GraphOdeBlockImpl> {
 public:
  explicit GraphOdeBlockImpl(GraphOdeBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // f(h) = W2 tanh(W1 [h ‖ A h]); h (N, H), A (N, N) -> (N, H), or batched: h (B, T, H), A (B, T, T)
  // -> (B, T, H) (one graph per dialogue, A h by bmm; rows of A at padding should be 0).
  torch::Tensor derivative(const torch::Tensor& h, const torch::Tensor& A);

  // h (N, H), A (N, N) -> h(1) (N, H); or h (B, T, H), A (B, T, T) -> (B, T, H). One solve for the
  // whole tensor either way (dopri5's error norm, hence its steps, is shared by all nodes).
  // Bad shapes -> merc::Error naming them.
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& A);

  const OdeStats& last_stats() const { return stats_; }

  GraphOdeBlockOptions options;
  torch::nn::Linear w1{nullptr}, w2{nullptr};

 private:
  OdeStats stats_;
};
TORCH_MODULE(GraphOdeBlock);

}  // namespace merc::nn
