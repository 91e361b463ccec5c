#pragma once
// The older, score-based RoHyDR generator (f125382: trains/mainNets/model/scoremodel.py and
// rohydr.py; method_reference §6.3), which follows Song et al. 2021 ("Score-Based Generative
// Modeling through SDEs") and IMDer. Variance-exploding SDE dx = sigma^t dw on t in [0, 1]:
//   marginal_prob_std(t) = sqrt((sigma^(2t) - 1) / (2 ln sigma))   std of p_0t(x_t | x_0)
//   diffusion_coeff(t)   = sigma^t                                  g(t)
// Denoising score matching (upstream loss_fn), t ~ U(eps, 1), z ~ N(0, I), std = std(t):
//   L = mean_n sum_{non-batch} (s(x_0 + std z, t) std + z)^2
// Euler-Maruyama sampler (upstream Euler_Maruyama_sampler), times linspace(1, eps, num_steps),
// dt = times[0] - times[1]:
//   mean = x + g(t)^2 s(x, t) dt,  x = mean + sqrt(dt) g(t) z;   returns the last `mean` (no noise
//   in the final step).
//
// ScoreNet: upstream's conditional U-Net over (N, C, L) with level channels (32, 64, 128, 256):
// Conv1d(k3) encoders (stride 1, then 2, 2, 2), ConvTranspose1d(k3, output_padding 1) decoders with
// skip concatenations, GroupNorm (4 groups at the first level, 32 elsewhere), swish, a Gaussian
// Fourier time embedding (256, scale 30, fixed) -> Linear -> swish added per level through Dense
// layers, and at each of the 8 levels a 2-layer ScoreCrossAttention from the condition, which is
// carried through its own strided (transposed) convolutions. Output divided by std(t).
// Generalisations (identical at RoHyDR's sizes C = C_cond = 32, L = 48):
// * Any L >= 1: the U-Net halves L three times and concatenates skips, so it needs L % 8 == 0.
//   Otherwise x is zero-padded on the right to the next multiple of 8 and the output cropped back
//   to L (L = 48 runs unpadded, exactly as upstream). The condition is never padded: the
//   cross-attention accepts any condition length L_cond >= 1.
// * C_cond != level_channels[0]: a Conv1d(C_cond, level_channels[0], 1) projects the condition
//   first (upstream has no such layer because both are 32).
// * Upstream perturbs the condition with the SAME noise z as the target during training
//   (condition + z std) and with fresh noise at every sampling step; kept, with
//   condition_noise_from_target = false as the alternative (fresh noise in training too), which is
//   also needed when cond and target shapes differ.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/diffusion/score_cross_attention.h"

namespace merc::nn {

// t: any shape, values in [0, 1] -> same shape.
torch::Tensor marginal_prob_std(const torch::Tensor& t, double sigma);
torch::Tensor diffusion_coeff(const torch::Tensor& t, double sigma);

// A score function s(x_t (N, ...), t (N) in x's dtype/device) -> (N, ...).
using ScoreFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t)>;

// One draw of the VE perturbation used by the DSM loss: t ~ U(eps, 1) (N), z ~ N(0, I) like x0,
// std = marginal_prob_std(t) (N), x_t = x0 + std z. Draw order (t, then z) as upstream.
struct VePerturbation {
  torch::Tensor t, z, std, x_t;
};
VePerturbation draw_ve_perturbation(const torch::Tensor& x0, double sigma, double eps);

// mean over the batch of sum over the other axes of (score std + z)^2; score, z: (N, ...), std: (N).
torch::Tensor dsm_objective(const torch::Tensor& score, const torch::Tensor& z, const torch::Tensor& std);

// Upstream loss_fn for an arbitrary score function: draw_ve_perturbation then dsm_objective.
torch::Tensor denoising_score_matching_loss(const ScoreFn& score, const torch::Tensor& x0, double sigma,
                                            double eps = 1e-5);

