#include "merc/nn/sequence/sequence_encoder.h"

#include <gtest/gtest.h>

#include "merc/core/error.h"

namespace merc::nn {
namespace {

// Float tolerance for "the same sequence computed alone vs in a padded batch": both paths do the
// same arithmetic but BLAS may block a (1, H) and a (2, H) matmul differently, which moves the
// last bits of float32 (~1e-7 relative); 1e-5 absolute on O(1) activations leaves margin.
constexpr double kBatchTol = 1e-5;

SequenceEncoder make_encoder(RnnCell cell, bool bidirectional, int64_t layers = 1) {
  torch::manual_seed(7);
  return SequenceEncoder(
      SequenceEncoderOptions(3, 4).cell(cell).bidirectional(bidirectional).num_layers(layers).dropout(0.0));
}

// The reference: torch's own RNN run on the unpadded sequence (no packing, no padding).
torch::Tensor reference_run(SequenceEncoder& enc, const torch::Tensor& seq) {
  return enc->lstm ? std::get<0>(enc->lstm->forward(seq.unsqueeze(0))).squeeze(0)
                   : std::get<0>(enc->gru->forward(seq.unsqueeze(0))).squeeze(0);
}

class SequenceEncoderCells : public ::testing::TestWithParam<std::tuple<RnnCell, bool, int64_t>> {};

TEST_P(SequenceEncoderCells, PaddedBatchMatchesEachSequenceAlone) {
  const auto [cell, bidirectional, layers] = GetParam();
  auto enc = make_encoder(cell, bidirectional, layers);
  enc->eval();
  torch::manual_seed(1);
  const auto longer = torch::randn({5, 3});
  const auto shorter = torch::randn({3, 3});
  // Batch: the longer first (so the short one is not sorted), the short one padded with garbage
  // that must never be read.
  auto x = torch::full({2, 5, 3}, 1e3);
  x[0] = longer;
  x[1].narrow(0, 0, 3).copy_(shorter);
  const auto lengths = torch::tensor({5, 3}, torch::kInt64);
  const auto out = enc(x, lengths);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 5, enc->out_dim()}));
  EXPECT_EQ(enc->out_dim(), bidirectional ? 8 : 4);

  const auto ref_long = reference_run(enc, longer);
  const auto ref_short = reference_run(enc, shorter);
  EXPECT_TRUE(torch::allclose(out[0], ref_long, 0, kBatchTol)) << out[0] << ref_long;
  // Fails if the backward direction started at the padding or padding leaked into the state.
  EXPECT_TRUE(torch::allclose(out[1].narrow(0, 0, 3), ref_short, 0, kBatchTol)) << out[1] << ref_short;
  EXPECT_EQ(out[1].narrow(0, 3, 2).abs().max().item<float>(), 0.0f);  // zeros at padding
}

INSTANTIATE_TEST_SUITE_P(All, SequenceEncoderCells,
                         ::testing::Values(std::make_tuple(RnnCell::kLstm, true, int64_t{1}),
                                           std::make_tuple(RnnCell::kLstm, false, int64_t{1}),
                                           std::make_tuple(RnnCell::kGru, true, int64_t{2}),
                                           std::make_tuple(RnnCell::kGru, false, int64_t{1})));

TEST(SequenceEncoder, ZeroLengthSequenceGivesZerosAndDoesNotDisturbOthers) {
  auto enc = make_encoder(RnnCell::kGru, true);
  enc->eval();
  torch::manual_seed(2);
  const auto x = torch::randn({2, 4, 3});
  const auto out = enc(x, torch::tensor({4, 0}, torch::kInt64));
  EXPECT_EQ(out[1].abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::allclose(out[0], reference_run(enc, x[0]), 0, kBatchTol));
}

TEST(SequenceEncoder, GradientsReachInputsOnlyThroughRealSteps) {
  auto enc = make_encoder(RnnCell::kLstm, true);
  auto x = torch::randn({2, 4, 3}).requires_grad_(true);
  enc(x, torch::tensor({4, 2}, torch::kInt64)).sum().backward();
  EXPECT_GT(x.grad()[1].narrow(0, 0, 2).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(x.grad()[1].narrow(0, 2, 2).abs().sum().item<float>(), 0.0f);  // padding never read
}

TEST(SequenceEncoder, InputDropoutUsesOneMaskPerSequenceOverTime) {
  torch::manual_seed(3);
  const auto y = time_shared_dropout(torch::ones({4, 6, 50}), 0.5, /*training=*/true);
  // Each (sequence, feature) column is either dropped at every step or kept (scaled by 2) at every
  // step; fails for ordinary per-element dropout.
  EXPECT_TRUE(torch::equal(y, y.select(1, 0).unsqueeze(1).expand_as(y)));
  EXPECT_GT((y == 0).sum().item<int64_t>(), 0);
  EXPECT_GT((y == 2).sum().item<int64_t>(), 0);
  EXPECT_EQ(((y != 0) & (y != 2)).sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(time_shared_dropout(torch::ones({2, 3, 4}), 0.5, /*training=*/false), torch::ones({2, 3, 4})));
}

TEST(SequenceEncoder, CloneKeepsTheCellAndTheWeights) {
  auto enc = make_encoder(RnnCell::kGru, true, 2);
  enc->eval();
  auto copy = std::dynamic_pointer_cast<SequenceEncoderImpl>(enc->clone());
  ASSERT_TRUE(copy && copy->gru && !copy->lstm);
  const auto x = torch::randn({2, 3, 3});
  const auto lengths = torch::tensor({3, 2}, torch::kInt64);
  EXPECT_TRUE(torch::equal(copy->forward(x, lengths), enc(x, lengths)));
  EXPECT_NE(copy->gru->all_weights()[0].data_ptr(), enc->gru->all_weights()[0].data_ptr());
}

TEST(SequenceEncoder, RejectsBadShapesWithWhatWasExpected) {
  auto enc = make_encoder(RnnCell::kLstm, true);
  try {
    enc(torch::zeros({2, 4, 5}), torch::tensor({4, 4}, torch::kInt64));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected input (B, T, 3)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(enc(torch::zeros({2, 4, 3}), torch::tensor({4}, torch::kInt64)), c10::Error);
  EXPECT_THROW(enc(torch::zeros({2, 4, 3}), torch::tensor({4, 5}, torch::kInt64)), c10::Error);   // > T
  EXPECT_THROW(enc(torch::zeros({2, 4, 3}), torch::tensor({4, -1}, torch::kInt64)), c10::Error);  // < 0
  EXPECT_THROW(enc(torch::zeros({2, 4, 3}), torch::tensor({4, 4}, torch::kInt32)), c10::Error);
}

TEST(SequenceEncoder, ParsesCellNames) {
  EXPECT_EQ(parse_rnn_cell("lstm"), RnnCell::kLstm);
  EXPECT_EQ(parse_rnn_cell("gru"), RnnCell::kGru);
  try {
    parse_rnn_cell("rnn");
    FAIL() << "expected an error";
  } catch (const merc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("valid: lstm, gru"), std::string::npos);
  }
}

TEST(SequenceEncoder, LengthMaskMarksRealSteps) {
  const auto m = length_mask(torch::tensor({2, 0, 3}, torch::kInt64), 3);
  const auto expected = torch::tensor({1, 1, 0, 0, 0, 0, 1, 1, 1}, torch::kBool).view({3, 3});
  EXPECT_TRUE(torch::equal(m, expected));
}

}  // namespace
}  // namespace merc::nn
