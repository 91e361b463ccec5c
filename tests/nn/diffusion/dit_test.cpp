#include "merc/nn/diffusion/dit.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/core/error.h"
#include "../gradcheck.h"

namespace merc::nn {
namespace dit_test {

// Central differences in double (gradcheck.h): truncation ~1e-12, rounding ~1e-10.
constexpr double kGradTol = 1e-7;
// float32 rounding on O(1) values.
constexpr double kFloatTol = 1e-5;

void randomise(torch::nn::Module& m, double std) {
  torch::NoGradGuard g;
  for (auto& p : m.parameters()) p.normal_(0, std);
}

TEST(DitBlocks, TimestepEmbeddingByHand) {
  // dim 4: half 2, f = exp(-ln(10000) [0, 1] / 2) = [1, 0.01]; embedding = [cos(t f) | sin(t f)].
  const auto e = timestep_embedding(torch::tensor({0, 2}, torch::kInt64), 4);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(e.scalar_type(), torch::kFloat32);
  const std::vector<double> row1{std::cos(2.0), std::cos(0.02), std::sin(2.0), std::sin(0.02)};
  for (int64_t j = 0; j < 4; ++j) {
    EXPECT_NEAR(e[0][j].item<double>(), j < 2 ? 1.0 : 0.0, kFloatTol);
    EXPECT_NEAR(e[1][j].item<double>(), row1[static_cast<size_t>(j)], kFloatTol);
  }
  // Odd dim: a zero column is appended.
  const auto odd = timestep_embedding(torch::tensor({3.f}), 5);
  ASSERT_EQ(odd.sizes(), (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(odd[0][4].item<double>(), 0.0);
}

TEST(DitBlocks, FreshAdaLnZeroBlockIsExactlyTheIdentity) {
  DitBlock block(DitBlockOptions(8, 2));
  torch::manual_seed(3);
  const auto x = torch::randn({2, 5, 8});
  const auto c = torch::randn({2, 8});
  EXPECT_TRUE(torch::equal(block(x, c), x));
  // ... and stops being one once the modulation is non-zero.
  randomise(*block->ada_ln, 0.1);
  EXPECT_GT((block(x, c) - x).abs().max().item<double>(), 1e-3);
  // A fresh final layer outputs exactly zero.
  DitFinalLayer final_layer(8, 6);
  EXPECT_TRUE(torch::equal(final_layer(x, c), torch::zeros({2, 5, 6})));
}

TEST(DitBlocks, SingleTokenAttentionIsTheProjectedValue) {
  // L = 1: softmax over one key is 1, so Attn(x) = proj(W_v x + b_v).
  DitAttention attn(4, 2);
  randomise(*attn, 0.5);
  torch::manual_seed(5);
  const auto x = torch::randn({3, 1, 4});
  const auto v = torch::nn::functional::linear(x, attn->qkv->weight.narrow(0, 8, 4), attn->qkv->bias.narrow(0, 8, 4));
  EXPECT_TRUE(torch::allclose(attn(x), attn->proj(v), 0, kFloatTol));
}

TEST(DitBlocks, BlockGradientsMatchFiniteDifferences) {
  DitBlock block(DitBlockOptions(4, 2).mlp_ratio(1.5));
  block->to(torch::kFloat64);
  randomise(*block, 0.5);  // non-zero adaLN so every path carries gradient
  torch::manual_seed(7);
  auto x = torch::randn({2, 3, 4}, torch::kFloat64).requires_grad_();
  auto c = torch::randn({2, 4}, torch::kFloat64).requires_grad_();
  std::vector<torch::Tensor> wrt{x, c};
  for (auto& p : block->parameters()) wrt.push_back(p);
  EXPECT_LT(testing::max_gradient_error([&] { return block(x, c); }, wrt), kGradTol);
}

TEST(DitBlocks, TimestepEmbedderGradientsMatchFiniteDifferences) {
  TimestepEmbedder embedder(TimestepEmbedderOptions(3).frequency_embedding_size(6));
  embedder->to(torch::kFloat64);
  randomise(*embedder, 0.5);
  const auto t = torch::tensor({0, 7, 30}, torch::kInt64);
  const auto out = embedder(t);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(out.scalar_type(), torch::kFloat64);
  EXPECT_LT(testing::max_gradient_error([&] { return embedder(t); }, embedder->parameters()), kGradTol);
}

TEST(DitDenoiser, FreshModelPredictsTheUnpatchifyBias) {
  // The zero final layer makes every token's eps the unpatchify bias, at L = 48 and at L = 1.
  for (const int64_t L : {48, 1}) {
    DitDenoiserOptions o;
    o.seq_len = L;
    DitDenoiser model(o);
    torch::manual_seed(11);
    const auto eps = model(torch::randn({2, 32, L}), torch::tensor({3, 999}, torch::kInt64), torch::randn({2, 32, 7}));
    ASSERT_EQ(eps.sizes(), (std::vector<int64_t>{2, 32, L}));
    const auto bias = model->unpatchify->bias.view({1, 32, 1}).expand({2, 32, L});
    EXPECT_TRUE(torch::allclose(eps, bias, 0, kFloatTol));
  }
}

TEST(DitDenoiser, LossAndSampleShapesAndGradients) {
  DitDenoiserOptions o;
  o.channels = 4, o.seq_len = 3, o.cond_channels = 5, o.hidden = 8, o.depth = 2, o.heads = 2;
  DitDenoiser model(o);
  randomise(*model->final_layer, 0.1);  // make the output depend on the input
  torch::manual_seed(13);
  const auto cond = torch::randn({2, 5, 6});
  const auto loss = model->loss(torch::randn({2, 4, 3}), cond, NoiseSchedule::linear(1000, 1e-4, 0.02));
  ASSERT_EQ(loss.dim(), 0);
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  loss.backward();
  EXPECT_GT(model->x_embedder->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(model->y_embedder->weight.grad().abs().sum().item<double>(), 0.0);
  DdimOptions ddim;
  ddim.num_inference_steps = 5;
  const auto x = model->sample(cond, DdimSampler(NoiseSchedule::linear(50, 1e-4, 0.02), ddim));
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{2, 4, 3}));
  EXPECT_TRUE(torch::isfinite(x).all().item<bool>());
  EXPECT_TRUE(x.requires_grad());  // the sampler keeps autograd on, as RoHyDR
}

TEST(DitDenoiser, SampleFromAGivenStartIsTheSamplerOnTheDenoiser) {
  DitDenoiserOptions o;
  o.channels = 4, o.seq_len = 3, o.cond_channels = 5, o.hidden = 8, o.depth = 1, o.heads = 2;
  DitDenoiser model(o);
  randomise(*model->final_layer, 0.1);
  torch::NoGradGuard no_grad;
  torch::manual_seed(14);
  const auto cond = torch::randn({2, 5, 6});
  const auto x_T = torch::randn({2, 4, 3});
  DdimOptions ddim;
  ddim.num_inference_steps = 4;
  const DdimSampler sampler(NoiseSchedule::linear(40, 1e-4, 0.02), ddim);
  const auto x = model->sample(cond, sampler, x_T);
  const auto expected =
      sampler.sample([&](const torch::Tensor& xt, const torch::Tensor& t) { return model->forward(xt, t, cond); }, x_T);
  EXPECT_TRUE(torch::equal(x, expected));
  EXPECT_TRUE(torch::equal(model->sample(cond, sampler, x_T), x));  // no hidden randomness
  EXPECT_THROW(model->sample(cond, sampler, torch::randn({2, 4, 2})), Error);
}

TEST(DitDenoiser, RejectsBadShapes) {
  DitDenoiserOptions o;
  o.channels = 4, o.seq_len = 3, o.cond_channels = 5, o.hidden = 8, o.depth = 1, o.heads = 2;
  DitDenoiser model(o);
  const auto t = torch::zeros({2}, torch::kInt64);
  EXPECT_THROW(model(torch::zeros({2, 4, 4}), t, torch::zeros({2, 5, 1})), merc::Error);  // L != seq_len
  EXPECT_THROW(model(torch::zeros({2, 4, 3}), t, torch::zeros({2, 4, 1})), merc::Error);  // C_cond
  o.heads = 3;
  EXPECT_THROW(DitDenoiser{o}, merc::Error);
}

}  // namespace dit_test
}  // namespace merc::nn
