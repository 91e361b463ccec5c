#include "merc/nn/expert_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "gradcheck.h"

namespace merc::nn {
namespace {

// q, k, v = identity with zero bias and a zero Mlp, so layer(x) = softmax(q k^T / sqrt(hd)) v per head.
void make_pure_attention(ExpertAttentionImpl& layer) {
  torch::NoGradGuard no_grad;
  const auto d = layer.options.dim();
  for (auto* lin : {&layer.q, &layer.k, &layer.v}) {
    (*lin)->weight.copy_(torch::eye(d));
    (*lin)->bias.zero_();
  }
  for (auto* lin : {&layer.fc1, &layer.fc2}) {
    (*lin)->weight.zero_();
    (*lin)->bias.zero_();
  }
}

TEST(ExpertAttention, HandComputedMaskedAttention) {
  // D = 2 with 2 heads: head_dim 1, scale 1, head h sees coordinate h only.
  ExpertAttention layer(ExpertAttentionOptions(2).num_heads(2));
  make_pure_attention(*layer);
  layer->eval();
  // x0 = (1, 0), x1 = (5, 1), x2 = (1, 1); key 1 is unavailable.
  const auto x = torch::tensor({1.0f, 0.0f, 5.0f, 1.0f, 1.0f, 1.0f}).view({1, 3, 2});
  const auto mask = torch::tensor({true, false, true}).view({1, 3});
  const auto y = layer(x, mask);
  // Head 0: keys k0 = k2 = 1 -> equal weights 1/2 on keys 0 and 2 for every query -> (1 + 1) / 2 = 1.
  //   (If key 1 leaked, query 1 would score 25 on it and output ~5.)
  // Head 1: keys k0 = 0, k2 = 1, values 0 and 1. Query 0 (q = 0): 1/2. Queries 1, 2 (q = 1):
  //   e / (1 + e).
  const double s = std::exp(1.0) / (1 + std::exp(1.0));
  const auto expected = torch::tensor({1.0, 0.5, 1.0, s, 1.0, s}, torch::kFloat32).view({1, 3, 2});
  // 1e-6: float32 exp/divide rounding on values in [0, 1].
  EXPECT_TRUE(torch::allclose(y, expected, 0, 1e-6)) << y;
}

// A D = 4, 2-head layer (head_dim 2, scale 1/sqrt(2)) with distinct, non-symmetric q/k/v and
// Mlp weights, recomputed in double with scalar loops straight from the definition in the header:
// a swap of the fused q/k/v slices, a wrong head split (e.g. interleaved columns), a scale of
// 1/sqrt(D) or none, a dropped Mlp residual or a leaked masked key all change the values.
TEST(ExpertAttention, MultiHeadLayerEqualsAScalarLoopRecomputation) {
  constexpr int64_t D = 4, H = 2, HD = 2, B = 2, T = 3;
  ExpertAttention layer(ExpertAttentionOptions(D).num_heads(H).mlp_ratio(1.5));  // Mlp hidden 6
  layer->eval();
  // W[i][j] = 0.6 sin(seed + 1.3 i + 0.7 j), b[i] = 0.3 cos(seed + 0.9 i): distinct per Linear.
  auto weight = [](double seed, int64_t rows, int64_t cols) {
    std::vector<std::vector<double>> w(rows, std::vector<double>(cols));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) w[i][j] = 0.6 * std::sin(seed + 1.3 * i + 0.7 * j);
    return w;
  };
  auto bias = [](double seed, int64_t rows) {
    std::vector<double> b(rows);
    for (int64_t i = 0; i < rows; ++i) b[i] = 0.3 * std::cos(seed + 0.9 * i);
    return b;
  };
  struct Lin {
    std::vector<std::vector<double>> w;
    std::vector<double> b;
  };
  const int64_t hidden = 6;
  const Lin q{weight(0.1, D, D), bias(0.2, D)}, k{weight(1.7, D, D), bias(2.3, D)}, v{weight(3.1, D, D), bias(4.4, D)};
  const Lin fc1{weight(5.2, hidden, D), bias(6.1, hidden)}, fc2{weight(7.3, D, hidden), bias(8.6, D)};
  {
    torch::NoGradGuard no_grad;
    auto set = [](torch::nn::Linear& lin, const Lin& src) {
      for (int64_t i = 0; i < lin->weight.size(0); ++i) {
        for (int64_t j = 0; j < lin->weight.size(1); ++j) lin->weight[i][j] = src.w[i][j];
        lin->bias[i] = src.b[i];
      }
    };
    set(layer->q, q);
    set(layer->k, k);
    set(layer->v, v);
    set(layer->fc1, fc1);
    set(layer->fc2, fc2);
  }
  auto apply_lin = [](const Lin& l, const std::vector<double>& x) {
    std::vector<double> y(l.b);
    for (size_t i = 0; i < y.size(); ++i)
      for (size_t j = 0; j < x.size(); ++j) y[i] += l.w[i][j] * x[j];
    return y;
  };
  const auto x = torch::sin(torch::arange(B * T * D, torch::kFloat32) * 0.77 + 0.4).view({B, T, D}) * 1.5;
  // Dialogue 0: key 1 unavailable; dialogue 1: only key 2 available.
  const auto mask = torch::tensor({true, false, true, false, false, true}).view({B, T});
  const auto y = layer(x, mask);

