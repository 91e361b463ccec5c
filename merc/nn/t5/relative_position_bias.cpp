#include "merc/nn/t5/relative_position_bias.h"

#include <cmath>
#include <ostream>

#include "merc/core/error.h"

namespace merc::nn::t5 {

torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                       int64_t num_buckets, int64_t max_distance) {
  MERC_CHECK(relative_position.scalar_type() == torch::kLong, "relative_position_bucket: offsets must be int64, got {}",
             c10::toString(relative_position.scalar_type()));
  MERC_CHECK(num_buckets >= 2 && (!bidirectional || num_buckets % 2 == 0),
             "relative_position_bucket: num_buckets must be >= 2 (and even when bidirectional), got {}", num_buckets);
  const int64_t n = bidirectional ? num_buckets / 2 : num_buckets;  // buckets per direction
  const int64_t exact = n / 2;                                       // distances with a bucket of their own
  MERC_CHECK(exact >= 1 && max_distance > exact,
             "relative_position_bucket: max_distance ({}) must exceed the {} exact buckets", max_distance, exact);
  torch::Tensor buckets = torch::zeros_like(relative_position);
  torch::Tensor distance;
  if (bidirectional) {
    buckets = buckets + relative_position.gt(0).to(torch::kLong) * n;
    distance = relative_position.abs();
  } else {
    distance = -torch::clamp_max(relative_position, 0);  // future keys -> distance 0
  }
  // log(d / e) / log(M / e) in float32 as the reference; d = 0 gives -inf, masked by `small`.
  const auto log_range = static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(exact)));
  const torch::Tensor scaled = torch::log(distance.to(torch::kFloat) / static_cast<float>(exact)) / log_range *
                               static_cast<float>(n - exact);
  const torch::Tensor small = distance.lt(exact);
  torch::Tensor large = exact + torch::where(small, torch::zeros_like(scaled), scaled).to(torch::kLong);
  large = torch::clamp_max(large, n - 1);
  return buckets + torch::where(small, distance, large);
}

RelativePositionBiasImpl::RelativePositionBiasImpl(const RelativePositionBiasOptions& o) : options(o) { reset(); }

void RelativePositionBiasImpl::reset() {
  MERC_CHECK(options.num_heads >= 1, "RelativePositionBias: num_heads must be >= 1, got {}", options.num_heads);
  embedding = register_module("embedding", torch::nn::Embedding(options.num_buckets, options.num_heads));
}

void RelativePositionBiasImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::t5::RelativePositionBias(heads=" << options.num_heads << ", buckets=" << options.num_buckets
         << ", max_distance=" << options.max_distance << ", bidirectional=" << options.bidirectional << ")";
}

torch::Tensor RelativePositionBiasImpl::forward(int64_t query_length, int64_t key_length, int64_t query_offset) {
  MERC_CHECK(query_length >= 1 && key_length >= 1 && query_offset >= 0,
             "RelativePositionBias: lengths must be >= 1 and the offset >= 0, got {} x {} at {}", query_length,
             key_length, query_offset);
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(embedding->weight.device());
  const torch::Tensor query = torch::arange(query_offset, query_offset + query_length, opts).unsqueeze(1);
  const torch::Tensor key = torch::arange(key_length, opts).unsqueeze(0);
  const torch::Tensor buckets =
      relative_position_bucket(key - query, options.bidirectional, options.num_buckets, options.max_distance);
  // (Lq, Lk, H) -> (1, H, Lq, Lk)
  return embedding(buckets).permute({2, 0, 1}).unsqueeze(0);
}

}  // namespace merc::nn::t5
