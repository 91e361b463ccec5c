#include "merc/models/comp_losses.h"

#include <torch/nn/functional/distance.h>
#include <torch/torch.h>

namespace merc::models::comp {

namespace {
constexpr double kCountFloor = 1e-6;  // the reference's max(mask.sum(), 1e-6)
constexpr double kCosineEps = 1e-8;   // nn.CosineSimilarity's default eps

torch::Tensor safe_mean(const torch::Tensor& values, const torch::Tensor& mask) {
  const auto m = mask.to(values.scalar_type());
  return (values * m).sum() / m.sum().clamp_min(1.0);  // 0 when no row is real
}
}  // namespace

torch::Tensor masked_ce(const torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor& mask) {
  const auto safe_target = torch::where(mask, target, torch::zeros_like(target));
  const auto nll = -torch::log_softmax(logits, 1).gather(1, safe_target.unsqueeze(1)).squeeze(1);
  return safe_mean(nll, mask);
}

torch::Tensor masked_mse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& mask) {
  const auto p = pred.reshape({-1});
  const auto safe_target = torch::where(mask, target, torch::zeros_like(target));
  return safe_mean((p - safe_target).pow(2), mask);
}

torch::Tensor abs_cosine_mean(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& mask) {
  namespace F = torch::nn::functional;
  const auto cos = F::cosine_similarity(x, y, F::CosineSimilarityFuncOptions().dim(-1).eps(kCosineEps)).abs();
  const auto m = mask.to(cos.scalar_type());
  return (cos * m).sum() / m.sum().clamp_min(kCountFloor);
}

torch::Tensor jsd_sigmoid(const torch::Tensor& s_i, const torch::Tensor& s_j) {
  const auto p = torch::sigmoid(s_i), q = torch::sigmoid(s_j);
  const auto log_p = torch::log_sigmoid(s_i), log_q = torch::log_sigmoid(s_j);
  // log((p + q) / 2) from the log-sigmoids: finite even when both sigmoids underflow to 0.
  const auto log_m = torch::logaddexp(log_p, log_q) - std::log(2.0);
  const auto kl = p * (log_p - log_m) + q * (log_q - log_m);
  return 0.5 * kl.sum() / static_cast<double>(std::max<int64_t>(s_i.size(0), 1));
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
