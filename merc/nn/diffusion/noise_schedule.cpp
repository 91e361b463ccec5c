#include "merc/nn/diffusion/noise_schedule.h"

#include <vector>

#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::nn {

NoiseSchedule NoiseSchedule::linear(int64_t num_train_timesteps, double beta_start, double beta_end) {
  MERC_CHECK(num_train_timesteps >= 1, "NoiseSchedule::linear: num_train_timesteps must be >= 1, got {}",
             num_train_timesteps);
  MERC_CHECK(beta_start >= 0 && beta_start < 1 && beta_end >= 0 && beta_end < 1,
             "NoiseSchedule::linear: betas must lie in [0, 1), got {} -> {}", beta_start, beta_end);
  NoiseSchedule s;
  s.num_train_timesteps = num_train_timesteps;
  s.betas = torch::linspace(beta_start, beta_end, num_train_timesteps, torch::kFloat32);
  s.alphas_cumprod = torch::cumprod(1.0 - s.betas, 0);
  return s;
}

torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like) {
  std::vector<int64_t> shape(static_cast<size_t>(like.dim()), 1);
  shape[0] = v.size(0);
  return v.view(shape);
}

torch::Tensor add_noise(const NoiseSchedule& s, const torch::Tensor& x0, const torch::Tensor& noise,
                        const torch::Tensor& t) {
  MERC_CHECK(s.alphas_cumprod.defined() && s.num_train_timesteps == s.alphas_cumprod.size(0),
             "add_noise: the schedule is empty or inconsistent (T = {})", s.num_train_timesteps);
  MERC_CHECK(x0.dim() >= 1 && x0.sizes() == noise.sizes(), "add_noise: x0 {} and noise {} must have one shape (N, ...)",
             x0.sizes(), noise.sizes());
  MERC_CHECK(t.dim() == 1 && t.size(0) == x0.size(0) && t.scalar_type() == torch::kInt64,
             "add_noise: t must be (N = {}) int64, got {} {}", x0.size(0), t.sizes(), c10::toString(t.scalar_type()));
  if (t.numel() > 0) {
    const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
    MERC_CHECK(lo >= 0 && hi < s.num_train_timesteps, "add_noise: timesteps must lie in [0, {}), got [{}, {}]",
               s.num_train_timesteps, lo, hi);
  }
  // As diffusers: abar moves to x0's device and dtype before the square roots.
  const auto abar = s.alphas_cumprod.to(x0.device(), x0.scalar_type()).index_select(0, t.to(x0.device()));
  return per_sample(abar.sqrt(), x0) * x0 + per_sample((1.0 - abar).sqrt(), x0) * noise;
}

}  // namespace merc::nn
