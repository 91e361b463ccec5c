#pragma once
// Discrete DDPM noise schedule and the forward (noising) process q(x_t | x_0), as diffusers'
// DDPMScheduler(beta_schedule="linear") computes them (Ho et al. 2020, "Denoising Diffusion
// Probabilistic Models"):
//   beta_t  = linspace(beta_start, beta_end, T)[t]            (float32, like torch.linspace)
//   abar_t  = prod_{s <= t} (1 - beta_s)                       (float32 cumprod)
//   x_t     = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,  eps ~ N(0, I)
// RoHyDR trains its DiT generators with T = 1000, beta 1e-4 -> 0.02 (method_reference §6.2).

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

struct NoiseSchedule {
  int64_t num_train_timesteps = 0;  // T
  torch::Tensor betas;              // (T) float32, CPU
  torch::Tensor alphas_cumprod;     // (T) float32, CPU: abar_t

  // diffusers' beta_schedule="linear". Throws merc::Error unless T >= 1 and
  // 0 <= beta_start, beta_end < 1.
  static NoiseSchedule linear(int64_t num_train_timesteps, double beta_start, double beta_end);
};

// diffusers' DDPMScheduler.add_noise: sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, with abar cast to
// x0's dtype and device first (as diffusers does) and broadcast over every non-batch axis.
// x0, noise: (N, ...) same shape, any device/dtype; t: (N) int64 with values in [0, T).
// Returns (N, ...) like x0. Throws merc::Error on shape/dtype/range mismatches.
torch::Tensor add_noise(const NoiseSchedule& s, const torch::Tensor& x0, const torch::Tensor& noise,
                        const torch::Tensor& t);

// Reshapes a per-sample (N) tensor to (N, 1, ..., 1) so it broadcasts against `like` (N, ...).
torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like);

}  // namespace merc::nn
