#include "merc/models/comp_losses.h"

#include <algorithm>
#include <cmath>

#include <torch/autograd.h>
#include <torch/torch.h>

#include "merc/nn/loss/masked_mean.h"

namespace merc::models::comp {

namespace {
constexpr double kCountFloor = 1e-6;  // the reference's max(mask.sum(), 1e-6)
constexpr double kCosineEps = 1e-8;   // nn.CosineSimilarity's default eps
}  // namespace

torch::Tensor masked_ce(const torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor& mask) {
  const auto safe_target = torch::where(mask, target, torch::zeros_like(target));
  const auto nll = -torch::log_softmax(logits, 1).gather(1, safe_target.unsqueeze(1)).squeeze(1);
  return nn::masked_mean(nll, mask);
}

torch::Tensor masked_mse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& mask) {
  const auto p = pred.reshape({-1});
  const auto safe_target = torch::where(mask, target, torch::zeros_like(target));
  return nn::masked_mean((p - safe_target).pow(2), mask);
}

torch::Tensor abs_cosine_mean(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& mask) {
  // cos = <x, y> / (max(|x|, eps) max(|y|, eps)) as nn.CosineSimilarity documents it, written out
  // because LibTorch 1.13's cosine_similarity backward took ~26 ms at (2080, 256) against ~3 ms
  // for these few ops (9 calls per ComP step). sqrt(max(|x|^2, eps^2)) = max(|x|, eps) and keeps
  // the gradient finite for an all-zero row (clamped first, so sqrt never sees 0).
  const double eps2 = kCosineEps * kCosineEps;
  const auto dot = (x * y).sum(-1);
  const auto nx = (x * x).sum(-1).clamp_min(eps2).sqrt(), ny = (y * y).sum(-1).clamp_min(eps2).sqrt();
  const auto cos = (dot / (nx * ny)).abs();
  const auto m = mask.to(cos.scalar_type());
  return (cos * m).sum() / m.sum().clamp_min(kCountFloor);
}

namespace {
// JSD with its gradient in closed form. With p = sigmoid(a), q = sigmoid(b), m = (p + q) / 2 and
// L = c sum [p (log p - log m) + q (log q - log m)], c = 1 / (2N):
//   dL/dp = c (log p - log m) (the terms from m cancel: 1 - (p + q) / (2m) = 0), dp/da = p (1 - p),
// so dL/da = c (log p - log m) p (1 - p), and the same for b. Autograd through log_sigmoid,
// logaddexp and the products kept a dozen (N, D) intermediates and took ~120 ms per call at
// (2080, 256) on LibTorch 1.13 CPU (3 calls per ComP step); this is a handful of element-wise ops.
class JsdSigmoidFunction : public torch::autograd::Function<JsdSigmoidFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    const double c = 0.5 / static_cast<double>(std::max<int64_t>(a.size(0), 1));
    const auto log_p = torch::log_sigmoid(a), log_q = torch::log_sigmoid(b);
    const auto p = torch::sigmoid(a), q = torch::sigmoid(b);
    // log((p + q) / 2) from the log-sigmoids: finite even when both sigmoids underflow to 0.
    const auto log_m = torch::logaddexp(log_p, log_q) - std::log(2.0);
    const auto dp = log_p - log_m, dq = log_q - log_m;
    // The gradients are built here (forward has every factor at hand) and only when needed.
    if (a.requires_grad() || b.requires_grad()) ctx->save_for_backward({dp * (p * (1 - p)) * c, dq * (q * (1 - q)) * c});
    return (p * dp + q * dq).sum() * c;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    return {saved[0] * grad[0], saved[1] * grad[0]};
  }
};
}  // namespace

torch::Tensor jsd_sigmoid(const torch::Tensor& s_i, const torch::Tensor& s_j) {
  TORCH_CHECK(s_i.sizes() == s_j.sizes(), "jsd_sigmoid: expected equal shapes, got ", s_i.sizes(), " and ",
              s_j.sizes());
  return JsdSigmoidFunction::apply(s_i, s_j);
}

DisentangleTerms disentangle_loss(const std::vector<torch::Tensor>& privates, const std::vector<torch::Tensor>& shareds,
                                  const torch::Tensor& mask) {
  TORCH_CHECK(privates.size() == shareds.size() && !privates.empty(), "disentangle_loss: need one private and one "
              "shared tensor per modality");
  DisentangleTerms t;
  t.cosine = torch::zeros({}, privates[0].options());
  t.jsd = torch::zeros({}, privates[0].options());
  for (size_t i = 0; i < privates.size(); ++i)
    for (size_t j = i + 1; j < privates.size(); ++j) {
      t.cosine = t.cosine + abs_cosine_mean(privates[i], privates[j], mask) +
                 abs_cosine_mean(privates[i], shareds[i], mask) + abs_cosine_mean(privates[j], shareds[j], mask);
      t.jsd = t.jsd + jsd_sigmoid(shareds[i], shareds[j]);
    }
  return t;
}

}  // namespace merc::models::comp
