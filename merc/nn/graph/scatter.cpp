#include "merc/nn/graph/scatter.h"

#include <limits>

#include <c10/util/Exception.h>

namespace merc::nn {

namespace {
void check_scatter_index(const char* what, const torch::Tensor& src, const torch::Tensor& index,
                         int64_t num_segments) {
  TORCH_CHECK(src.dim() >= 1, what, ": expected src (E, ...), got ", src.sizes());
  TORCH_CHECK(index.dim() == 1 && index.size(0) == src.size(0) && index.scalar_type() == torch::kInt64, what,
              ": expected int64 index (E) with E = ", src.size(0), ", got ", index.scalar_type(), " ", index.sizes());
  TORCH_CHECK(num_segments >= 0, what, ": expected num_segments >= 0, got ", num_segments);
  if (index.numel() > 0)
    TORCH_CHECK(index.min().item<int64_t>() >= 0 && index.max().item<int64_t>() < num_segments, what,
                ": index values must be in [0, ", num_segments, "), got [", index.min().item<int64_t>(), ", ",
                index.max().item<int64_t>(), "]");
}
}  // namespace

torch::Tensor scatter_sum(const torch::Tensor& src, const torch::Tensor& index, int64_t num_segments) {
  check_scatter_index("scatter_sum", src, index, num_segments);
  auto shape = src.sizes().vec();
  shape[0] = num_segments;
  return torch::zeros(shape, src.options()).index_add(0, index, src);
}

torch::Tensor scatter_mean(const torch::Tensor& src, const torch::Tensor& index, int64_t num_segments) {
  auto sum = scatter_sum(src, index, num_segments);
  auto count = torch::zeros({num_segments}, src.options()).index_add(0, index, torch::ones({src.size(0)}, src.options()));
  auto shape = std::vector<int64_t>(static_cast<size_t>(src.dim()), 1);
  shape[0] = num_segments;
  return sum / count.clamp_min(1).view(shape);
}

torch::Tensor scatter_softmax(const torch::Tensor& scores, const torch::Tensor& index, int64_t num_segments) {
  check_scatter_index("scatter_softmax", scores, index, num_segments);
  TORCH_CHECK(scores.dim() == 1, "scatter_softmax: expected scores (E), got ", scores.sizes());
  // The maximum is a constant shift (softmax is invariant to it), so it carries no gradient.
  auto max = torch::full({num_segments}, -std::numeric_limits<double>::infinity(), scores.options())
                 .scatter_reduce(0, index, scores.detach(), "amax", /*include_self=*/true);
  auto e = (scores - max.index_select(0, index)).exp();
  auto denom = torch::zeros({num_segments}, scores.options()).index_add(0, index, e);
  return e / denom.index_select(0, index);
}

}  // namespace merc::nn
