#include "merc/nn/diffusion/score_sde.h"

#include <cmath>
#include <ostream>
#include <utility>

#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/nn/diffusion/noise_schedule.h"

namespace merc::nn {
namespace score_detail {

constexpr int64_t kTotalStride = 8;  // three stride-2 levels

torch::Tensor swish(const torch::Tensor& x) { return x * torch::sigmoid(x); }

torch::nn::Conv1d down(int64_t in, int64_t out, int64_t stride) {
  return torch::nn::Conv1d(torch::nn::Conv1dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

torch::nn::ConvTranspose1d up(int64_t in, int64_t out) {
  return torch::nn::ConvTranspose1d(
      torch::nn::ConvTranspose1dOptions(in, out, 3).stride(2).padding(1).output_padding(1).bias(false));
}

torch::nn::ConvTranspose1d same_length_up(int64_t in, int64_t out) {  // upstream tconv1(_cond): bias on
  return torch::nn::ConvTranspose1d(torch::nn::ConvTranspose1dOptions(in, out, 3).stride(1).padding(1));
}

// h (N, ch, L) += attention from the condition (N, ch, L_c) [if any] + dense(embed) broadcast over L.
torch::Tensor inject(torch::Tensor h, const torch::Tensor& cond, ScoreCrossAttention& attention,
                     torch::nn::Linear* dense, const torch::Tensor& embed) {
  if (cond.defined()) h = h + attention(h.transpose(1, 2), cond.transpose(1, 2)).transpose(1, 2);
  if (dense != nullptr) h = h + (*dense)(embed).unsqueeze(-1);
  return h;
}

}  // namespace score_detail

torch::Tensor marginal_prob_std(const torch::Tensor& t, double sigma) {
  return torch::sqrt((torch::pow(sigma, 2.0 * t) - 1.0) / (2.0 * std::log(sigma)));
}

torch::Tensor diffusion_coeff(const torch::Tensor& t, double sigma) { return torch::pow(sigma, t); }

VePerturbation draw_ve_perturbation(const torch::Tensor& x0, double sigma, double eps) {
  MERC_CHECK(x0.dim() >= 1 && eps > 0 && eps < 1, "draw_ve_perturbation: x0 must be (N, ...) and eps in (0, 1), got {} "
             "and {}", x0.sizes(), eps);
  VePerturbation p;
  p.t = torch::rand({x0.size(0)}, x0.options()) * (1.0 - eps) + eps;
  p.z = torch::randn_like(x0);
  p.std = marginal_prob_std(p.t, sigma);
  p.x_t = x0 + p.z * per_sample(p.std, x0);
  return p;
}

torch::Tensor dsm_objective(const torch::Tensor& score, const torch::Tensor& z, const torch::Tensor& std) {
  MERC_CHECK(score.sizes() == z.sizes() && std.dim() == 1 && std.size(0) == z.size(0),
             "dsm_objective: score {} and z {} must match and std be (N), got {}", score.sizes(), z.sizes(),
             std.sizes());
  return (score * per_sample(std, score) + z).pow(2).reshape({z.size(0), -1}).sum(1).mean();
}

torch::Tensor denoising_score_matching_loss(const ScoreFn& score, const torch::Tensor& x0, double sigma, double eps) {
  const auto p = draw_ve_perturbation(x0, sigma, eps);
  return dsm_objective(score(p.x_t, p.t), p.z, p.std);
}

torch::Tensor euler_maruyama_sample(const ScoreFn& score, torch::Tensor x_init, double sigma, int64_t num_steps,
                                    double eps) {
  MERC_CHECK(num_steps >= 2 && eps > 0 && eps < 1 && x_init.dim() >= 1,
             "euler_maruyama_sample: need num_steps >= 2, eps in (0, 1) and x_init (N, ...), got {}, {}, {}",
             num_steps, eps, x_init.sizes());
  const auto times = torch::linspace(1.0, eps, num_steps, x_init.options());
  const auto dt = times[0] - times[1];
  torch::Tensor x = std::move(x_init), mean;
  for (int64_t i = 0; i < num_steps; ++i) {
    const auto t = torch::ones({x.size(0)}, x.options()) * times[i];
    const auto g = per_sample(diffusion_coeff(t, sigma), x);
    mean = x + g.pow(2) * score(x, t) * dt;
    x = mean + torch::sqrt(dt) * g * torch::randn_like(x);
  }
  return mean;  // the last step adds no noise
}

// ---- ScoreNet --------------------------------------------------------------------------------

ScoreNetImpl::ScoreNetImpl(ScoreNetOptions options_) : options(std::move(options_)) { reset(); }

void ScoreNetImpl::reset() {
  using score_detail::down;
  using score_detail::up;
  const auto& o = options;
  MERC_CHECK(o.level_channels.size() == 4, "ScoreNet: level_channels must have 4 entries, got {}",
             o.level_channels.size());
  MERC_CHECK(o.channels > 0 && o.seq_len > 0 && o.cond_channels > 0 && o.sigma > 1 && o.embed_dim >= 2 &&
                 o.embed_dim % 2 == 0,
             "ScoreNet: need channels, seq_len, cond_channels > 0, sigma > 1 and an even embed_dim, got {}, {}, {}, "
             "{}, {}", o.channels, o.seq_len, o.cond_channels, o.sigma, o.embed_dim);
  const int64_t c0 = o.level_channels[0], c1 = o.level_channels[1], c2 = o.level_channels[2],
                c3 = o.level_channels[3], E = o.embed_dim;
  MERC_CHECK(c0 % o.first_groups == 0 && c0 % o.groups == 0 && c1 % o.groups == 0 && c2 % o.groups == 0 &&
                 c3 % o.groups == 0,
             "ScoreNet: level_channels {} must be divisible by groups {} (and the first by first_groups {})",
             o.level_channels, o.groups, o.first_groups);
  const auto attention = [&](const char* name, int64_t ch) {
    return register_module(name, ScoreCrossAttention(ScoreCrossAttentionOptions(ch, o.heads).layers(o.attention_layers)));
  };
  const auto dense = [&](const char* name, int64_t ch) { return register_module(name, torch::nn::Linear(E, ch)); };
  const auto gnorm = [&](const char* name, int64_t groups, int64_t ch) {
    return register_module(name, torch::nn::GroupNorm(groups, ch));
  };
  fourier_w = register_parameter("fourier_w", torch::randn({E / 2}) * o.fourier_scale, /*requires_grad=*/false);
  embed_linear = register_module("embed_linear", torch::nn::Linear(E, E));
  if (o.cond_channels != c0)
    cond_in = register_module("cond_in", torch::nn::Conv1d(torch::nn::Conv1dOptions(o.cond_channels, c0, 1)));
  // Encoder (upstream creation order).
  conv1 = register_module("conv1", down(o.channels, c0, 1));
  attention_1 = attention("attention_1", c0), dense1 = dense("dense1", c0), gnorm1 = gnorm("gnorm1", o.first_groups, c0);
  conv2 = register_module("conv2", down(c0, c1, 2)), conv2_cond = register_module("conv2_cond", down(c0, c1, 2));
  attention_2 = attention("attention_2", c1), dense2 = dense("dense2", c1), gnorm2 = gnorm("gnorm2", o.groups, c1);
  conv3 = register_module("conv3", down(c1, c2, 2)), conv3_cond = register_module("conv3_cond", down(c1, c2, 2));
  attention_3 = attention("attention_3", c2), dense3 = dense("dense3", c2), gnorm3 = gnorm("gnorm3", o.groups, c2);
  conv4 = register_module("conv4", down(c2, c3, 2)), conv4_cond = register_module("conv4_cond", down(c2, c3, 2));
  attention_4 = attention("attention_4", c3), dense4 = dense("dense4", c3), gnorm4 = gnorm("gnorm4", o.groups, c3);
  // Decoder.
  tconv4 = register_module("tconv4", up(c3, c2)), tconv4_cond = register_module("tconv4_cond", up(c3, c2));
  attention_t4 = attention("attention_t4", c2), dense5 = dense("dense5", c2), tgnorm4 = gnorm("tgnorm4", o.groups, c2);
  tconv3 = register_module("tconv3", up(2 * c2, c1)), tconv3_cond = register_module("tconv3_cond", up(c2, c1));
  attention_t3 = attention("attention_t3", c1), dense6 = dense("dense6", c1), tgnorm3 = gnorm("tgnorm3", o.groups, c1);
  tconv2 = register_module("tconv2", up(2 * c1, c0)), tconv2_cond = register_module("tconv2_cond", up(c1, c0));
  attention_t2 = attention("attention_t2", c0), dense7 = dense("dense7", c0), tgnorm2 = gnorm("tgnorm2", o.groups, c0);
  tconv1 = register_module("tconv1", score_detail::same_length_up(2 * c0, o.channels));
  tconv1_cond = register_module("tconv1_cond", score_detail::same_length_up(c0, o.channels));
  attention_t1 = attention("attention_t1", o.channels);
}

void ScoreNetImpl::pretty_print(std::ostream& stream) const {
  const auto& o = options;
  stream << "merc::nn::ScoreNet(channels=" << o.channels << ", seq_len=" << o.seq_len
         << ", cond_channels=" << o.cond_channels << ", sigma=" << o.sigma << ", embed_dim=" << o.embed_dim << ")";
}

torch::Tensor ScoreNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cond) {
  using score_detail::inject;
  using score_detail::swish;
  const auto& o = options;
  MERC_CHECK(x.dim() == 3 && x.size(1) == o.channels && x.size(2) >= 1,
             "ScoreNet: x must be (N, C = {}, L >= 1), got {}", o.channels, x.sizes());
  MERC_CHECK(t.dim() == 1 && t.size(0) == x.size(0), "ScoreNet: t must be (N = {}), got {}", x.size(0), t.sizes());
  MERC_CHECK(!cond.defined() || (cond.dim() == 3 && cond.size(0) == x.size(0) && cond.size(1) == o.cond_channels &&
                                 cond.size(2) >= 1),
             "ScoreNet: cond must be (N = {}, C_cond = {}, L_cond >= 1), got {}", x.size(0), o.cond_channels,
             cond.defined() ? cond.sizes() : torch::IntArrayRef{});
  // 0. time embedding; pad L up to a multiple of the total stride (see header)
  const auto proj = t.to(fourier_w.scalar_type()).unsqueeze(1) * fourier_w.unsqueeze(0) * 2.0 * M_PI;
  const auto embed = swish(embed_linear(torch::cat({torch::sin(proj), torch::cos(proj)}, -1)));
  const int64_t L = x.size(2), padded = (L + score_detail::kTotalStride - 1) / score_detail::kTotalStride *
                                        score_detail::kTotalStride;
  const auto xp = padded == L ? x : torch::constant_pad_nd(x, {0, padded - L});
  torch::Tensor c = cond.defined() && cond_in ? cond_in(cond) : cond;
  const auto next = [&](auto& layer) { c = c.defined() ? layer(c) : c; };
  // 1. encoder: L, L/2, L/4, L/8
  const auto h1 = swish(gnorm1(inject(conv1(xp), c, attention_1, &dense1, embed)));
  next(conv2_cond);
  const auto h2 = swish(gnorm2(inject(conv2(h1), c, attention_2, &dense2, embed)));
  next(conv3_cond);
  const auto h3 = swish(gnorm3(inject(conv3(h2), c, attention_3, &dense3, embed)));
  next(conv4_cond);
  const auto h4 = swish(gnorm4(inject(conv4(h3), c, attention_4, &dense4, embed)));
  // 2. decoder with skip connections: L/4, L/2, L, L
  next(tconv4_cond);
  auto h = swish(tgnorm4(inject(tconv4(h4), c, attention_t4, &dense5, embed)));
  next(tconv3_cond);
  h = swish(tgnorm3(inject(tconv3(torch::cat({h, h3}, 1)), c, attention_t3, &dense6, embed)));
  next(tconv2_cond);
  h = swish(tgnorm2(inject(tconv2(torch::cat({h, h2}, 1)), c, attention_t2, &dense7, embed)));
  next(tconv1_cond);
  h = inject(tconv1(torch::cat({h, h1}, 1)), c, attention_t1, nullptr, embed);
  // 3. crop the padding; normalise by the perturbation std
  return h.narrow(2, 0, L) / per_sample(marginal_prob_std(t.to(h.scalar_type()), o.sigma), h);
}

torch::Tensor ScoreNetImpl::loss(const torch::Tensor& target, const torch::Tensor& cond, double eps) {
  const auto p = draw_ve_perturbation(target, options.sigma, eps);
  torch::Tensor perturbed_cond;
  if (cond.defined()) {
    MERC_CHECK(!options.condition_noise_from_target || cond.sizes() == target.sizes(),
               "ScoreNet::loss: condition_noise_from_target needs cond {} shaped like target {}", cond.sizes(),
               target.sizes());
    const auto noise = options.condition_noise_from_target ? p.z : torch::randn_like(cond);
    perturbed_cond = cond + noise * per_sample(p.std, cond);
  }
  return dsm_objective(forward(p.x_t, p.t, perturbed_cond), p.z, p.std);
}

torch::Tensor ScoreNetImpl::sample(const torch::Tensor& cond, int64_t num_steps, double eps) {
  MERC_CHECK(cond.defined() && cond.dim() == 3, "ScoreNet::sample: cond must be (N, C_cond, L_cond), got {}",
             cond.defined() ? cond.sizes() : torch::IntArrayRef{});
  torch::NoGradGuard no_grad;
  const int64_t N = cond.size(0);
  const auto std1 = marginal_prob_std(torch::ones({N}, cond.options()), options.sigma);
  auto x_init = torch::randn({N, options.channels, options.seq_len}, cond.options());
  x_init = x_init * per_sample(std1, x_init);
  const ScoreFn score = [&](const torch::Tensor& x, const torch::Tensor& t) {
    const auto perturbed_cond = cond + torch::randn_like(cond) * per_sample(marginal_prob_std(t, options.sigma), cond);
    return forward(x, t, perturbed_cond);
  };
  return euler_maruyama_sample(score, std::move(x_init), options.sigma, num_steps, eps);
}

}  // namespace merc::nn