  torch::Tensor expected = torch::zeros({B, T, D}, torch::kFloat64);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<std::vector<double>> qs, ks, vs;
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> xt(D);
      for (int64_t j = 0; j < D; ++j) xt[j] = x[b][t][j].item<double>();
      qs.push_back(apply_lin(q, xt));
      ks.push_back(apply_lin(k, xt));
      vs.push_back(apply_lin(v, xt));
    }
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> att(D, 0.0);
      for (int64_t h = 0; h < H; ++h) {  // head h = columns [h HD, (h + 1) HD) of q, k, v
        std::vector<double> score(T);
        double mx = -1e300;
        for (int64_t s = 0; s < T; ++s) {
          score[s] = 0;
          for (int64_t c = 0; c < HD; ++c) score[s] += qs[t][h * HD + c] * ks[s][h * HD + c];
          score[s] /= std::sqrt(static_cast<double>(HD));
          if (mask[b][s].item<bool>()) mx = std::max(mx, score[s]);
        }
        double z = 0;
        for (int64_t s = 0; s < T; ++s) z += mask[b][s].item<bool>() ? std::exp(score[s] - mx) : 0.0;
        for (int64_t s = 0; s < T; ++s) {
          if (!mask[b][s].item<bool>()) continue;
          for (int64_t c = 0; c < HD; ++c) att[h * HD + c] += std::exp(score[s] - mx) / z * vs[s][h * HD + c];
        }
      }
      auto hid = apply_lin(fc1, att);
      for (auto& u : hid) u = 0.5 * u * (1.0 + std::erf(u / std::sqrt(2.0)));  // exact GELU
      const auto mlp = apply_lin(fc2, hid);
      for (int64_t j = 0; j < D; ++j) expected[b][t][j] = att[j] + mlp[j];  // layer(x) = y + Mlp(y)
    }
  }
  // 1e-5: float32 through two 4-6 wide Linears, a softmax and GELU against double (~1e-6 on O(1) values).
  EXPECT_TRUE(torch::allclose(y.to(torch::kFloat64), expected, 0, 1e-5)) << y << expected;
}

TEST(ExpertAttention, MaskedKeysGetExactlyZeroAttention) {
  torch::manual_seed(3);
  ExpertAttention layer(ExpertAttentionOptions(4).num_heads(2));
  layer->eval();
  auto x = torch::randn({1, 3, 4}).requires_grad_(true);
  const auto mask = torch::tensor({true, false, true}).view({1, 3});
  // Rows 0 and 2 depend on x1 only through key/value 1, which is masked: the gradient must be
  // exactly zero (a weight of e.g. 1e-30 would make it non-zero).
  const auto y = layer(x, mask);
  (y.select(1, 0).sum() + y.select(1, 2).sum()).backward();
  EXPECT_TRUE(torch::equal(x.grad().select(1, 1), torch::zeros({1, 4}))) << x.grad();
  EXPECT_GT(x.grad().select(1, 0).abs().sum().item<float>(), 0.0f);
}

