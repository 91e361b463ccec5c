#include "merc/nn/graph/graph_ode_block.h"

#include <ostream>
#include <string>

#include "merc/core/error.h"

namespace merc::nn {

GraphOdeBlockImpl::GraphOdeBlockImpl(GraphOdeBlockOptions options_) : options(std::move(options_)) { reset(); }

void GraphOdeBlockImpl::reset() {
  const int64_t H = options.hidden_dim();
  MERC_CHECK(H > 0, "GraphOdeBlock: hidden_dim must be positive, got {}", H);
  MERC_CHECK(options.discrete_steps() >= 0, "GraphOdeBlock: discrete_steps must be >= 0, got {}",
             options.discrete_steps());
  w1 = register_module("w1", torch::nn::Linear(2 * H, H));
  w2 = register_module("w2", torch::nn::Linear(H, H));
  stats_ = {};
}

void GraphOdeBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::GraphOdeBlock(hidden_dim=" << options.hidden_dim();
  if (options.discrete_steps() > 0)
    stream << ", discrete_steps=" << options.discrete_steps();
  else
    stream << ", method=" << ode_method_name(options.ode().method) << ", rtol=" << options.ode().rtol
           << ", atol=" << options.ode().atol << ", adjoint=" << (options.adjoint() ? "true" : "false");
  stream << ")";
}

torch::Tensor GraphOdeBlockImpl::derivative(const torch::Tensor& h, const torch::Tensor& A) {
  return w2(torch::tanh(w1(torch::cat({h, torch::matmul(A, h)}, -1))));
}

torch::Tensor GraphOdeBlockImpl::forward(const torch::Tensor& h, const torch::Tensor& A) {
  const int64_t H = options.hidden_dim();
  MERC_CHECK((h.dim() == 2 || h.dim() == 3) && h.size(-1) == H, "GraphOdeBlock: expected h (N, {0}) or (B, T, {0}), got {1}",
             H, h.sizes());
  const int64_t n = h.size(-2);
  const bool shapes_match = h.dim() == 2 ? (A.dim() == 2 && A.size(0) == n && A.size(1) == n)
                                         : (A.dim() == 3 && A.size(0) == h.size(0) && A.size(1) == n && A.size(2) == n);
  MERC_CHECK(shapes_match, "GraphOdeBlock: h {} needs A ({}{}, {}), got {}", h.sizes(),
             h.dim() == 3 ? std::to_string(h.size(0)) + ", " : std::string(), n, n, A.sizes());
  const int64_t K = options.discrete_steps();
  if (K > 0) {
    torch::Tensor x = h;
    for (int64_t k = 0; k < K; ++k) x = x + derivative(x, A) / static_cast<double>(K);
    stats_ = {};
    stats_.nfe = K;
    stats_.accepted_steps = K;
    stats_.initial_step = 1.0 / static_cast<double>(K);
    return x;
  }
  // A by value: odeint_adjoint keeps f for the backward pass, after the caller's A may be gone.
  const OdeFunc f = [this, A](const torch::Tensor&, const torch::Tensor& y) { return derivative(y, A); };
  const torch::Tensor t = torch::tensor({0.0, 1.0}, h.options().requires_grad(false));
  OdeStats stats;
  torch::Tensor out;
  if (options.adjoint()) {
    std::vector<torch::Tensor> params = parameters();
    params.push_back(A);  // gets a gradient only when it requires one
    out = odeint_adjoint(f, h, t, options.ode(), params, &stats);
  } else {
    out = odeint(f, h, t, options.ode(), &stats);
  }
  stats_ = stats;
  return out[1];
}

}  // namespace merc::nn
