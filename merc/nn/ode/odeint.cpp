#include "merc/nn/ode/odeint.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include <torch/autograd.h>
#include <torch/torch.h>

#include "merc/core/error.h"

// Semantics from torchdiffeq (rtqichen/torchdiffeq, _impl/): see odeint.h. Time is kept in double
// (torchdiffeq keeps time-like values in float64 too); f receives it as a 0-d tensor of y's dtype.

namespace merc::nn {

namespace ode_detail {

// Splits of the flattened state for the error norm: max over parts of each part's RMS
// (torchdiffeq _rms_norm for one part, _mixed_norm for the adjoint's several).
using NormParts = std::vector<int64_t>;

double mixed_rms(const torch::Tensor& x, const NormParts& parts) {
  const torch::Tensor flat = x.detach().reshape({-1}).to(torch::kFloat64);
  if (parts.empty()) return flat.numel() == 0 ? 0.0 : flat.pow(2).mean().sqrt().item<double>();
  double worst = 0.0;
  int64_t start = 0;
  for (const int64_t n : parts) {
    if (n > 0) worst = std::max(worst, flat.slice(0, start, start + n).pow(2).mean().sqrt().item<double>());
    start += n;
  }
  return worst;
}

torch::Tensor time_tensor(double t, const torch::Tensor& like) {
  return torch::scalar_tensor(t, torch::TensorOptions().dtype(like.scalar_type()).device(like.device()));
}

// y + dt * sum_j w[j] k[j] (zero weights skipped).
template <size_t N>
torch::Tensor combine(const torch::Tensor& y, double dt, const std::array<double, N>& w,
                      const std::vector<torch::Tensor>& k) {
  torch::Tensor acc;
  for (size_t j = 0; j < N && j < k.size(); ++j) {
    if (w[j] == 0.0) continue;
    const torch::Tensor term = k[j] * (dt * w[j]);
    acc = acc.defined() ? acc + term : term;
  }
  return acc.defined() ? y + acc : y;
}

// ---- Dormand-Prince 5(4) tableau (torchdiffeq dopri5.py / rk_common.py). ----
constexpr std::array<double, 6> kAlpha = {1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0};
const std::array<std::array<double, 6>, 6> kBeta = {{
    {1.0 / 5, 0, 0, 0, 0, 0},
    {3.0 / 40, 9.0 / 40, 0, 0, 0, 0},
    {44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0, 0},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0, 0},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656, 0},
    {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},  // = 5th-order weights (FSAL)
}};
// 5th-order solution minus the embedded 4th-order one.
const std::array<double, 7> kErr = {35.0 / 384 - 1951.0 / 21600,
                                    0.0,
                                    500.0 / 1113 - 22642.0 / 50085,
                                    125.0 / 192 - 451.0 / 720,
                                    -2187.0 / 6784 - -12231.0 / 42400,
                                    11.0 / 84 - 649.0 / 6300,
                                    -1.0 / 60};
// y(t0 + dt/2) ~ y0 + dt * sum_j kMid[j] k[j] (Shampine's dense output mid point, DPS_C_MID).
const std::array<double, 7> kMid = {6025192743.0 / 30085553152 / 2,     0.0,
                                    51252292925.0 / 65400821598 / 2,    -2691868925.0 / 45128329728 / 2,
                                    187940372067.0 / 1594534317056 / 2, -1776094331.0 / 19743644256 / 2,
                                    11237099.0 / 235043384 / 2};

constexpr double kSafety = 0.9, kIfactor = 10.0, kDfactor = 0.2;
constexpr int kOrder = 5;

