#include "merc/nn/rcan1d.h"

#include <ostream>

#include <torch/nn/modules/activation.h>

#include "merc/core/error.h"

namespace merc::nn {

namespace rcan1d_detail {

torch::nn::Conv1d conv(int64_t in, int64_t out, int64_t kernel) {
  return torch::nn::Conv1d(torch::nn::Conv1dOptions(in, out, kernel).stride(1).padding(kernel / 2));
}

void check_input(const torch::Tensor& x, int64_t channels, const char* who) {
  MERC_CHECK(x.dim() == 3 && x.size(1) == channels && x.size(2) >= 1, "{}: expected x (N, {}, L >= 1), got {}", who,
             channels, x.sizes());
}

}  // namespace rcan1d_detail

// ---------------------------------------------------------------- ChannelAttention1d

ChannelAttention1dImpl::ChannelAttention1dImpl(int64_t channels_, int64_t reduction_)
    : channels(channels_), reduction(reduction_) {
  reset();
}

void ChannelAttention1dImpl::reset() {
  MERC_CHECK(channels >= 1 && reduction >= 1 && channels / reduction >= 1,
             "ChannelAttention1d: need channels >= reduction >= 1, got channels {} and reduction {}", channels,
             reduction);
  const int64_t squeezed = channels / reduction;  // floor, as the reference's num_channels // reduction
  conv_du = register_module("conv_du", torch::nn::Sequential(rcan1d_detail::conv(channels, squeezed, 1), torch::nn::ReLU(),
                                                             rcan1d_detail::conv(squeezed, channels, 1),
                                                             torch::nn::Sigmoid()));
}

void ChannelAttention1dImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::ChannelAttention1d(channels=" << channels << ", reduction=" << reduction << ")";
}

torch::Tensor ChannelAttention1dImpl::forward(const torch::Tensor& x) {
  return x * conv_du->forward(x.mean(-1, /*keepdim=*/true));  // AdaptiveAvgPool1d(1) = mean over time
}

// ---------------------------------------------------------------- Rcab1d

Rcab1dImpl::Rcab1dImpl(int64_t channels_, int64_t reduction_, double res_scale_)
    : channels(channels_), reduction(reduction_), res_scale(res_scale_) {
  reset();
}

void Rcab1dImpl::reset() {
  body = register_module("body", torch::nn::Sequential(rcan1d_detail::conv(channels, channels, 3), torch::nn::ReLU(),
                                                       rcan1d_detail::conv(channels, channels, 3),
                                                       ChannelAttention1d(channels, reduction)));
}

void Rcab1dImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::Rcab1d(channels=" << channels << ", reduction=" << reduction << ", res_scale=" << res_scale
         << ")";
}

torch::Tensor Rcab1dImpl::forward(const torch::Tensor& x) { return body->forward(x) * res_scale + x; }

// ---------------------------------------------------------------- Rcan1dGroup

Rcan1dGroupImpl::Rcan1dGroupImpl(int64_t channels_, int64_t num_blocks_, int64_t reduction_, double res_scale_)
    : channels(channels_), num_blocks(num_blocks_), reduction(reduction_), res_scale(res_scale_) {
  reset();
}

void Rcan1dGroupImpl::reset() {
  MERC_CHECK(channels >= 1 && num_blocks >= 0 && reduction >= 1 && reduction <= channels,
             "Rcan1dGroup: need channels >= 1, num_blocks >= 0 and 1 <= reduction <= channels, got {}, {}, {}",
             channels, num_blocks, reduction);
  body = register_module("body", torch::nn::Sequential());
  for (int64_t b = 0; b < num_blocks; ++b) body->push_back(Rcab1d(channels, reduction, res_scale));
  body->push_back(rcan1d_detail::conv(channels, channels, 3));
}

void Rcan1dGroupImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::Rcan1dGroup(channels=" << channels << ", num_blocks=" << num_blocks
         << ", reduction=" << reduction << ", res_scale=" << res_scale << ")";
}

torch::Tensor Rcan1dGroupImpl::forward(const torch::Tensor& x) {
  rcan1d_detail::check_input(x, channels, "Rcan1dGroup");
  return body->forward(x) + x;
}

// ---------------------------------------------------------------- UnimodalReconstructor

UnimodalReconstructorImpl::UnimodalReconstructorImpl(int64_t dim_, int64_t num_blocks_, int64_t reduction_)
    : dim(dim_), num_blocks(num_blocks_), reduction(reduction_) {
  reset();
}

void UnimodalReconstructorImpl::reset() {
  MERC_CHECK(dim >= 1, "UnimodalReconstructor: dim must be >= 1, got {}", dim);
  // Registered under rohydr.py's nn.Sequential indices so the state-dict names match rec_m's.
  expand = register_module("0", rcan1d_detail::conv(dim, 2 * dim, 1));
  group = register_module("1", Rcan1dGroup(2 * dim, num_blocks, reduction));
  reduce = register_module("2", rcan1d_detail::conv(2 * dim, dim, 1));
}

void UnimodalReconstructorImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::UnimodalReconstructor(dim=" << dim << ", num_blocks=" << num_blocks
         << ", reduction=" << reduction << ")";
}

torch::Tensor UnimodalReconstructorImpl::forward(const torch::Tensor& x) {
  rcan1d_detail::check_input(x, dim, "UnimodalReconstructor");
  return reduce(group(expand(x)));
}

}  // namespace merc::nn
