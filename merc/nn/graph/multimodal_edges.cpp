#include "merc/nn/graph/multimodal_edges.h"

#include <algorithm>

#include <c10/util/Exception.h>

namespace merc::nn {

torch::Tensor EdgeList::to_tensor(torch::Device device) const {
  const int64_t E = size();
  auto t = torch::empty({2, E}, torch::kInt64);
  if (E > 0) {  // no copy into the null data pointer of an empty tensor
    std::copy(src.begin(), src.end(), t.data_ptr<int64_t>());
    std::copy(dst.begin(), dst.end(), t.data_ptr<int64_t>() + E);
  }
  return t.to(device);
}

namespace {
void check_edge_blocks(const BlockLayout& layout, const std::vector<int64_t>& blocks, const char* fn) {
  for (int64_t k : blocks)
    TORCH_CHECK(k >= 0 && k < layout.num_blocks, fn, ": block ", k, " out of [0, ", layout.num_blocks, ")");
}
bool within_window(int64_t gap, int64_t window) { return window < 0 || gap <= window; }
}  // namespace

void add_temporal_window_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& blocks,
                               int64_t past, int64_t future, TemporalMultiplicity mode) {
  check_edge_blocks(layout, blocks, "add_temporal_window_edges");
  for (int64_t b = 0; b < layout.num_dialogues(); ++b) {
    const int64_t L = layout.lengths[b];
    for (int64_t k : blocks) {
      const int64_t base = layout.node(b, k, 0);
      for (int64_t p = 0; p < L; ++p)
        for (int64_t q = p + 1; q < L; ++q) {
          const int64_t g = q - p;
          const bool in_past = within_window(g, past), in_future = within_window(g, future);
          int64_t back = 0, fwd = 0;  // copies of q->p and p->q
          switch (mode) {
            case TemporalMultiplicity::kReference:
              back = fwd = static_cast<int64_t>(in_past) + static_cast<int64_t>(in_future);
              break;
            case TemporalMultiplicity::kDirectional:
              back = in_past ? 1 : 0;
              fwd = in_future ? 1 : 0;
              break;
            case TemporalMultiplicity::kSingle:
              back = fwd = (in_past || in_future) ? 1 : 0;
              break;
          }
          for (int64_t c = 0; c < back; ++c) out.add(base + q, base + p);
          for (int64_t c = 0; c < fwd; ++c) out.add(base + p, base + q);
        }
    }
  }
}

void add_all_pairs_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& blocks) {
  check_edge_blocks(layout, blocks, "add_all_pairs_edges");
  for (int64_t b = 0; b < layout.num_dialogues(); ++b) {
    const int64_t L = layout.lengths[b];
    for (int64_t k : blocks) {
      const int64_t base = layout.node(b, k, 0);
      for (int64_t p = 0; p < L; ++p)
        for (int64_t q = 0; q < L; ++q)
          if (p != q) out.add(base + p, base + q);
    }
  }
}

