#include "merc/nn/loss/window_info_nce.h"

#include <cmath>

#include <gtest/gtest.h>

#include "../gradcheck.h"

namespace merc::nn {
namespace {

// The release's p_contrastive_utterance_loss for one sample (a transcription): A, B (n, D).
torch::Tensor release_sample(const torch::Tensor& A, const torch::Tensor& B) {
  const int64_t n = A.size(0);
  if (n < 1) return torch::zeros({}, A.options());
  const torch::Tensor f = torch::cat({A, B}, 0);
  torch::Tensor sim = torch::exp(torch::cosine_similarity(f.unsqueeze(1), f.unsqueeze(0), -1));
  sim = sim.masked_fill(torch::eye(2 * n, torch::kBool), 0);
  const torch::Tensor distances = sim.sum(1);
  const torch::Tensor partner = torch::cat({torch::arange(n, 2 * n), torch::arange(0, n)});
  const torch::Tensor positive = sim.index({torch::arange(2 * n), partner});
  return -torch::log(positive / distances).sum();
}

TEST(WindowInfoNce, HandValue) {
  // Window 0: A = (e1, e2), B = (e1, e2): every anchor has cos 1 with its positive and 0 with the
  // two others: loss = 4 log((e + 2) / e). Window 1 has one node: its only pair is its positive,
  // loss 0. Mean over the 2 windows. Empty slots hold junk that must not count.
  const torch::Tensor a = torch::tensor({1.0, 0.0, 0.0, 1.0, 5.0, 5.0, 3.0, 4.0}, torch::kFloat64).view({2, 2, 2});
  const torch::Tensor b = torch::tensor({1.0, 0.0, 0.0, 1.0, 2.0, 1.0, -9.0, 9.0}, torch::kFloat64).view({2, 2, 2});
  const torch::Tensor mask = torch::tensor({true, true, true, false}).view({2, 2});
  const double e = std::exp(1.0);
  // Double tolerance: a dozen double operations.
  EXPECT_NEAR(window_info_nce(a, b, mask).item<double>(), 4 * std::log((e + 2) / e) / 2, 1e-12);
  // Temperature 0.5 doubles every similarity: 4 log((e^2 + 2) / e^2) / 2.
  EXPECT_NEAR(window_info_nce(a, b, mask, {false, 0.5}).item<double>(), 4 * std::log((e * e + 2) / (e * e)) / 2, 1e-12);
  // Excluding the current node: window 0 keeps one node (loss 0), window 1 none.
  EXPECT_NEAR(window_info_nce(a, b, mask, {true, 1.0}).item<double>(), 0.0, 1e-12);
}

TEST(WindowInfoNce, EqualsTheReleaseLoopAndExcludesTheCurrentNode) {
  torch::manual_seed(11);
  // Windows of 3, 1 and 2 real nodes (S = 3), random junk in the empty slots.
  const torch::Tensor a = torch::randn({3, 3, 5}, torch::kFloat64);
  const torch::Tensor b = torch::randn({3, 3, 5}, torch::kFloat64);
  const torch::Tensor size = torch::tensor({3, 1, 2});
  const torch::Tensor mask = torch::arange(3).unsqueeze(0) < size.unsqueeze(1);
  torch::Tensor plain = torch::zeros({}, torch::kFloat64), emotion = torch::zeros({}, torch::kFloat64);
  for (int64_t w = 0; w < 3; ++w) {
    const int64_t n = size[w].item<int64_t>();
    plain = plain + release_sample(a[w].narrow(0, 0, n), b[w].narrow(0, 0, n));
    emotion = emotion + release_sample(a[w].narrow(0, 0, n - 1), b[w].narrow(0, 0, n - 1));  // A[i][:-1]
  }
  // Double tolerance; the two cosine guards differ only for near-zero vectors.
  EXPECT_NEAR(window_info_nce(a, b, mask).item<double>(), plain.item<double>() / 3, 1e-12);
  EXPECT_NEAR(window_info_nce(a, b, mask, {true, 1.0}).item<double>(), emotion.item<double>() / 3, 1e-12);
}

TEST(WindowInfoNce, GradientMatchesFiniteDifferencesAndEmptySlotsGetNone) {
  torch::manual_seed(12);
  const torch::Tensor a = torch::randn({2, 3, 4}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor b = torch::randn({2, 3, 4}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor mask = torch::tensor({true, true, true, true, true, false}).view({2, 3});
  for (bool exclude : {false, true}) {
    auto f = [&] { return window_info_nce(a, b, mask, {exclude, 1.0}); };
    // gradcheck.h: central differences in double, error ~1e-10.
    EXPECT_LT(testing::max_gradient_error(f, {a, b}), 1e-7) << "exclude_current " << exclude;
  }
  a.mutable_grad().zero_();
  window_info_nce(a, b, mask).backward();
  EXPECT_EQ(a.grad()[1][2].abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::isfinite(a.grad()).all().item<bool>());
}

}  // namespace
}  // namespace merc::nn
