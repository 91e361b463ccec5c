#include "merc/nn/loss/masked_reconstruction_loss.h"

#include <gtest/gtest.h>

namespace merc::nn {
namespace {

// Float tolerance: sums of a few squares of small integers and one division by 3, ~1e-7 relative.
constexpr double kReconHandTol = 1e-6;

struct ReconHandCase {
  // B = 2, T = 2, blocks of widths 2 and 1 (D = 3).
  torch::Tensor recon = torch::tensor({1.f, 2.f, 3.f, 1.f, 1.f, 1.f, 2.f, 0.f, 0.f, 9.f, 9.f, 9.f}).view({2, 2, 3});
  torch::Tensor target = torch::tensor({0.f, 0.f, 0.f, 1.f, 0.f, 3.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}).view({2, 2, 3});
  torch::Tensor missing = torch::tensor({true, false, true, true, false, true, true, true}).view({2, 2, 2});
  torch::Tensor rows = torch::tensor({true, true, true, false}).view({2, 2});
};

TEST(MaskedReconstructionLoss, HandValueMissingEntriesOnlyPerBlockWidth) {
  // (0,0): block 0 missing: (1^2 + 2^2) / 2 = 2.5; block 1 present (its error 9 is ignored)
  // (0,1): block 0 missing: (0 + 1^2) / 2 = 0.5; block 1 missing: (1 - 3)^2 / 1 = 4
  // (1,0): block 1 missing: 0; block 0 present (error 4 ignored)
  // (1,1): not a counted row (padding), everything ignored
  // L = (2.5 + 0.5 + 4 + 0) / 3 rows = 7 / 3.
  ReconHandCase h;
  const auto loss = masked_reconstruction_loss(h.recon, h.target, h.missing, {2, 1}, h.rows);
  EXPECT_NEAR(loss.item<float>(), 7.0 / 3.0, kReconHandTol);
  // The block widths matter: with widths {1, 2} the same numbers give another value.
  const auto swapped = masked_reconstruction_loss(h.recon, h.target, h.missing, {1, 2}, h.rows);
  EXPECT_GT(std::abs(swapped.item<float>() - loss.item<float>()), 0.1);
}

TEST(MaskedReconstructionLoss, GradientOnlyAtCountedMissingEntries) {
  ReconHandCase h;
  auto recon = h.recon.clone().requires_grad_(true);
  masked_reconstruction_loss(recon, h.target, h.missing, {2, 1}, h.rows).backward();
  // d/dr of (r - x)^2 / D_k / 3 = 2 (r - x) / D_k / 3 at counted missing entries, 0 elsewhere.
  const auto expected = torch::tensor({2.f / 2 / 3, 4.f / 2 / 3, 0.f, 0.f, 2.f / 2 / 3, 2.f * -2 / 3, 0.f, 0.f,
                                       2.f * 0 / 3, 0.f, 0.f, 0.f})
                            .view({2, 2, 3});
  EXPECT_TRUE(torch::allclose(recon.grad(), expected, 0, kReconHandTol)) << recon.grad();
}

TEST(MaskedReconstructionLoss, NothingMissingOrNoRowsIsZero) {
  ReconHandCase h;
  EXPECT_EQ(masked_reconstruction_loss(h.recon, h.target, torch::zeros_like(h.missing), {2, 1}, h.rows).item<float>(),
            0.0f);
  EXPECT_EQ(masked_reconstruction_loss(h.recon, h.target, h.missing, {2, 1}, torch::zeros_like(h.rows)).item<float>(),
            0.0f);
}

TEST(MaskedReconstructionLoss, RejectsBadShapes) {
  ReconHandCase h;
  EXPECT_THROW(masked_reconstruction_loss(h.recon, h.target, h.missing, {2, 2}, h.rows), c10::Error);
  EXPECT_THROW(masked_reconstruction_loss(h.recon, h.target.narrow(1, 0, 1), h.missing, {2, 1}, h.rows), c10::Error);
  EXPECT_THROW(masked_reconstruction_loss(h.recon, h.target, h.missing.narrow(2, 0, 1), {2, 1}, h.rows), c10::Error);
  EXPECT_THROW(masked_reconstruction_loss(h.recon, h.target, h.missing, {2, 1}, h.rows.narrow(1, 0, 1)), c10::Error);
  EXPECT_THROW(masked_reconstruction_loss(h.recon, h.target, h.missing, {3, 0}, h.rows), c10::Error);
}

}  // namespace
}  // namespace merc::nn