// Hairer, Norsett & Wanner II.4 starting step as in torchdiffeq _select_initial_step (order 4).
double select_initial_step(const OdeFunc& f, double t0, const torch::Tensor& y0, const torch::Tensor& f0,
                           double rtol, double atol, const NormParts& parts) {
  torch::NoGradGuard no_grad;
  const torch::Tensor y = y0.detach(), fy = f0.detach();
  const torch::Tensor scale = atol + y.abs() * rtol;
  const double d0 = mixed_rms(y / scale, parts), d1 = mixed_rms(fy / scale, parts);
  const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  const torch::Tensor f1 = f(time_tensor(t0 + h0, y), y + h0 * fy);
  const double d2 = mixed_rms((f1 - fy) / scale, parts) / h0;
  const double h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? std::max(1e-6, h0 * 1e-3)
                                                   : std::pow(0.01 / std::max(d1, d2), 1.0 / (4 + 1));
  return std::min(100 * h0, h1);
}

// torchdiffeq _optimal_step_size.
double optimal_step(double dt, double ratio) {
  if (ratio == 0.0) return dt * kIfactor;
  if (!std::isfinite(ratio)) return dt * kDfactor;  // NaN/inf error: shrink (torchdiffeq would produce NaN)
  const double dfactor = ratio < 1.0 ? 1.0 : kDfactor;
  return dt * std::min(kIfactor, std::max(kSafety / std::pow(ratio, 1.0 / kOrder), dfactor));
}

std::vector<torch::Tensor> solve_dopri5(const OdeFunc& f, const torch::Tensor& y0, const std::vector<double>& ts,
                                        const OdeOptions& o, OdeStats& stats, const NormParts& parts) {
  std::vector<torch::Tensor> out{y0};
  torch::Tensor y = y0, fy = f(time_tensor(ts[0], y0), y0);
  double dt = o.first_step > 0 ? o.first_step : select_initial_step(f, ts[0], y0, fy, o.rtol, o.atol, parts);
  stats.initial_step = dt;
  // Interpolant on [t_lo, t_hi]: p(x) = a x^4 + b x^3 + c x^2 + d x + e, x = (t - t_lo) / (t_hi - t_lo).
  std::array<torch::Tensor, 5> coeff;
  double t_lo = ts[0], t_hi = ts[0];
  int64_t steps = 0;
  std::vector<torch::Tensor> k(7);
  for (size_t i = 1; i < ts.size(); ++i) {
    while (ts[i] > t_hi) {
      if (steps >= o.max_num_steps)
        throw Error(fmt::format("odeint(dopri5): max_num_steps = {} exceeded at t = {} while integrating to t = {} "
                                "(rtol {}, atol {}); loosen the tolerances or raise max_num_steps",
                                o.max_num_steps, t_hi, ts[i], o.rtol, o.atol));
      ++steps;
      const double t0 = t_hi, t1 = t0 + dt;
      MERC_CHECK(t1 > t0, "odeint(dopri5): step size underflow (dt = {}) at t = {}", dt, t0);
      {
        torch::NoGradGuard no_grad;
        MERC_CHECK(torch::isfinite(y.detach()).all().item<bool>(), "odeint(dopri5): non-finite state at t = {}", t0);
      }
      k[0] = fy;
      torch::Tensor yi;
      for (size_t s = 0; s < 6; ++s) {
        yi = combine(y, dt, kBeta[s], k);
        // Stages at alpha == 1 use t1 itself (not t0 + dt) like torchdiffeq.
        const double ti = kAlpha[s] == 1.0 ? t1 : t0 + kAlpha[s] * dt;
        k[s + 1] = f(time_tensor(ti, y), yi);
      }
      stats.nfe += 6;
      const torch::Tensor y1 = yi;  // the last stage's input is the 5th-order solution (FSAL)
      double ratio;
      {
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> kd(7);
        for (size_t j = 0; j < 7; ++j) kd[j] = k[j].detach();
        const torch::Tensor err = combine(torch::zeros_like(kd[0]), dt, kErr, kd);
        const torch::Tensor tol = o.atol + o.rtol * torch::max(y.detach().abs(), y1.detach().abs());
        ratio = mixed_rms(err / tol, parts);
      }
      if (ratio <= 1.0) {
        const torch::Tensor y_mid = combine(y, dt, kMid, k);
        const torch::Tensor &f0 = k[0], &f1 = k[6];
        coeff[0] = (f1 - f0) * (2 * dt) - 8 * y - 8 * y1 + 16 * y_mid;
        coeff[1] = f0 * (5 * dt) - f1 * (3 * dt) + 18 * y + 14 * y1 - 32 * y_mid;
        coeff[2] = f0 * (-4 * dt) + f1 * dt - 11 * y - 5 * y1 + 16 * y_mid;
        coeff[3] = f0 * dt;
        coeff[4] = y;
        t_lo = t0;
        t_hi = t1;
        y = y1;
        fy = f1;
        ++stats.accepted_steps;
      } else {
        ++stats.rejected_steps;
      }
      dt = optimal_step(dt, ratio);
    }
    const double x = (ts[i] - t_lo) / (t_hi - t_lo);
    out.push_back((((coeff[0] * x + coeff[1]) * x + coeff[2]) * x + coeff[3]) * x + coeff[4]);
  }
  return out;
}

