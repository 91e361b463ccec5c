#include "merc/nn/sequence/cross_modal_transformer.h"

#include <limits>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../gradcheck.h"
#include "../npy_fixture.h"
#include "merc/core/error.h"

namespace merc::nn::cross_modal_transformer_test {

// float32 parity with the authors' code: two layers of d = 8 matmuls, softmax and LayerNorm on O(1)
// values; the two sides round differently (~1e-7 relative per op), 1e-5 leaves a factor ~10-100.
constexpr double kParityTol = 1e-5;
// Outputs that must not depend on an input: the masked key enters with softmax weight exactly 0,
// so the difference is 0 up to float summation order; anything >= 1e-3 is a real dependency.
constexpr double kUnaffectedTol = 1e-6;
constexpr double kAffectedMin = 1e-3;
// Central differences in double with h = 1e-6 (tests/nn/gradcheck.h): truncation + rounding ~1e-9.
constexpr double kGradTol = 1e-6;


double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(FutureMask, ByHandSquareWideAndTall) {
  const float i = -std::numeric_limits<float>::infinity();
  // (3, 3): offset 1, the usual causal mask.
  EXPECT_TRUE(torch::equal(future_mask(3, 3), torch::tensor({0.f, i, i, 0.f, 0.f, i, 0.f, 0.f, 0.f}).view({3, 3})));
  // (2, 4): offset 1 + 2 = 3, only (0, 3) is masked.
  EXPECT_TRUE(torch::equal(future_mask(2, 4), torch::tensor({0.f, 0.f, 0.f, i, 0.f, 0.f, 0.f, 0.f}).view({2, 4})));
  // (4, 2): offset 3 exceeds every j - i, nothing is masked.
  EXPECT_TRUE(torch::equal(future_mask(4, 2), torch::zeros({4, 2})));
}

// ---- parity with the authors' TransformerEncoder (tests/fixtures/make_mult_fixtures.py) ----

struct ParityCase {
  const char* name;  // fixture output file
  bool cross;
  bool attn_mask;
  bool position_embedding;
};

CrossModalTransformer fixture_encoder(bool attn_mask, bool position_embedding) {
  // The fixture's dropouts are 0.3; eval mode turns them off on both sides.
  CrossModalTransformer enc(CrossModalTransformerOptions(8, 2, 2)
                                .attn_dropout(0.3)
                                .relu_dropout(0.3)
                                .res_dropout(0.3)
                                .embed_dropout(0.3)
                                .attn_mask(attn_mask)
                                .position_embedding(position_embedding));
  testing::load_params(*enc, testing::fixture_path("mult/encoder"));
  enc->eval();
  return enc;
}

TEST(CrossModalTransformer, ParameterNamesAreTheReferenceStateDictKeys) {
  CrossModalTransformer enc(CrossModalTransformerOptions(8, 2, 2));
  // `version` is the reference's constant buffer [2.]; nothing reads it.
  testing::expect_same_names(*enc, testing::fixture_path("mult/encoder"), {"version"});
}

TEST(CrossModalTransformer, MatchesTheAuthorsEncoderInEval) {
  const auto dir = testing::fixture_path("mult/encoder");
  const ParityCase cases[] = {{"cross_nomask", true, false, false},
                              {"cross_mask", true, true, false},
                              {"self_mask", false, true, false},
                              {"self_nomask", false, false, false},
                              {"cross_mask_pos", true, true, true}};
  for (const auto& c : cases) {
    CrossModalTransformer enc = fixture_encoder(c.attn_mask, c.position_embedding);
    torch::NoGradGuard no_grad;
    torch::Tensor out;
    if (c.position_embedding)
      out = enc(testing::load_npy(dir / "x_q_pos.npy"), testing::load_npy(dir / "x_kv_pos.npy"));
    else if (c.cross)
      out = enc(testing::load_npy(dir / "x_q.npy"), testing::load_npy(dir / "x_kv.npy"));
    else
      out = enc(testing::load_npy(dir / "x_self.npy"));
    const torch::Tensor expected = testing::load_npy(dir / (std::string(c.name) + ".npy"));
    ASSERT_EQ(out.sizes(), expected.sizes()) << c.name;
    EXPECT_LT(max_abs_diff(out, expected), kParityTol) << c.name;
  }
  // The cases really differ (the flags are wired): mask on vs off moves the output.
  EXPECT_GT(max_abs_diff(testing::load_npy(dir / "cross_mask.npy"), testing::load_npy(dir / "cross_nomask.npy")),
            kAffectedMin);
}

TEST(CrossModalTransformer, PositionEmbeddingTreatsAZeroFirstChannelAsPadding) {
  // fairseq: position t + 1, or 0 (all-zero embedding) where x[t, n, 0] == 0.
  torch::Tensor x = torch::ones({3, 2, 6});
  x[1][1][0] = 0.0f;
  const torch::Tensor pos = mult_position_embedding(x);
  EXPECT_EQ(pos[1][1].abs().max().item<float>(), 0.0f);
  // Position 2 (step 1 of sample 0), half = 3, f = (1, 1e-2, 1e-4): sin(2), sin(0.02), sin(2e-4), cos(...).
  const torch::Tensor expected =
      torch::tensor({std::sin(2.0), std::sin(0.02), std::sin(2e-4), std::cos(2.0), std::cos(0.02), std::cos(2e-4)},
                    torch::kFloat);
  // float32 sin/cos of O(1) arguments: ~1e-7.
  EXPECT_TRUE(torch::allclose(pos[1][0], expected, 0, 1e-6)) << pos[1][0];
}

// ---- masks ----

CrossModalTransformer small_encoder(bool attn_mask) {
  torch::manual_seed(7);
  CrossModalTransformer enc(CrossModalTransformerOptions(8, 2, 2).attn_mask(attn_mask));
  enc->eval();
  return enc;
}

TEST(CrossModalTransformer, FutureMaskIsCausalWhenLengthsAgree) {
  torch::manual_seed(11);
  const torch::Tensor q = torch::randn({6, 2, 8});
  const torch::Tensor kv = torch::randn({6, 2, 8});
  // Change position 4 only, by a random vector (a constant shift would vanish in the LayerNorms).
  torch::Tensor kv2 = kv.clone();
  kv2[4] += 3.0f * torch::randn({2, 8});
  torch::Tensor q2 = q.clone();
  q2[4] += 3.0f * torch::randn({2, 8});
  torch::NoGradGuard no_grad;
  for (const bool mask : {true, false}) {
    CrossModalTransformer enc = small_encoder(mask);
    const torch::Tensor cross = enc(q, kv), cross2 = enc(q, kv2);
    const torch::Tensor self = enc(q), self2 = enc(q2);
    const double early_cross = max_abs_diff(cross.slice(0, 0, 4), cross2.slice(0, 0, 4));
    const double early_self = max_abs_diff(self.slice(0, 0, 4), self2.slice(0, 0, 4));
    if (mask) {
      EXPECT_LT(early_cross, kUnaffectedTol);
      EXPECT_LT(early_self, kUnaffectedTol);
      // Positions >= 4 do see the change.
      EXPECT_GT(max_abs_diff(cross.slice(0, 4), cross2.slice(0, 4)), kAffectedMin);
      EXPECT_GT(max_abs_diff(self.slice(0, 4), self2.slice(0, 4)), kAffectedMin);
    } else {
      EXPECT_GT(early_cross, kAffectedMin);
      EXPECT_GT(early_self, kAffectedMin);
    }
  }
}

TEST(CrossModalTransformer, PaddedKeysDoNotAffectTheOutput) {
  torch::manual_seed(12);
  const torch::Tensor q = torch::randn({5, 2, 8});
  const torch::Tensor kv = torch::randn({7, 2, 8});
  // Sample 0 pads its last 3 keys, sample 1 its first one.
  const torch::Tensor pad = torch::zeros({2, 7}, torch::kBool).index_put_({0, torch::indexing::Slice(4)}, true)
                                .index_put_({1, 0}, true);
  torch::Tensor kv2 = kv.clone();
  kv2.slice(0, 4).select(1, 0).copy_(50.0f * torch::randn({3, 8}));  // random, not constant: see above
  kv2[0][1].copy_(50.0f * torch::randn({8}));
  torch::NoGradGuard no_grad;
  for (const bool mask : {false, true}) {
    CrossModalTransformer enc = small_encoder(mask);
    const torch::Tensor out = enc(q, kv, pad);
    EXPECT_LT(max_abs_diff(out, enc(q, kv2, pad)), kUnaffectedTol) << "attn_mask " << mask;
    // Without the padding mask the same change moves the output (the test can fail).
    EXPECT_GT(max_abs_diff(enc(q, kv), enc(q, kv2)), kAffectedMin);
    if (!mask) {
      // Sample 0 with its 4 real keys only: the same result (float summation over 4 vs 7 terms).
      const torch::Tensor alone = enc(q.slice(1, 0, 1), kv.slice(0, 0, 4).slice(1, 0, 1));
      EXPECT_LT(max_abs_diff(out.slice(1, 0, 1), alone), kParityTol);
    }
  }
  // Self-attention: the mask is (N, L_q).
  CrossModalTransformer enc = small_encoder(false);
  torch::Tensor q2 = q.clone();
  q2[4][1].copy_(9.0f * torch::randn({8}));
  const torch::Tensor self_pad = torch::zeros({2, 5}, torch::kBool).index_put_({1, 4}, true);
  // Query 4 of sample 1 is itself changed; every other query must not see its key.
  const torch::Tensor a = enc->forward(q, {}, self_pad), b = enc->forward(q2, {}, self_pad);
  EXPECT_LT(max_abs_diff(a.slice(0, 0, 4), b.slice(0, 0, 4)), kUnaffectedTol);
}

TEST(CrossModalTransformer, RejectsBadShapes) {
  CrossModalTransformer enc = small_encoder(false);
  EXPECT_THROW(enc(torch::randn({5, 2, 7})), merc::Error);
  EXPECT_THROW(enc(torch::randn({5, 2, 8}), torch::randn({4, 3, 8})), merc::Error);
  EXPECT_THROW(enc(torch::randn({5, 2, 8}), torch::randn({4, 2, 8}), torch::zeros({2, 5}, torch::kBool)), merc::Error);
  EXPECT_THROW(CrossModalTransformer(CrossModalTransformerOptions(6, 4, 1)), merc::Error);
}

// ---- gradients, dropout, clone ----

TEST(CrossModalTransformer, GradientsMatchFiniteDifferences) {
  torch::manual_seed(13);
  for (const bool cross : {true, false}) {
    CrossModalTransformer enc(
        CrossModalTransformerOptions(4, 2, 2).attn_mask(true).position_embedding(!cross));
    enc->to(torch::kDouble);
    {  // Non-trivial LayerNorm affine parameters and biases.
      torch::NoGradGuard no_grad;
      for (auto& p : enc->parameters()) p.add_(torch::randn_like(p) * 0.3);
    }
    const torch::Tensor q = torch::randn({3, 2, 4}, torch::kDouble).requires_grad_(true);
    const torch::Tensor kv = torch::randn({4, 2, 4}, torch::kDouble).requires_grad_(true);
    const torch::Tensor pad = torch::zeros({2, 4}, torch::kBool).index_put_({1, 3}, true);
    std::vector<torch::Tensor> tensors = enc->parameters();
    tensors.push_back(q);
    if (cross) tensors.push_back(kv);
    const auto f = [&] { return cross ? enc(q, kv, pad) : enc(q); };
    EXPECT_LT(testing::max_gradient_error(f, tensors), kGradTol) << "cross " << cross;
  }
}

TEST(CrossModalTransformer, EachDropoutActsInTrainingOnly) {
  torch::manual_seed(14);
  const torch::Tensor q = torch::randn({5, 2, 8});
  const torch::Tensor kv = torch::randn({7, 2, 8});
  torch::manual_seed(15);
  CrossModalTransformer plain(CrossModalTransformerOptions(8, 2, 2).attn_mask(true));
  plain->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor reference = plain(q, kv);
  for (int which = 0; which < 4; ++which) {
    auto options = CrossModalTransformerOptions(8, 2, 2).attn_mask(true);
    if (which == 0) options.attn_dropout(0.5);
    if (which == 1) options.relu_dropout(0.5);
    if (which == 2) options.res_dropout(0.5);
    if (which == 3) options.embed_dropout(0.5);
    torch::manual_seed(15);  // same initial weights as `plain`
    CrossModalTransformer enc(options);
    enc->train();
    const torch::Tensor t1 = enc(q, kv), t2 = enc(q, kv);
    EXPECT_GT(max_abs_diff(t1, t2), kAffectedMin) << "dropout " << which;
    EXPECT_GT(max_abs_diff(t1, reference), kAffectedMin) << "dropout " << which;
    enc->eval();
    const torch::Tensor e1 = enc(q, kv), e2 = enc(q, kv);
    EXPECT_TRUE(torch::equal(e1, e2)) << "dropout " << which;
    EXPECT_TRUE(torch::equal(e1, reference)) << "dropout " << which;
  }
}

TEST(CrossModalTransformer, CloneCopiesWeightsIntoIndependentModules) {
  CrossModalTransformer enc = small_encoder(true);
  auto copy = std::dynamic_pointer_cast<CrossModalTransformerImpl>(enc->clone());
  ASSERT_TRUE(copy);
  torch::manual_seed(16);
  const torch::Tensor q = torch::randn({4, 1, 8}), kv = torch::randn({3, 1, 8});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(copy->forward(q, kv), enc(q, kv)));
  copy->layer(1).fc2->bias.add_(torch::randn({8}));  // not a constant: the final LayerNorm would remove it
  EXPECT_GT(max_abs_diff(copy->forward(q, kv), enc(q, kv)), kAffectedMin);
}

}  // namespace merc::nn::cross_modal_transformer_test
