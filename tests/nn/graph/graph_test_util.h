#pragma once
// Helpers for the multimodal graph tests: edge lists as sorted (src, dst) pairs so tests compare
// multisets (duplicates included) independent of build order.

#include <algorithm>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "merc/nn/graph/multimodal_edges.h"

namespace merc::nn::testing {

using Pairs = std::vector<std::pair<int64_t, int64_t>>;

inline Pairs sorted_pairs(const EdgeList& e) {
  Pairs p;
  for (int64_t i = 0; i < e.size(); ++i) p.emplace_back(e.src[static_cast<size_t>(i)], e.dst[static_cast<size_t>(i)]);
  std::sort(p.begin(), p.end());
  return p;
}

inline Pairs sorted(Pairs p) {
  std::sort(p.begin(), p.end());
  return p;
}

}  // namespace merc::nn::testing