// Euler-Maruyama from t = 1 to t = eps with num_steps >= 2 time points (see above), for ANY score.
// x_init: (N, ...) already scaled by marginal_prob_std(1). Autograd is left as the caller set it.
// Returns (N, ...).
torch::Tensor euler_maruyama_sample(const ScoreFn& score, torch::Tensor x_init, double sigma, int64_t num_steps,
                                    double eps);

struct ScoreNetOptions {
  int64_t channels = 32;                               // C of the generated sequence
  int64_t seq_len = 48;                                // L of sample()'s output
  int64_t cond_channels = 32;                          // C_cond
  double sigma = 25.0;                                 // VE-SDE sigma
  std::vector<int64_t> level_channels{32, 64, 128, 256};  // exactly 4 levels
  int64_t embed_dim = 256;                             // Gaussian Fourier embedding width (even)
  double fourier_scale = 30.0;                         // std of the fixed Fourier frequencies
  int64_t heads = 8;                                   // cross-attention heads at every level
  int64_t attention_layers = 2;
  int64_t first_groups = 4;                            // GroupNorm groups at level 1
  int64_t groups = 32;                                 // GroupNorm groups elsewhere
  bool condition_noise_from_target = true;             // upstream training quirk, see above
};

class ScoreNetImpl : public torch::nn::Cloneable<ScoreNetImpl> {
 public:
  explicit ScoreNetImpl(ScoreNetOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // x: (N, C, L) with any L >= 1, t: (N) float in (0, 1], cond: (N, C_cond, L_cond) or an undefined
  // tensor (unconditional) -> score estimate (N, C, L).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cond);
  // Upstream loss_fn (DSM) with the condition perturbed as documented above. target: (N, C, L);
  // returns a scalar.
  torch::Tensor loss(const torch::Tensor& target, const torch::Tensor& cond, double eps = 1e-5);
  // Upstream sampler under NoGradGuard: x_1 ~ N(0, std(1)^2) of shape (N, C, seq_len), the condition
  // re-perturbed by fresh noise * std(t) at every step; returns (N, C, seq_len).
  torch::Tensor sample(const torch::Tensor& cond, int64_t num_steps = 100, double eps = 1e-3);

  ScoreNetOptions options;
  torch::Tensor fourier_w;  // (embed_dim / 2), fixed (requires_grad = false), N(0, scale^2)
  torch::nn::Linear embed_linear{nullptr};
  torch::nn::Conv1d cond_in{nullptr};  // only when C_cond != level_channels[0]
  torch::nn::Conv1d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr};
  torch::nn::Conv1d conv2_cond{nullptr}, conv3_cond{nullptr}, conv4_cond{nullptr};
  torch::nn::ConvTranspose1d tconv4{nullptr}, tconv3{nullptr}, tconv2{nullptr}, tconv1{nullptr};
  torch::nn::ConvTranspose1d tconv4_cond{nullptr}, tconv3_cond{nullptr}, tconv2_cond{nullptr}, tconv1_cond{nullptr};
  ScoreCrossAttention attention_1{nullptr}, attention_2{nullptr}, attention_3{nullptr}, attention_4{nullptr};
  ScoreCrossAttention attention_t4{nullptr}, attention_t3{nullptr}, attention_t2{nullptr}, attention_t1{nullptr};
  torch::nn::Linear dense1{nullptr}, dense2{nullptr}, dense3{nullptr}, dense4{nullptr};
  torch::nn::Linear dense5{nullptr}, dense6{nullptr}, dense7{nullptr};
  torch::nn::GroupNorm gnorm1{nullptr}, gnorm2{nullptr}, gnorm3{nullptr}, gnorm4{nullptr};
  torch::nn::GroupNorm tgnorm4{nullptr}, tgnorm3{nullptr}, tgnorm2{nullptr};
};
TORCH_MODULE(ScoreNet);

}  // namespace merc::nn
