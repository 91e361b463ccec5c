#pragma once
// DitDenoiser: RoHyDR's conditional DiT noise predictor for one modality (its DiTDiffusionModule,
// trains/mainNets/model/ditmodel.py; method_reference §6.2). A sequence x (N, C, L) is read as L
// tokens of C channels (patch size 1):
//   h = x_embedder(x^T) + pos_embed                      x_embedder = Linear(C, H), pos_embed (1, L, H)
//   c = t_embedder(t) + y_embedder(mean_L'(cond))        y_embedder = Linear(C_cond, H)
//   h = DitBlock_depth(... DitBlock_1(h, c) ..., c)       (dit_blocks.h)
//   eps = unpatchify(final_layer(h, c))^T                  (N, C, L)
// Generalisation: RoHyDR's final layer outputs out = (learn_sigma ? 2C : C) channels and its
// unpatchify is Linear(hidden -> C), which only type-checks because 2 * 32 = 64 = hidden; here
// unpatchify is Linear(out -> C) (identical at RoHyDR's sizes). The learn_sigma slice then keeps
// the first C channels, i.e. all of them: learn_sigma only widens the final layer.
// Initialisation as RoHyDR: DiT's initialize_weights for the blocks, t_embedder and final layer
// (dit_blocks.h); pos_embed ~ N(0, 1); x_embedder, y_embedder and unpatchify keep PyTorch's
// default Linear init (RoHyDR creates them after initialize_weights). With the final layer at
// zero, a fresh model predicts the constant unpatchify bias.
// Works at any L = seq_len >= 1 (one vector per utterance is L = 1).

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/diffusion/ddim_sampler.h"
#include "merc/nn/diffusion/dit_blocks.h"
#include "merc/nn/diffusion/noise_schedule.h"

namespace merc::nn {

struct DitDenoiserOptions {
  int64_t channels = 32;       // C, channels of the generated sequence
  int64_t seq_len = 48;        // L, its length (pos_embed is (1, L, H))
  int64_t cond_channels = 32;  // C_cond of the condition (its length is free: it is averaged)
  int64_t hidden = 64;         // H
  int64_t depth = 6;           // number of DitBlocks
  int64_t heads = 16;          // must divide H
  double mlp_ratio = 4.0;
  bool learn_sigma = true;     // final layer outputs 2C channels (see above)
};

class DitDenoiserImpl : public torch::nn::Cloneable<DitDenoiserImpl> {
 public:
  explicit DitDenoiserImpl(DitDenoiserOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // x: (N, C, L) noisy sample, t: (N) int64 timesteps, cond: (N, C_cond, L_cond), L_cond >= 1
  // -> predicted eps (N, C, L).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cond);

  // DDPM eps-MSE (RoHyDR's compute_loss): t ~ U{0..T-1}, then noise ~ N(0, I) (torch's default
  // generator, in that order), x_t = add_noise(schedule, target, noise, t),
  // loss = mean((forward(x_t, t, cond) - noise)^2). target: (N, C, L); returns a scalar.
  torch::Tensor loss(const torch::Tensor& target, const torch::Tensor& cond, const NoiseSchedule& schedule);

  // DDIM sampling from x_T ~ N(0, I) of shape (N, C, L), conditioned on cond (N, C_cond, L_cond).
  // Autograd stays on (RoHyDR back-propagates through the sampler); returns (N, C, L).
  torch::Tensor sample(const torch::Tensor& cond, const DdimSampler& sampler);
  // The same from a given x_T (N, C, L) (undefined = drawn as above): a caller that seeds each
  // sample's noise itself (rohydr's evaluation) gets predictions independent of the batch.
  torch::Tensor sample(const torch::Tensor& cond, const DdimSampler& sampler, torch::Tensor x_T);

  DitDenoiserOptions options;
  torch::nn::Linear x_embedder{nullptr}, y_embedder{nullptr}, unpatchify{nullptr};
  torch::Tensor pos_embed;  // (1, L, H)
  TimestepEmbedder t_embedder{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  DitFinalLayer final_layer{nullptr};
};
TORCH_MODULE(DitDenoiser);

}  // namespace merc::nn
