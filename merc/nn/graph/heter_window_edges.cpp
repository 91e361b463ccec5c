#include "merc/nn/graph/heter_window_edges.h"

#include <algorithm>
#include <vector>

#include <c10/util/Exception.h>

namespace merc::nn {

torch::Tensor heter_window_edges(const torch::Tensor& lengths, int64_t num_blocks, int64_t window_past,
                                 int64_t window_future) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64,
              "heter_window_edges: expected int64 lengths (B), got ", lengths.scalar_type(), " ", lengths.sizes());
  TORCH_CHECK(num_blocks >= 2, "heter_window_edges: expected at least 2 modality blocks, got ", num_blocks);
  const torch::Tensor len_cpu = lengths.to(torch::kCPU).contiguous();
  const int64_t* len = len_cpu.data_ptr<int64_t>();
  const int64_t B = len_cpu.size(0);
  int64_t N = 0;
  for (int64_t b = 0; b < B; ++b) {
    TORCH_CHECK(len[b] >= 0, "heter_window_edges: negative dialogue length ", len[b], " at index ", b);
    N += len[b];
  }
  std::vector<int64_t> source, target;
  int64_t start = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t L = len[b];
    for (int64_t m = 0; m < num_blocks; ++m) {
      for (int64_t n = 0; n < num_blocks; ++n) {
        if (m == n) continue;
        for (int64_t j = 0; j < L; ++j) {
          const int64_t lo = window_past < 0 ? 0 : std::max<int64_t>(0, j - window_past);
          const int64_t hi = window_future < 0 ? L - 1 : std::min<int64_t>(L - 1, j + window_future);
          for (int64_t k = lo; k <= hi; ++k) {
            target.push_back(m * N + start + j);
            source.push_back(n * N + start + k);
          }
        }
      }
    }
    start += L;
  }
  const auto E = static_cast<int64_t>(source.size());
  torch::Tensor edges = torch::empty({2, E}, torch::kInt64);
  std::copy(source.begin(), source.end(), edges.data_ptr<int64_t>());
  std::copy(target.begin(), target.end(), edges.data_ptr<int64_t>() + E);
  return edges.to(lengths.device());
}

}  // namespace merc::nn