// One fixed-grid increment y1 - y0 (torchdiffeq fixed_grid.py; rk4 = the 3/8 rule).
torch::Tensor fixed_increment(OdeMethod m, const OdeFunc& f, double t0, double dt, double t1, const torch::Tensor& y,
                              OdeStats& stats) {
  const torch::Tensor k1 = f(time_tensor(t0, y), y);
  switch (m) {
    case OdeMethod::kEuler:
      stats.nfe += 1;
      return k1 * dt;
    case OdeMethod::kMidpoint:
      stats.nfe += 2;
      return f(time_tensor(t0 + 0.5 * dt, y), y + k1 * (0.5 * dt)) * dt;
    case OdeMethod::kRk4: {
      stats.nfe += 4;
      const torch::Tensor k2 = f(time_tensor(t0 + dt / 3, y), y + k1 * (dt / 3));
      const torch::Tensor k3 = f(time_tensor(t0 + dt * 2 / 3, y), y + (k2 - k1 / 3) * dt);
      const torch::Tensor k4 = f(time_tensor(t1, y), y + (k1 - k2 + k3) * dt);
      return (k1 + 3 * (k2 + k3) + k4) * (dt / 8);
    }
    default:
      throw Error("odeint: not a fixed-grid method");
  }
}

std::vector<torch::Tensor> solve_fixed(const OdeFunc& f, const torch::Tensor& y0, const std::vector<double>& ts,
                                       const OdeOptions& o, OdeStats& stats) {
  std::vector<double> grid;
  if (o.step_size == 0.0) {
    grid = ts;
  } else {
    const double n = std::ceil((ts.back() - ts.front()) / o.step_size + 1);
    for (int64_t j = 0; j < static_cast<int64_t>(n); ++j) grid.push_back(ts.front() + j * o.step_size);
    // torchdiffeq clamps an overshooting last point; we also move a rounded-short one onto t[T-1].
    grid.back() = ts.back();
  }
  std::vector<torch::Tensor> out{y0};
  size_t j = 1;
  torch::Tensor y = y0;
  for (size_t g = 0; g + 1 < grid.size(); ++g) {
    const double t0 = grid[g], t1 = grid[g + 1];
    const torch::Tensor y1 = y + fixed_increment(o.method, f, t0, t1 - t0, t1, y, stats);
    ++stats.accepted_steps;
    for (; j < ts.size() && t1 >= ts[j]; ++j) {
      if (ts[j] == t0) out.push_back(y);
      else if (ts[j] == t1) out.push_back(y1);
      else out.push_back(y + (y1 - y) * ((ts[j] - t0) / (t1 - t0)));
    }
    y = y1;
  }
  return out;
}