void add_speaker_window_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& blocks,
                              const torch::Tensor& speaker, int64_t past, int64_t future, bool skip_first_sender) {
  check_edge_blocks(layout, blocks, "add_speaker_window_edges");
  TORCH_CHECK(speaker.dim() == 2 && speaker.size(0) == layout.num_dialogues() && speaker.scalar_type() == torch::kInt64,
              "add_speaker_window_edges: expected int64 speaker (B, T) with B = ", layout.num_dialogues(), ", got ",
              speaker.scalar_type(), " ", speaker.sizes());
  const torch::Tensor spk = speaker.to(torch::kCPU).contiguous();
  const auto S = spk.accessor<int64_t, 2>();
  std::vector<int64_t> order;                // speakers in order of first appearance
  std::vector<std::vector<int64_t>> turns;   // per speaker slot, its utterance positions
  for (int64_t b = 0; b < layout.num_dialogues(); ++b) {
    const int64_t L = layout.lengths[b];
    TORCH_CHECK(L <= spk.size(1), "add_speaker_window_edges: dialogue ", b, " has length ", L, " > T = ", spk.size(1));
    order.clear();
    turns.clear();
    for (int64_t t = 0; t < L; ++t) {
      const auto it = std::find(order.begin(), order.end(), S[b][t]);
      if (it == order.end()) {
        order.push_back(S[b][t]);
        turns.push_back({t});
      } else {
        turns[static_cast<size_t>(it - order.begin())].push_back(t);
      }
    }
    for (const auto& s : turns) {
      const int64_t n = static_cast<int64_t>(s.size());
      for (int64_t j = skip_first_sender ? 1 : 0; j < n; ++j) {
        const int64_t first = past < 0 ? 0 : std::max<int64_t>(0, j - past);
        const int64_t last = future < 0 ? n - 1 : std::min<int64_t>(n - 1, j + future);
        auto emit = [&](int64_t kk) {
          for (int64_t blk : blocks) out.add(layout.node(b, blk, s[j]), layout.node(b, blk, s[kk]));
        };
        for (int64_t kk = j - 1; kk >= first; --kk) emit(kk);
        for (int64_t kk = j + 1; kk <= last; ++kk) emit(kk);
      }
    }
  }
}

void add_intra_utterance_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& blocks,
                               int64_t multiplicity) {
  check_edge_blocks(layout, blocks, "add_intra_utterance_edges");
  TORCH_CHECK(multiplicity >= 0, "add_intra_utterance_edges: multiplicity must be >= 0, got ", multiplicity);
  for (int64_t b = 0; b < layout.num_dialogues(); ++b)
    for (int64_t t = 0; t < layout.lengths[b]; ++t)
      for (int64_t i : blocks)
        for (int64_t j : blocks)
          if (i != j)
            for (int64_t c = 0; c < multiplicity; ++c) out.add(layout.node(b, i, t), layout.node(b, j, t));
}

void add_directed_edges(EdgeList& out, const BlockLayout& layout, const std::vector<int64_t>& sources, int64_t target) {
  check_edge_blocks(layout, sources, "add_directed_edges");
  check_edge_blocks(layout, {target}, "add_directed_edges");
  for (int64_t b = 0; b < layout.num_dialogues(); ++b)
    for (int64_t t = 0; t < layout.lengths[b]; ++t)
      for (int64_t s : sources) out.add(layout.node(b, s, t), layout.node(b, target, t));
}

HyperIncidence m3net_hyperedges(const BlockLayout& layout, torch::Device device) {
  const int64_t K = layout.num_blocks;
  std::vector<int64_t> node, edge;
  node.reserve(static_cast<size_t>(2 * layout.num_nodes()));
  edge.reserve(static_cast<size_t>(2 * layout.num_nodes()));
  int64_t next = 0;
  for (int64_t b = 0; b < layout.num_dialogues(); ++b) {
    const int64_t L = layout.lengths[b];
    for (int64_t k = 0; k < K; ++k)
      for (int64_t t = 0; t < L; ++t) {
        node.push_back(layout.node(b, k, t));
        edge.push_back(next + k);
      }
    for (int64_t t = 0; t < L; ++t)
      for (int64_t k = 0; k < K; ++k) {
        node.push_back(layout.node(b, k, t));
        edge.push_back(next + K + t);
      }
    next += K + L;
  }
  HyperIncidence h;
  h.num_hyperedges = next;
  const int64_t I = static_cast<int64_t>(node.size());
  h.node = torch::empty({I}, torch::kInt64);
  h.hyperedge = torch::empty({I}, torch::kInt64);
  if (I > 0) {
    std::copy(node.begin(), node.end(), h.node.data_ptr<int64_t>());
    std::copy(edge.begin(), edge.end(), h.hyperedge.data_ptr<int64_t>());
  }
  h.node = h.node.to(device);
  h.hyperedge = h.hyperedge.to(device);
  return h;
}

}  // namespace merc::nn
