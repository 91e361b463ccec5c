// T5 relative position buckets against values worked out from the formula (header comment) for
// both directions, distances past max_distance, and the float32 bucket edges (d = 64: log(8) /
// log(16) * 8 = 6 exactly in float32, so 8 + 6 = 14); the bias module's layout and its cached-
// decoding offset.
#include <gtest/gtest.h>

#include <vector>

#include "merc/core/error.h"
#include "merc/nn/t5/relative_position_bias.h"

namespace merc::nn::t5 {
namespace {

struct Case {
  int64_t offset;  // key - query
  int64_t bucket;
};

std::vector<int64_t> buckets_of(const std::vector<Case>& cases, bool bidirectional) {
  std::vector<int64_t> offsets;
  for (const auto& c : cases) offsets.push_back(c.offset);
  const torch::Tensor b = relative_position_bucket(torch::tensor(offsets, torch::kLong), bidirectional, 32, 128);
  return std::vector<int64_t>(b.data_ptr<int64_t>(), b.data_ptr<int64_t>() + b.numel());
}

TEST(T5RelativePosition, BidirectionalBucketsOfTheEncoder) {
  // 16 buckets per direction, 8 exact; keys after the query (offset > 0) use buckets 16..31.
  // Large d: 8 + floor(log(d / 8) / log(128 / 8) * 8), capped at 15:
  //   d = 11: log(1.375) / log(16) * 8 = 0.92 -> 8; d = 12: 1.17 -> 9;
  //   d = 20: 2.64 -> 10; d = 63: 5.95 -> 13; d = 64: 6 -> 14; d = 100: 7.29 -> 15; d >= 128 -> 15.
  const std::vector<Case> cases = {{0, 0},    {1, 17},   {-1, 1},    {7, 23},    {-7, 7},    {8, 24},   {-8, 8},
                                   {11, 24},  {12, 25},  {20, 26},   {-20, 10},  {63, 29},   {64, 30},  {100, 31},
                                   {127, 31}, {128, 31}, {-128, 15}, {200, 31},  {-200, 15}, {1000, 31}};
  const std::vector<int64_t> got = buckets_of(cases, true);
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(got[i], cases[i].bucket) << "offset " << cases[i].offset;
}

TEST(T5RelativePosition, CausalBucketsOfTheDecoder) {
  // 32 buckets, 16 exact, on -offset; future keys (offset > 0) fall in bucket 0.
  // Large d: 16 + floor(log(d / 16) / log(128 / 16) * 16): d = 20: 1.72 -> 17; 32: 5.33 -> 21;
  // 64: 10.67 -> 26; 100: 14.1 -> 30; d >= 128 -> 31.
  const std::vector<Case> cases = {{5, 0},    {0, 0},    {-1, 1},   {-15, 15},  {-16, 16},  {-20, 17}, {-31, 21},
                                   {-32, 21}, {-63, 26}, {-64, 26}, {-100, 30}, {-127, 31}, {-128, 31}, {-1000, 31}};
  const std::vector<int64_t> got = buckets_of(cases, false);
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(got[i], cases[i].bucket) << "offset " << cases[i].offset;
}

TEST(T5RelativePosition, RefusesBadSettings) {
  const torch::Tensor offsets = torch::arange(4, torch::kLong);
  EXPECT_THROW(relative_position_bucket(offsets.to(torch::kFloat), true, 32, 128), Error);
  EXPECT_THROW(relative_position_bucket(offsets, true, 31, 128), Error);  // odd when bidirectional
  EXPECT_THROW(relative_position_bucket(offsets, true, 32, 8), Error);    // max_distance <= exact buckets
}

TEST(T5RelativePositionBias, EachHeadReadsItsBucketsRow) {
  torch::manual_seed(0);
  RelativePositionBias bias(RelativePositionBiasOptions{/*num_heads=*/3, 32, 128, /*bidirectional=*/true});
  const torch::Tensor b = bias->forward(4, 6);
  ASSERT_EQ(b.sizes(), (std::vector<int64_t>{1, 3, 4, 6}));
  const torch::Tensor w = bias->embedding->weight;  // (32, 3)
  // query 2, key 5: offset +3 -> bucket 19; query 3, key 0: offset -3 -> bucket 3.
  for (int64_t h = 0; h < 3; ++h) {
    EXPECT_EQ(b[0][h][2][5].item<float>(), w[19][h].item<float>());
    EXPECT_EQ(b[0][h][3][0].item<float>(), w[3][h].item<float>());
  }
}

TEST(T5RelativePositionBias, CachedDecodingRowEqualsTheFullRow) {
  torch::manual_seed(1);
  RelativePositionBias bias(RelativePositionBiasOptions{2, 32, 128, /*bidirectional=*/false});
  const torch::Tensor full = bias->forward(7, 7);     // every query of a 7-token decoder
  const torch::Tensor step = bias->forward(1, 7, 6);  // the last query alone, as a cached step runs it
  EXPECT_TRUE(torch::equal(step[0].select(1, 0), full[0].select(1, 6)));
  EXPECT_THROW(bias->forward(0, 3), Error);
}

}  // namespace
}  // namespace merc::nn::t5