std::vector<double> check_times(const torch::Tensor& y0, const torch::Tensor& t, const OdeOptions& o) {
  MERC_CHECK(y0.defined() && y0.is_floating_point(), "odeint: y0 must be a floating tensor");
  MERC_CHECK(t.defined() && t.is_floating_point() && t.dim() == 1 && t.numel() >= 1,
             "odeint: t must be a 1-d floating tensor with at least one time, got shape {}", t.sizes());
  MERC_CHECK(o.rtol >= 0 && o.atol >= 0 && o.rtol + o.atol > 0, "odeint: need rtol, atol >= 0, not both 0 (got {}, {})",
             o.rtol, o.atol);
  MERC_CHECK(o.step_size >= 0 && o.first_step >= 0 && o.max_num_steps >= 0,
             "odeint: step_size, first_step and max_num_steps must be >= 0");
  const torch::Tensor td = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<double> ts(td.data_ptr<double>(), td.data_ptr<double>() + td.numel());
  for (size_t i = 1; i < ts.size(); ++i)
    MERC_CHECK(ts[i] > ts[i - 1], "odeint: t must be strictly increasing, but t[{}] = {} <= t[{}] = {}", i, ts[i],
               i - 1, ts[i - 1]);
  return ts;
}

std::vector<torch::Tensor> solve(const OdeFunc& f, const torch::Tensor& y0, const std::vector<double>& ts,
                                 const OdeOptions& o, OdeStats& stats, const NormParts& parts) {
  if (ts.size() == 1) return {y0};
  if (o.method == OdeMethod::kDopri5) {
    ++stats.nfe;  // f(t0, y0)
    if (o.first_step == 0) ++stats.nfe;  // the initial step probe
    return solve_dopri5(f, y0, ts, o, stats, parts);
  }
  return solve_fixed(f, y0, ts, o, stats);
}

// ---- Adjoint (torchdiffeq adjoint.py semantics). ----
struct AdjointState : torch::CustomClassHolder {
  OdeFunc f;
  OdeOptions options;
  std::vector<double> ts;
};

