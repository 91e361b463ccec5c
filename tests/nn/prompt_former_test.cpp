#include "merc/nn/prompt_former.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace merc::nn {
namespace prompt_former_test {

// Float32 forward against a double-precision loop computation: 1e-5 absolute covers float32
// rounding of values of order 1.
constexpr double kTol = 1e-5;

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

void set(torch::Tensor p, std::vector<float> values) {
  torch::NoGradGuard g;
  p.copy_(torch::tensor(values).reshape(p.sizes()));
}

// B = 2 dialogues, S = 2 positions, D = 2, K = 1 prototype, P = 1, no dropout; weights:
//   proj_n: fc1 (1 x 2) = [1, 0.5], b 0; fc2 = [1], b 0.1  ->  Pi_b[d] = GELU(x_b0[d] + 0.5 x_b1[d]) + 0.1
//   proj_d: fc1 (1 x 2) = [1, -1], b 0; fc2 = [2], b 0    ->  Mlp_d(z) = 2 GELU(z_0 - z_1)
//   proj_prompt = [0.5, 0.25], b 0.3
PromptFormer tiny_former(bool row_mask_term) {
  PromptFormer f(PromptFormerOptions(2, 2).num_prototypes(1).prompt_dim(1).row_mask_term(row_mask_term));
  set(f->proj_n->fc1->weight, {1, 0.5});
  set(f->proj_n->fc1->bias, {0});
  set(f->proj_n->fc2->weight, {1});
  set(f->proj_n->fc2->bias, {0.1f});
  set(f->proj_d->fc1->weight, {1, -1});
  set(f->proj_d->fc1->bias, {0});
  set(f->proj_d->fc2->weight, {2});
  set(f->proj_d->fc2->bias, {0});
  set(f->proj_prompt->weight, {0.5, 0.25});
  set(f->proj_prompt->bias, {0.3f});
  f->eval();
  return f;
}

const double kX[2][2][2] = {{{1, 0}, {0, 2}}, {{1, 1}, {-1, 0.5}}};

TEST(PromptFormer, MatchesAHandComputationAcrossTheWholeBatch) {
  auto f = tiny_former(false);
  std::vector<float> flat;
  for (auto& b : kX)
    for (auto& t : b)
      for (double v : t) flat.push_back(static_cast<float>(v));
  const auto x = torch::tensor(flat).reshape({2, 2, 2});
  const auto mask = torch::ones({2, 2}, torch::kBool);
  const PromptFormerOutput out = f(x, mask);
  ASSERT_EQ(out.prototypes.sizes(), (std::vector<int64_t>{2, 1, 2}));
  ASSERT_EQ(out.prompt.sizes(), (std::vector<int64_t>{2, 2, 1}));

  double proto[2][2];
  for (int b = 0; b < 2; ++b)
    for (int d = 0; d < 2; ++d) {
      proto[b][d] = gelu(kX[b][0][d] + 0.5 * kX[b][1][d]) + 0.1;
      EXPECT_NEAR(out.prototypes[b][0][d].item<double>(), proto[b][d], kTol);
    }
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 2; ++t) {
      // Cosine against BOTH dialogues' prototypes, softmax over the two, weighted prototype.
      const double* x_bt = kX[b][t];
      double sims[2], norm_x = std::hypot(x_bt[0], x_bt[1]);
      for (int c = 0; c < 2; ++c)
        sims[c] = (x_bt[0] * proto[c][0] + x_bt[1] * proto[c][1]) / (norm_x * std::hypot(proto[c][0], proto[c][1]));
      const double z = std::exp(sims[0]) + std::exp(sims[1]);
      double mixed[2];
      for (int d = 0; d < 2; ++d) mixed[d] = (std::exp(sims[0]) * proto[0][d] + std::exp(sims[1]) * proto[1][d]) / z;
      const double expected = 2 * gelu(mixed[0] - mixed[1]) + 0.5 * x_bt[0] + 0.25 * x_bt[1] + 0.3;
      EXPECT_NEAR(out.prompt[b][t][0].item<double>(), expected, kTol) << "b " << b << " t " << t;
    }
  // Round 2 re-uses given prototypes: prompt() with the round-1 prototypes is the same value.
  EXPECT_TRUE(torch::allclose(f->prompt(x, mask, out.prototypes), out.prompt));
}

TEST(PromptFormer, RowMaskTermDoesNotMaskItOnlyRounds) {
  auto with = tiny_former(true), without = tiny_former(false);
  const auto x = torch::tensor({1.f, 0.f, 0.f, 2.f, 1.f, 1.f, -1.f, 0.5f}).reshape({2, 2, 2});
  const auto all = torch::ones({2, 2}, torch::kBool);
  // Mask all true: the term is exactly 0.
  EXPECT_TRUE(torch::equal(with(x, all).prompt, without(x, all).prompt));
  // Mask all false: every row gets the same -1e4; softmax is unchanged up to the float spacing near
  // 1e4 (2^-10 ~ 1e-3 on a cosine; 1e-2 on the prompt is a generous bound for these weights).
  const auto none = torch::zeros({2, 2}, torch::kBool);
  const auto a = with(x, none).prompt, b = without(x, none).prompt;
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-2);
  // A partial mask masks nothing either: a masked row still attends to every prototype.
  const auto partial = torch::tensor({true, false, false, true}).reshape({2, 2});
  EXPECT_LT((with(x, partial).prompt - b).abs().max().item<double>(), 1e-2);
}

