#pragma once
// ODE initial-value solvers for neural ODE layers: y(t) from y(t0) = y0 and dy/dt = f(t, y), output at
// the requested times. The semantics (methods, tolerances, step control, dense output, adjoint) follow
// torchdiffeq (rtqichen/torchdiffeq, torchdiffeq/_impl/{dopri5,rk_common,misc,interp,solvers,
// fixed_grid,adjoint}.py), which the ported models were trained with; this is an independent C++
// implementation of those rules, not a translation of its code.
//
// Shapes: y0 is any floating tensor (*S); t is a 1-d tensor (T) of strictly increasing times; the
// result is (T, *S) with result[0] == y0 and result[i] ~ y(t[i]). f receives t as a 0-d tensor of y's
// dtype/device and y of shape (*S), and returns dy/dt of shape (*S).
//
// Methods (OdeOptions::method):
//  - euler, midpoint, rk4: fixed grid. step_size = 0 steps exactly from t[i] to t[i+1]; step_size > 0
//    uses the grid t0, t0 + h, t0 + 2h, ... with its last point moved onto t[T-1] (torchdiffeq
//    `_grid_constructor_from_step_size`), and outputs between grid points are linear interpolations.
//    rk4 is torchdiffeq's `rk4`, i.e. the 3/8-rule Runge-Kutta (`rk4_alt_step_func`).
//  - dopri5: adaptive Dormand-Prince 5(4) with FSAL, error ratio = RMS(err / (atol + rtol *
//    max(|y0|, |y1|))), accept when <= 1, next step dt * min(10, max(0.9 / ratio^(1/5), d)) with
//    d = 0.2 after a rejection and 1 after an acceptance (dt * 10 when ratio == 0), Hairer-Norsett-Wanner
//    initial step (torchdiffeq `_select_initial_step`, order 4), and output at t[i] by the 4th-order
//    interpolant through the Dormand-Prince-Shampine mid point (DPS_C_MID). Steps are not clipped to
//    t[T-1]: like torchdiffeq the last step may overshoot and f may be called beyond t[T-1].
//
// Gradients: odeint is differentiable by plain autograd through every solver step (memory grows with
// the number of steps); step-size control (error norm, step sizes, initial step) is computed on
// detached values and never differentiated. odeint_adjoint computes the same forward solution without
// a graph and back-propagates by solving the adjoint system backwards in time (memory independent of
// the number of steps). Neither gives a gradient w.r.t. t.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

namespace merc::nn {

// dy/dt = f(t, y); t is a 0-d tensor, y has the shape of y0.
using OdeFunc = std::function<torch::Tensor(const torch::Tensor& t, const torch::Tensor& y)>;

enum class OdeMethod { kEuler, kMidpoint, kRk4, kDopri5 };

// "euler" | "midpoint" | "rk4" | "dopri5"; anything else throws merc::UnknownNameError listing them.
OdeMethod parse_ode_method(std::string_view name);
std::string ode_method_name(OdeMethod method);

struct OdeOptions {
  OdeMethod method = OdeMethod::kDopri5;
  double rtol = 1e-7;  // torchdiffeq defaults (dopri5 only)
  double atol = 1e-9;
  double step_size = 0.0;  // fixed-grid methods: 0 = one step per interval of t
  // dopri5: the most steps (accepted + rejected, counted over the whole solve, not per output
  // interval as torchdiffeq does) before throwing merc::Error. Default torchdiffeq's 2^31 - 1.
  int64_t max_num_steps = 2147483647;
  double first_step = 0.0;  // dopri5: 0 = automatic (torchdiffeq _select_initial_step)
};

struct OdeStats {
  int64_t nfe = 0;             // evaluations of f (dopri5: 2 + 6 * (accepted + rejected))
  int64_t accepted_steps = 0;  // fixed grid: the number of grid steps
  int64_t rejected_steps = 0;
  double initial_step = 0.0;   // dopri5: the first step size tried (chosen or given)
};

// y0 (*S), t (T) strictly increasing -> (T, *S). `stats`, when given, receives the solve's counts.
torch::Tensor odeint(const OdeFunc& f, const torch::Tensor& y0, const torch::Tensor& t, const OdeOptions& options = {},
                     OdeStats* stats = nullptr);

// Same forward values as odeint; gradients by the adjoint method (torchdiffeq odeint_adjoint): the
// augmented state [y, a = dL/dy, a_p = dL/dparams] is integrated from t[T-1] back to t[0] with the same
// method and options, adding dL/dresult[i] to a at each t[i] and restarting y from the forward solution
// there; the error norm is the max of the RMS norms of the three parts (torchdiffeq's default adjoint
// norm). `params` lists every tensor f depends on that should get a gradient (e.g. a module's
// parameters(), which f captures); tensors among them that do not require grad get none. `stats`
// receives the forward solve's counts only.
torch::Tensor odeint_adjoint(const OdeFunc& f, const torch::Tensor& y0, const torch::Tensor& t,
                             const OdeOptions& options, const std::vector<torch::Tensor>& params,
                             OdeStats* stats = nullptr);

}  // namespace merc::nn