class OdeAdjointFunction : public torch::autograd::Function<OdeAdjointFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& y0,
                               at::TensorList params, const c10::intrusive_ptr<AdjointState>& state,
                               OdeStats* stats) {
    torch::NoGradGuard no_grad;
    OdeStats local;
    const torch::Tensor sol = torch::stack(solve(state->f, y0, state->ts, state->options, local, {}));
    if (stats) *stats = local;
    std::vector<torch::Tensor> saved{sol};
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    return sol;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto state = c10::static_intrusive_pointer_cast<AdjointState>(ctx->saved_data["state"].toCapsule());
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor sol = saved[0];
    const std::vector<torch::Tensor> params(saved.begin() + 1, saved.end());
    const auto& ts = state->ts;
    const auto T = static_cast<int64_t>(ts.size());
    const auto shape = sol.sizes().slice(1).vec();
    const int64_t n = sol[0].numel();
    int64_t P = 0;
    for (const auto& p : params) P += p.numel();
    torch::Tensor g = grad_outputs[0].defined() ? grad_outputs[0] : torch::zeros_like(sol);
    g = g.to(sol.scalar_type());

    std::vector<torch::Tensor> wanted;  // params that get a gradient
    for (const auto& p : params)
      if (p.requires_grad()) wanted.push_back(p);

    // Augmented dynamics in reversed time s = -t (our solvers integrate forwards):
    // dz/ds = -[f, -a^T df/dy, -a^T df/dp] for z = [y, a, a_p].
    const OdeFunc aug = [&](const torch::Tensor& s, const torch::Tensor& z) -> torch::Tensor {
      const torch::Tensor t = -s;
      torch::Tensor fy, vjp_y;
      std::vector<torch::Tensor> vjp_p(params.size());
      {
        torch::AutoGradMode enable(true);
        const torch::Tensor y = z.slice(0, 0, n).view(shape).detach().requires_grad_(true);
        const torch::Tensor a = z.slice(0, n, 2 * n).view(shape).detach();
        fy = state->f(t, y);
        if (fy.requires_grad()) {
          std::vector<torch::Tensor> inputs{y};
          inputs.insert(inputs.end(), wanted.begin(), wanted.end());
          const auto grads = torch::autograd::grad({fy}, inputs, {a}, /*retain_graph=*/false,
                                                   /*create_graph=*/false, /*allow_unused=*/true);
          vjp_y = grads[0];
          size_t w = 1;
          for (size_t q = 0; q < params.size(); ++q)
            if (params[q].requires_grad()) vjp_p[q] = grads[w++];
        }
        fy = fy.detach();
      }
      std::vector<torch::Tensor> parts{-fy.reshape({-1}),
                                       vjp_y.defined() ? vjp_y.reshape({-1}) : torch::zeros({n}, z.options())};
      for (size_t q = 0; q < params.size(); ++q)
        parts.push_back(vjp_p[q].defined() ? vjp_p[q].reshape({-1}).to(z.scalar_type())
                                           : torch::zeros({params[q].numel()}, z.options()));
      return torch::cat(parts);
    };

    torch::NoGradGuard no_grad;
    torch::Tensor a = g[T - 1].reshape({-1});
    torch::Tensor ap = torch::zeros({P}, sol.options());
    for (int64_t i = T - 1; i >= 1; --i) {
      const torch::Tensor z0 = torch::cat({sol[i].reshape({-1}), a, ap});
      OdeStats back_stats;
      const auto zs = solve(aug, z0, {-ts[i], -ts[i - 1]}, state->options, back_stats, {n, n, P});
      a = zs.back().slice(0, n, 2 * n) + g[i - 1].reshape({-1});
      ap = zs.back().slice(0, 2 * n);
    }
    torch::autograd::variable_list grads{a.view(shape)};
    int64_t start = 0;
    for (const auto& p : params) {
      grads.push_back(p.requires_grad() ? ap.slice(0, start, start + p.numel()).view(p.sizes()).to(p.scalar_type())
                                        : torch::Tensor());
      start += p.numel();
    }
    grads.emplace_back();  // state
    grads.emplace_back();  // stats
    return grads;
  }
};

}  // namespace ode_detail

OdeMethod parse_ode_method(std::string_view name) {
  if (name == "euler") return OdeMethod::kEuler;
  if (name == "midpoint") return OdeMethod::kMidpoint;
  if (name == "rk4") return OdeMethod::kRk4;
  if (name == "dopri5") return OdeMethod::kDopri5;
  throw UnknownNameError(fmt::format("unknown ODE method '{}'; valid: euler, midpoint, rk4, dopri5", name));
}

std::string ode_method_name(OdeMethod method) {
  switch (method) {
    case OdeMethod::kEuler: return "euler";
    case OdeMethod::kMidpoint: return "midpoint";
    case OdeMethod::kRk4: return "rk4";
    case OdeMethod::kDopri5: return "dopri5";
  }
  return "?";
}

torch::Tensor odeint(const OdeFunc& f, const torch::Tensor& y0, const torch::Tensor& t, const OdeOptions& options,
                     OdeStats* stats) {
  const std::vector<double> ts = ode_detail::check_times(y0, t, options);
  OdeStats local;
  const torch::Tensor out = torch::stack(ode_detail::solve(f, y0, ts, options, local, {}));
  if (stats) *stats = local;
  return out;
}

torch::Tensor odeint_adjoint(const OdeFunc& f, const torch::Tensor& y0, const torch::Tensor& t,
                             const OdeOptions& options, const std::vector<torch::Tensor>& params, OdeStats* stats) {
  auto state = c10::make_intrusive<ode_detail::AdjointState>();
  state->f = f;
  state->options = options;
  state->ts = ode_detail::check_times(y0, t, options);
  return ode_detail::OdeAdjointFunction::apply(y0, at::TensorList(params), state, stats);
}

}  // namespace merc::nn