TEST(ExpertAttention, AllMaskedDialogueGivesZeroAttentionNotNaN) {
  torch::manual_seed(5);
  ExpertAttention layer(ExpertAttentionOptions(4).num_heads(2));
  layer->eval();
  auto x = torch::randn({2, 3, 4}).requires_grad_(true);
  const auto mask = torch::tensor({true, true, false, false, false, false}).view({2, 3});
  const auto y = layer(x, mask);
  ASSERT_TRUE(torch::isfinite(y).all().item<bool>()) << y;
  // Attention output 0 -> every row of dialogue 1 is 0 + Mlp(0) = fc2(gelu(fc1.bias)) (fc2 with its bias).
  const auto mlp0 = layer->fc2(torch::gelu(layer->fc1->bias));
  // 1e-6: float32 rounding of a 4-wide Linear.
  EXPECT_TRUE(torch::allclose(y[1], mlp0.expand({3, 4}), 0, 1e-6)) << y[1];
  y.sum().backward();
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>()) << x.grad();
  for (const auto& p : layer->parameters()) EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
  // Dialogue 1's attention is zero, so its inputs get no gradient at all.
  EXPECT_TRUE(torch::equal(x.grad()[1], torch::zeros({3, 4})));
}

TEST(ExpertAttention, GradientMatchesFiniteDifferences) {
  torch::manual_seed(11);
  ExpertAttention layer(ExpertAttentionOptions(4).num_heads(2).mlp_ratio(1.5));
  layer->to(torch::kFloat64);
  layer->eval();
  auto x = torch::randn({2, 3, 4}, torch::kFloat64).requires_grad_(true);
  const auto mask = torch::tensor({true, false, true, false, false, false}).view({2, 3});
  // 1e-7: see gradcheck.h.
  EXPECT_LT(testing::max_gradient_error([&] { return layer(x, mask); }, {x, layer->q->weight, layer->fc1->weight}),
            1e-7);
}

TEST(ExpertStack, AddsOuterResidualAfterEveryLayer) {
  torch::manual_seed(7);
  ExpertStack stack(ExpertAttentionOptions(4).num_heads(2), 3);
  stack->eval();
  ASSERT_EQ(stack->layers->size(), 3u);
  const auto x = torch::randn({2, 5, 4});
  const auto mask = torch::rand({2, 5}) > 0.4;
  auto expected = x;
  for (const auto& l : *stack->layers) expected = expected + l->as<ExpertAttentionImpl>()->forward(expected, mask);
  const auto y = stack(x, mask);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(y, expected));
  // And it is not the identity (the layers do something).
  EXPECT_FALSE(torch::allclose(y, x));
}

TEST(ExpertStack, ShapesAndParameterCount) {
  ExpertStack stack(ExpertAttentionOptions(8).num_heads(4).mlp_ratio(2.0), 2);
  const auto y = stack(torch::randn({3, 6, 8}), torch::ones({3, 6}, torch::kBool));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{3, 6, 8}));
  int64_t n = 0;
  for (const auto& p : stack->parameters()) n += p.numel();
  // Per layer: q, k, v 3 * (8*8 + 8) = 216; fc1 8*16 + 16 = 144; fc2 16*8 + 8 = 136 -> 496; no out-proj, no norm.
  EXPECT_EQ(n, 2 * 496);
}

TEST(ExpertAttention, RejectsBadShapesAndOptions) {
  EXPECT_THROW(ExpertAttention(ExpertAttentionOptions(5).num_heads(2)), c10::Error);
  EXPECT_THROW(ExpertStack(ExpertAttentionOptions(4), 0), c10::Error);
  ExpertAttention layer(ExpertAttentionOptions(4));
  EXPECT_THROW(layer(torch::zeros({1, 3, 5}), torch::ones({1, 3}, torch::kBool)), c10::Error);
  EXPECT_THROW(layer(torch::zeros({1, 3, 4}), torch::ones({1, 2}, torch::kBool)), c10::Error);
  EXPECT_THROW(layer(torch::zeros({1, 3, 4}), torch::ones({1, 3})), c10::Error);  // float mask
}

}  // namespace
}  // namespace merc::nn
