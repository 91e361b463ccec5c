#include "merc/nn/graph/gcnet_edges.h"

#include <algorithm>
#include <vector>

#include <c10/util/Exception.h>

namespace merc::nn {

namespace {
torch::Tensor from_vector(const std::vector<int64_t>& v) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(v.size())}, torch::TensorOptions().dtype(torch::kInt64));
  if (!v.empty()) std::copy(v.begin(), v.end(), t.data_ptr<int64_t>());  // no copy into an empty tensor
  return t;
}
}  // namespace

GcnetEdges gcnet_edges(const torch::Tensor& lengths, const torch::Tensor& speaker, int64_t window_past,
                       int64_t window_future, int64_t num_speakers) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64, "gcnet_edges: expected int64 lengths (B), got ",
              lengths.scalar_type(), " ", lengths.sizes());
  TORCH_CHECK(speaker.dim() == 2 && speaker.size(0) == lengths.size(0) && speaker.scalar_type() == torch::kInt64,
              "gcnet_edges: expected int64 speaker (B, T) with B = ", lengths.size(0), ", got ", speaker.scalar_type(),
              " ", speaker.sizes());
  TORCH_CHECK(num_speakers > 0, "gcnet_edges: expected num_speakers > 0, got ", num_speakers);
  const torch::Tensor len = lengths.to(torch::kCPU).contiguous();
  const torch::Tensor spk = speaker.to(torch::kCPU).contiguous();
  const int64_t B = speaker.size(0), T = speaker.size(1);
  const auto L = len.accessor<int64_t, 1>();
  const auto S = spk.accessor<int64_t, 2>();

  std::vector<int64_t> src, tgt, temporal, spk_rel;
  int64_t offset = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = L[b];
    TORCH_CHECK(n >= 0 && n <= T, "gcnet_edges: dialogue ", b, " has length ", n, ", expected [0, ", T, "]");
    for (int64_t t = 0; t < n; ++t)
      TORCH_CHECK(S[b][t] >= 0 && S[b][t] < num_speakers, "gcnet_edges: dialogue ", b, " utterance ", t,
                  " has speaker ", S[b][t], ", expected [0, ", num_speakers, ")");
    for (int64_t j = 0; j < n; ++j) {  // source
      const int64_t first = window_past < 0 ? 0 : std::max<int64_t>(0, j - window_past);
      const int64_t last = window_future < 0 ? n - 1 : std::min<int64_t>(n - 1, j + window_future);
      for (int64_t k = first; k <= last; ++k) {  // target
        src.push_back(offset + j);
        tgt.push_back(offset + k);
        temporal.push_back(k > j ? 0 : (k == j ? 1 : 2));
        spk_rel.push_back(S[b][k] * num_speakers + S[b][j]);
      }
    }
    offset += n;
  }
  GcnetEdges out;
  out.edge_index = torch::stack({from_vector(src), from_vector(tgt)}).to(speaker.device());
  out.temporal_relation = from_vector(temporal).to(speaker.device());
  out.speaker_relation = from_vector(spk_rel).to(speaker.device());
  return out;
}

}  // namespace merc::nn
