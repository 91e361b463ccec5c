#pragma once
// Deterministic DDIM sampling (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models"),
// with the semantics of diffusers' DDIMScheduler (set_timesteps + step) at eta = 0 and
// prediction_type "epsilon", which is how RoHyDR samples its DiT generators (§6.2: a
// DDIMScheduler(num_train_timesteps=50, linear beta 1e-4 -> 0.02) with 50 inference steps).
//
// Timesteps ("leading" spacing): step_ratio = T / n (integer division),
//   timesteps = reverse(round(arange(n) * step_ratio)) + steps_offset, e.g. T = 1000, n = 50:
//   980, 960, ..., 0.
// One step from x_t with predicted noise eps, prev = t - T / n:
//   x0_hat  = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t),  clamped to [-r, r] if clip_sample
//   abar_p  = abar_prev if prev >= 0, else (set_alpha_to_one ? 1 : abar_0)
//   x_prev  = sqrt(abar_p) x0_hat + sqrt(1 - abar_p) eps
// eps is NOT re-derived from the clipped x0_hat (diffusers' use_clipped_model_output = false).
// Coefficients are computed in float32 from the float32 abar as diffusers does, then applied to
// x_t in x_t's dtype/device. Nothing here disables autograd: RoHyDR back-propagates through its
// sampling loop; wrap the call in torch::NoGradGuard where that is not wanted.

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

#include "merc/nn/diffusion/noise_schedule.h"

namespace merc::nn {

struct DdimOptions {
  int64_t num_inference_steps = 50;  // n, 1 <= n <= T
  int64_t steps_offset = 0;          // added to every timestep (diffusers' default 0)
  bool set_alpha_to_one = true;      // abar "before" t = 0 is 1 (true) or abar_0 (false)
  bool clip_sample = true;           // clamp x0_hat to [-clip_sample_range, clip_sample_range]
  double clip_sample_range = 1.0;    // r > 0
};

class DdimSampler {
 public:
  // Throws merc::Error unless 1 <= n <= T, every timestep (including steps_offset) lies in [0, T)
  // and clip_sample_range > 0.
  DdimSampler(NoiseSchedule schedule, DdimOptions options);

  const NoiseSchedule& schedule() const { return schedule_; }
  const DdimOptions& options() const { return options_; }
  // n timesteps in descending order, as diffusers' scheduler.timesteps.
  const std::vector<int64_t>& timesteps() const { return timesteps_; }

  // One DDIM update. eps, x_t: same shape (N, ...); t: the current timestep in [0, T).
  // Returns x_prev (N, ...) in x_t's dtype.
  torch::Tensor step(const torch::Tensor& eps, int64_t t, const torch::Tensor& x_t) const;

  // eps_model(x_t (N, ...), t (N) int64 on x_t's device) -> eps (N, ...).
  using EpsModel = std::function<torch::Tensor(const torch::Tensor& x_t, const torch::Tensor& t)>;
  // Runs step() at every timestep, starting from x_T (N, ...); returns x_0 (N, ...).
  torch::Tensor sample(const EpsModel& eps_model, torch::Tensor x_T) const;

 private:
  NoiseSchedule schedule_;
  DdimOptions options_;
  std::vector<int64_t> timesteps_;
  float final_alpha_cumprod_ = 1.0f;
};

}  // namespace merc::nn
