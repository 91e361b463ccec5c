#pragma once
// Finite-difference gradient check for the nn layer tests (LibTorch C++ has no gradcheck).
//
// For a function f of some double tensors, compares autograd's gradient of L = sum(f(...) * P)
// (P a fixed random probe, so every output element matters with a different weight) against
// central differences (L(t + h e_k) - L(t - h e_k)) / (2 h) for every element k of every tensor.
// In double with h = 1e-6 the truncation error is O(h^2 |L'''|) ~ 1e-12 and the rounding error
// ~ 1e-16 |L| / h ~ 1e-10 for |L| ~ 1, so callers can use tolerances around 1e-7.

#include <functional>
#include <vector>

#include <torch/torch.h>

namespace merc::nn::testing {

// Returns the largest |autograd - numeric| over all elements of all `tensors` (each must be a
// double leaf with requires_grad; they are perturbed in place and restored).
inline double max_gradient_error(const std::function<torch::Tensor()>& f, const std::vector<torch::Tensor>& tensors,
                                 double h = 1e-6) {
  torch::manual_seed(1234);
  const torch::Tensor probe = torch::randn_like(f().detach());
  for (const auto& t : tensors)
    if (t.grad().defined()) t.mutable_grad().zero_();
  (f() * probe).sum().backward();
  double worst = 0.0;
  for (const auto& t : tensors) {
    const torch::Tensor analytic = t.grad().defined() ? t.grad().clone() : torch::zeros_like(t);
    torch::NoGradGuard no_grad;
    auto flat = t.view({-1});
    auto flat_grad = analytic.view({-1});
    for (int64_t k = 0; k < flat.numel(); ++k) {
      const double orig = flat[k].item<double>();
      flat[k] = orig + h;
      const double up = (f() * probe).sum().item<double>();
      flat[k] = orig - h;
      const double down = (f() * probe).sum().item<double>();
      flat[k] = orig;
      const double numeric = (up - down) / (2 * h);
      worst = std::max(worst, std::abs(numeric - flat_grad[k].item<double>()));
    }
  }
  return worst;
}

}  // namespace merc::nn::testing
