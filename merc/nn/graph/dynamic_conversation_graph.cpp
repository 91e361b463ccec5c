#include "merc/nn/graph/dynamic_conversation_graph.h"

#include <c10/util/Exception.h>

#include "merc/nn/graph/node_batch.h"

namespace merc::nn {

torch::Tensor dynamic_conversation_graph(const torch::Tensor& lengths, const torch::Tensor& speakers,
                                         const torch::Tensor& availability,
                                         const DynamicConversationGraphOptions& options) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64,
              "dynamic_conversation_graph: expected int64 lengths (B), got ", lengths.scalar_type(), " ",
              lengths.sizes());
  const int64_t B = lengths.size(0);
  TORCH_CHECK(speakers.dim() == 2 && speakers.size(0) == B && speakers.scalar_type() == torch::kInt64,
              "dynamic_conversation_graph: expected int64 speakers (B, T) with B = ", B, ", got ",
              speakers.scalar_type(), " ", speakers.sizes());
  const int64_t T = speakers.size(1);
  TORCH_CHECK(availability.dim() == 3 && availability.size(0) == B && availability.size(1) == T &&
                  availability.size(2) >= 1 &&
                  (availability.scalar_type() == torch::kBool || availability.is_floating_point()),
              "dynamic_conversation_graph: expected bool or floating availability (B, T, M) with B = ", B,
              ", T = ", T, ", M >= 1, got ", availability.scalar_type(), " ", availability.sizes());
  if (B > 0)
    TORCH_CHECK(lengths.min().item<int64_t>() >= 0 && lengths.max().item<int64_t>() <= T,
                "dynamic_conversation_graph: lengths must be in [0, ", T, "], got ", lengths);
  TORCH_CHECK(options.decay >= 0, "dynamic_conversation_graph: decay must be >= 0, got ", options.decay);

  const auto dtype = availability.is_floating_point() ? availability.scalar_type() : torch::kFloat32;
  const auto fopt = torch::TensorOptions().dtype(dtype).device(speakers.device());
  const int64_t M = availability.size(2);
  const torch::Tensor positions = node_positions(lengths.to(speakers.device()), T);  // (N)
  const int64_t N = positions.size(0);
  if (N == 0) return torch::zeros({0, 0}, fopt);
  const torch::Tensor spk = speakers.reshape({B * T}).index_select(0, positions);                      // (N)
  const torch::Tensor lam = availability.reshape({B * T, M}).to(speakers.device()).index_select(0, positions).to(dtype);  // (N, M)
  TORCH_CHECK(((lam == 0) | (lam == 1)).all().item<bool>(),
              "dynamic_conversation_graph: availability of real utterances must be 0 or 1");

  const torch::Tensor node = torch::arange(N, fopt);
  const torch::Tensor temporal = torch::exp(-options.decay * (node.unsqueeze(1) - node.unsqueeze(0)).abs());
  const torch::Tensor similarity = 1 - (lam.unsqueeze(1) - lam.unsqueeze(0)).abs().mean(-1);  // (N, N)
  const torch::Tensor same = spk.unsqueeze(1) == spk.unsqueeze(0);
  torch::Tensor A = torch::where(same, options.same_weight * temporal, options.cross_weight * temporal * similarity);
  if (options.per_dialogue) {
    const torch::Tensor dialogue = torch::div(positions, T, "floor");
    A = A * (dialogue.unsqueeze(1) == dialogue.unsqueeze(0)).to(dtype);
  }
  A = torch::where(torch::eye(N, fopt.dtype(torch::kBool)), torch::ones_like(A), A);
  return A / (A.sum(-1, /*keepdim=*/true) + 1e-8);
}

}  // namespace merc::nn
