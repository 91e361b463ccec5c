#include "merc/nn/diffusion/dit.h"

#include <ostream>

#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::nn {

DitDenoiserImpl::DitDenoiserImpl(DitDenoiserOptions options_) : options(options_) { reset(); }

void DitDenoiserImpl::reset() {
  const auto& o = options;
  MERC_CHECK(o.channels > 0 && o.seq_len > 0 && o.cond_channels > 0 && o.hidden > 0 && o.depth >= 0,
             "DitDenoiser: channels, seq_len, cond_channels, hidden must be > 0 and depth >= 0, got {}, {}, {}, {}, {}",
             o.channels, o.seq_len, o.cond_channels, o.hidden, o.depth);
  MERC_CHECK(o.heads > 0 && o.hidden % o.heads == 0, "DitDenoiser: heads ({}) must divide hidden ({})", o.heads,
             o.hidden);
  // Same modules as DiT; the blocks, t_embedder and final layer carry DiT's initialisation.
  t_embedder = register_module("t_embedder", TimestepEmbedder(TimestepEmbedderOptions(o.hidden)));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth; ++i)
    blocks->push_back(DitBlock(DitBlockOptions(o.hidden, o.heads).mlp_ratio(o.mlp_ratio)));
  const int64_t out_channels = o.learn_sigma ? 2 * o.channels : o.channels;
  final_layer = register_module("final_layer", DitFinalLayer(o.hidden, out_channels));
  // RoHyDR's swapped-in embedders: PyTorch default init and a randn positional table.
  x_embedder = register_module("x_embedder", torch::nn::Linear(o.channels, o.hidden));
  y_embedder = register_module("y_embedder", torch::nn::Linear(o.cond_channels, o.hidden));
  unpatchify = register_module("unpatchify", torch::nn::Linear(out_channels, o.channels));
  pos_embed = register_parameter("pos_embed", torch::randn({1, o.seq_len, o.hidden}));
}

void DitDenoiserImpl::pretty_print(std::ostream& stream) const {
  const auto& o = options;
  stream << "merc::nn::DitDenoiser(channels=" << o.channels << ", seq_len=" << o.seq_len
         << ", cond_channels=" << o.cond_channels << ", hidden=" << o.hidden << ", depth=" << o.depth
         << ", heads=" << o.heads << ", mlp_ratio=" << o.mlp_ratio << ", learn_sigma=" << o.learn_sigma << ")";
}

torch::Tensor DitDenoiserImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cond) {
  const auto& o = options;
  MERC_CHECK(x.dim() == 3 && x.size(1) == o.channels && x.size(2) == o.seq_len,
             "DitDenoiser: x must be (N, C = {}, L = {}), got {}", o.channels, o.seq_len, x.sizes());
  MERC_CHECK(t.dim() == 1 && t.size(0) == x.size(0), "DitDenoiser: t must be (N = {}), got {}", x.size(0), t.sizes());
  MERC_CHECK(cond.dim() == 3 && cond.size(0) == x.size(0) && cond.size(1) == o.cond_channels && cond.size(2) >= 1,
             "DitDenoiser: cond must be (N = {}, C_cond = {}, L_cond >= 1), got {}", x.size(0), o.cond_channels,
             cond.sizes());
  // 1. tokens and conditioning vector
  auto h = x_embedder(x.transpose(1, 2)) + pos_embed;          // (N, L, H)
  const auto c = t_embedder(t) + y_embedder(cond.mean(2));     // (N, H)
  // 2. adaLN-Zero transformer
  for (const auto& block : *blocks) h = block->as<DitBlockImpl>()->forward(h, c);
  // 3. read-out: final layer (N, L, out) -> unpatchify (N, L, C); learn_sigma keeps the first C
  const auto eps = unpatchify(final_layer(h, c)).narrow(2, 0, o.channels);
  return eps.transpose(1, 2);                                  // (N, C, L)
}

torch::Tensor DitDenoiserImpl::loss(const torch::Tensor& target, const torch::Tensor& cond,
                                    const NoiseSchedule& schedule) {
  MERC_CHECK(target.dim() == 3, "DitDenoiser::loss: target must be (N, C, L), got {}", target.sizes());
  const auto t = torch::randint(0, schedule.num_train_timesteps, {target.size(0)},
                                torch::TensorOptions().dtype(torch::kInt64).device(target.device()));
  const auto noise = torch::randn_like(target);
  const auto x_t = add_noise(schedule, target, noise, t);
  return torch::mse_loss(forward(x_t, t, cond), noise);
}

torch::Tensor DitDenoiserImpl::sample(const torch::Tensor& cond, const DdimSampler& sampler) {
  MERC_CHECK(cond.dim() == 3, "DitDenoiser::sample: cond must be (N, C_cond, L_cond), got {}", cond.sizes());
  return sample(cond, sampler, torch::randn({cond.size(0), options.channels, options.seq_len}, cond.options()));
}

torch::Tensor DitDenoiserImpl::sample(const torch::Tensor& cond, const DdimSampler& sampler, torch::Tensor x_T) {
  if (!x_T.defined()) return sample(cond, sampler);
  MERC_CHECK(cond.dim() == 3, "DitDenoiser::sample: cond must be (N, C_cond, L_cond), got {}", cond.sizes());
  MERC_CHECK(x_T.dim() == 3 && x_T.size(0) == cond.size(0) && x_T.size(1) == options.channels &&
                 x_T.size(2) == options.seq_len,
             "DitDenoiser::sample: x_T must be ({}, {}, {}), got {}", cond.size(0), options.channels, options.seq_len,
             x_T.sizes());
  return sampler.sample([&](const torch::Tensor& x, const torch::Tensor& t) { return forward(x, t, cond); },
                        std::move(x_T));
}

}  // namespace merc::nn
