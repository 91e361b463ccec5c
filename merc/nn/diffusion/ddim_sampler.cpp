#include "merc/nn/diffusion/ddim_sampler.h"

#include <cmath>
#include <utility>

#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::nn {

DdimSampler::DdimSampler(NoiseSchedule schedule, DdimOptions options)
    : schedule_(std::move(schedule)), options_(options) {
  const int64_t T = schedule_.num_train_timesteps;
  const int64_t n = options_.num_inference_steps;
  MERC_CHECK(schedule_.alphas_cumprod.defined() && T >= 1 && schedule_.alphas_cumprod.size(0) == T,
             "DdimSampler: the noise schedule is empty or inconsistent (T = {})", T);
  MERC_CHECK(n >= 1 && n <= T, "DdimSampler: num_inference_steps must lie in [1, T = {}], got {}", T, n);
  MERC_CHECK(options_.clip_sample_range > 0, "DdimSampler: clip_sample_range must be > 0, got {}",
             options_.clip_sample_range);
  // "leading" spacing: integer multiples of T / n, descending, then shifted by steps_offset.
  const int64_t step_ratio = T / n;
  for (int64_t i = n - 1; i >= 0; --i) timesteps_.push_back(i * step_ratio + options_.steps_offset);
  MERC_CHECK(timesteps_.front() < T && timesteps_.back() >= 0,
             "DdimSampler: steps_offset {} moves the timesteps [{}, {}] outside [0, {})", options_.steps_offset,
             timesteps_.back(), timesteps_.front(), T);
  final_alpha_cumprod_ = options_.set_alpha_to_one ? 1.0f : schedule_.alphas_cumprod[0].item<float>();
}

torch::Tensor DdimSampler::step(const torch::Tensor& eps, int64_t t, const torch::Tensor& x_t) const {
  const int64_t T = schedule_.num_train_timesteps;
  MERC_CHECK(t >= 0 && t < T, "DdimSampler::step: timestep must lie in [0, {}), got {}", T, t);
  MERC_CHECK(eps.sizes() == x_t.sizes(), "DdimSampler::step: eps {} and x_t {} must have one shape", eps.sizes(),
             x_t.sizes());
  const int64_t prev = t - T / options_.num_inference_steps;
  // float32 scalars, as diffusers computes them from its float32 alphas_cumprod.
  const float abar_t = schedule_.alphas_cumprod[t].item<float>();
  const float abar_prev = prev >= 0 ? schedule_.alphas_cumprod[prev].item<float>() : final_alpha_cumprod_;
  const float sqrt_abar_t = std::sqrt(abar_t);
  const float sqrt_beta_t = std::sqrt(1.0f - abar_t);
  torch::Tensor x0 = (x_t - sqrt_beta_t * eps) / sqrt_abar_t;
  if (options_.clip_sample) x0 = x0.clamp(-options_.clip_sample_range, options_.clip_sample_range);
  return std::sqrt(abar_prev) * x0 + std::sqrt(1.0f - abar_prev) * eps;
}

torch::Tensor DdimSampler::sample(const EpsModel& eps_model, torch::Tensor x_T) const {
  MERC_CHECK(x_T.dim() >= 1, "DdimSampler::sample: x_T must be (N, ...), got {}", x_T.sizes());
  torch::Tensor x = std::move(x_T);
  for (const int64_t t : timesteps_) {
    const auto t_batch = torch::full({x.size(0)}, t, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
    x = step(eps_model(x, t_batch), t, x);
  }
  return x;
}

}  // namespace merc::nn
