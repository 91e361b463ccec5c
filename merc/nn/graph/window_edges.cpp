#include "merc/nn/graph/window_edges.h"

#include <algorithm>
#include <vector>

#include <c10/util/Exception.h>

namespace merc::nn {

WindowEdges window_edges(const torch::Tensor& lengths, const torch::Tensor& speaker, int64_t window_past,
                         int64_t window_future, int64_t num_speakers) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64, "window_edges: expected int64 lengths (B), got ",
              lengths.scalar_type(), " ", lengths.sizes());
  TORCH_CHECK(speaker.dim() == 2 && speaker.size(0) == lengths.size(0) && speaker.scalar_type() == torch::kInt64,
              "window_edges: expected int64 speaker (B, T) with B = ", lengths.size(0), ", got ",
              speaker.scalar_type(), " ", speaker.sizes());
  TORCH_CHECK(num_speakers > 0, "window_edges: expected num_speakers > 0, got ", num_speakers);
  const torch::Tensor len = lengths.to(torch::kCPU).contiguous();
  const torch::Tensor spk = speaker.to(torch::kCPU).contiguous();
  const int64_t B = speaker.size(0), T = speaker.size(1);
  const auto L = len.accessor<int64_t, 1>();
  const auto S = spk.accessor<int64_t, 2>();

  std::vector<int64_t> src, tgt, rel;
  int64_t offset = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = L[b];
    TORCH_CHECK(n >= 0 && n <= T, "window_edges: dialogue ", b, " has length ", n, ", expected [0, ", T, "]");
    for (int64_t t = 0; t < n; ++t)
      TORCH_CHECK(S[b][t] >= 0 && S[b][t] < num_speakers, "window_edges: dialogue ", b, " utterance ", t,
                  " has speaker ", S[b][t], ", expected [0, ", num_speakers, ")");
    for (int64_t i = 0; i < n; ++i) {
      const int64_t first = window_past < 0 ? 0 : std::max<int64_t>(0, i - window_past);
      const int64_t last = window_future < 0 ? n - 1 : std::min<int64_t>(n - 1, i + window_future);
      for (int64_t j = first; j <= last; ++j) {
        src.push_back(offset + j);
        tgt.push_back(offset + i);
        rel.push_back((S[b][j] * num_speakers + S[b][i]) * 2 + (j < i ? 0 : 1));
      }
    }
    offset += n;
  }
  const int64_t E = static_cast<int64_t>(src.size());
  auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  WindowEdges out;
  out.edge_index = torch::empty({2, E}, i64);
  out.relation = torch::empty({E}, i64);
  if (E > 0) {  // no copy into the null data pointer of an empty tensor
    std::copy(src.begin(), src.end(), out.edge_index.data_ptr<int64_t>());
    std::copy(tgt.begin(), tgt.end(), out.edge_index.data_ptr<int64_t>() + E);
    std::copy(rel.begin(), rel.end(), out.relation.data_ptr<int64_t>());
  }
  out.edge_index = out.edge_index.to(speaker.device());
  out.relation = out.relation.to(speaker.device());
  return out;
}

}  // namespace merc::nn