// The exact value of the row term: row r = b S + t receives (1 - mask.t().flatten()[r]) (-1e4),
// i.e. mask[r % B][r / B] (time-major); a hit row holds cos - 1e4 in float32, which is cos
// rounded to the float spacing 2^-10 of [8192, 16384), and the constant cancels in the softmax.
// Mask: dialogue 0 available, dialogue 1 not -> the hit rows are (b 0, t 1) and (b 1, t 1), not
// dialogue 1's rows as a batch-major read would give.
TEST(PromptFormer, RowMaskTermRoundsTheTimeMajorRowsCosinesTo2ToTheMinus10) {
  // tiny_former with proj_n's fc2 = [10], bias 1 (prototypes 10x larger: the same cosines, 10x
  // the change of the weighted prototype) and proj_d's fc1 = [-1, 1] (GELU in its near-linear
  // range here), so the rounding moves the prompt by well over the tolerance.
  auto f = tiny_former(true);
  set(f->proj_n->fc2->weight, {10});
  set(f->proj_n->fc2->bias, {1});
  set(f->proj_d->fc1->weight, {-1, 1});
  std::vector<float> flat;
  for (auto& b : kX)
    for (auto& t : b)
      for (double v : t) flat.push_back(static_cast<float>(v));
  const auto x = torch::tensor(flat).reshape({2, 2, 2});
  const auto mask = torch::tensor({true, true, false, false}).reshape({2, 2});
  const PromptFormerOutput out = f(x, mask);
  double proto[2][2];
  for (int b = 0; b < 2; ++b)
    for (int d = 0; d < 2; ++d) proto[b][d] = 10 * gelu(kX[b][0][d] + 0.5 * kX[b][1][d]) + 1;
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 2; ++t) {
      const int r = b * 2 + t;
      const bool mask_bt[2][2] = {{true, true}, {false, false}};
      const bool hit = !mask_bt[r % 2][r / 2];  // the time-major read (B = S = 2)
      const double* x_bt = kX[b][t];
      auto prompt_of = [&](bool rounded) {
        double sims[2], norm_x = std::hypot(x_bt[0], x_bt[1]);
        for (int c = 0; c < 2; ++c) {
          sims[c] = (x_bt[0] * proto[c][0] + x_bt[1] * proto[c][1]) / (norm_x * std::hypot(proto[c][0], proto[c][1]));
          if (rounded) sims[c] = std::nearbyint(sims[c] * 1024.0) / 1024.0;
        }
        const double z = std::exp(sims[0]) + std::exp(sims[1]);
        double mixed[2];
        for (int d = 0; d < 2; ++d) mixed[d] = (std::exp(sims[0]) * proto[0][d] + std::exp(sims[1]) * proto[1][d]) / z;
        return 2 * gelu(mixed[1] - mixed[0]) + 0.5 * x_bt[0] + 0.25 * x_bt[1] + 0.3;
      };
      EXPECT_EQ(hit, t == 1);
      EXPECT_NEAR(out.prompt[b][t][0].item<double>(), prompt_of(hit), kTol) << "b " << b << " t " << t;
      if (hit) {
        EXPECT_GT(std::abs(prompt_of(true) - prompt_of(false)), 10 * kTol) << "b " << b << " t " << t;
      }
    }
}

TEST(PromptFormer, RejectsWrongLengthAndRoundTwoHasNoPrototypeMlp) {
  auto f = tiny_former(false);
  EXPECT_THROW(f(torch::zeros({1, 3, 2}), torch::ones({1, 3}, torch::kBool)), c10::Error);
  PromptFormer round2(PromptFormerOptions(2, 2).num_prototypes(1).prompt_dim(1).make_prototypes(false));
  EXPECT_FALSE(round2->proj_n);
  EXPECT_THROW(round2->make_prototypes(torch::zeros({1, 2, 2})), c10::Error);
  EXPECT_EQ(round2->prompt(torch::ones({1, 2, 2}), torch::ones({1, 2}, torch::kBool), torch::ones({1, 1, 2})).sizes(),
            (std::vector<int64_t>{1, 2, 1}));
}

TEST(CosineSimilarityMatrix, ZeroVectorGivesZeroNotNan) {
  const auto s = cosine_similarity_matrix(torch::tensor({0.f, 0.f, 3.f, 4.f}).reshape({2, 2}),
                                          torch::tensor({3.f, 4.f}).reshape({1, 2}));
  EXPECT_EQ(s[0][0].item<float>(), 0.0f);
  EXPECT_NEAR(s[1][0].item<double>(), 1.0, 1e-6);
}

}  // namespace prompt_former_test
}  // namespace merc::nn
