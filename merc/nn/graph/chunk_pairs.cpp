#include "merc/nn/graph/chunk_pairs.h"

#include <algorithm>
#include <vector>

#include <c10/util/Exception.h>

namespace merc::nn {

ChunkPairs chunk_pairs(const torch::Tensor& lengths, int64_t window) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64,
              "chunk_pairs: expected int64 lengths (B), got ", lengths.scalar_type(), " ", lengths.sizes());
  TORCH_CHECK(window > 0 || window == -1, "chunk_pairs: window must be > 0 or -1 (whole dialogue), got ", window);
  const torch::Tensor len_cpu = lengths.to(torch::kCPU).contiguous();
  const int64_t* len = len_cpu.data_ptr<int64_t>();
  std::vector<int64_t> first, second;
  int64_t start = 0;
  for (int64_t b = 0; b < len_cpu.size(0); ++b) {
    const int64_t L = len[b];
    TORCH_CHECK(L >= 0, "chunk_pairs: negative dialogue length ", L, " at index ", b);
    const int64_t w = window == -1 ? std::max<int64_t>(L, 1) : window;
    for (int64_t c = 0; c < L; c += w) {
      const int64_t size = std::min(w, L - c);
      for (int64_t i = 0; i < size; ++i)
        for (int64_t j = 0; j < size; ++j) {
          first.push_back(start + c + i);
          second.push_back(start + c + j);
        }
    }
    start += L;
  }
  const auto P = static_cast<int64_t>(first.size());
  ChunkPairs pairs;
  pairs.first = torch::empty({P}, torch::kInt64);
  pairs.second = torch::empty({P}, torch::kInt64);
  std::copy(first.begin(), first.end(), pairs.first.data_ptr<int64_t>());
  std::copy(second.begin(), second.end(), pairs.second.data_ptr<int64_t>());
  pairs.first = pairs.first.to(lengths.device());
  pairs.second = pairs.second.to(lengths.device());
  return pairs;
}

}  // namespace merc::nn
