#include "merc/nn/graph/dynamic_conversation_graph.h"

#include <c10/util/Exception.h>

#include "merc/nn/graph/node_batch.h"

namespace merc::nn {

namespace dynamic_graph_detail {

// Checks the arguments of both builders (see the header); returns the adjacency dtype.
torch::ScalarType check_inputs(const torch::Tensor& lengths, const torch::Tensor& speakers,
                               const torch::Tensor& availability, const DynamicConversationGraphOptions& options) {
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
  TORCH_CHECK(options.window >= 0, "dynamic_conversation_graph: window must be >= 0 (0 = all pairs), got ",
              options.window);
  return availability.is_floating_point() ? availability.scalar_type() : torch::kFloat32;
}

void check_availability_values(const torch::Tensor& lam) {
  TORCH_CHECK(((lam == 0) | (lam == 1)).all().item<bool>(),
              "dynamic_conversation_graph: availability of real utterances must be 0 or 1");
}

// The unnormalised weights between nodes at positions pos_i, pos_j (..., n, n) with speakers spk
// (..., n) and availability lam (..., n, M); self loops not yet set. Works for one (N, N) graph and
// for a batch of (B, T, T) blocks alike.
torch::Tensor pair_weights(const torch::Tensor& pos, const torch::Tensor& spk, const torch::Tensor& lam,
                           const DynamicConversationGraphOptions& options) {
  const torch::Tensor distance = (pos.unsqueeze(-1) - pos.unsqueeze(-2)).abs();
  const torch::Tensor temporal = torch::exp(-options.decay * distance);
  const torch::Tensor similarity = 1 - (lam.unsqueeze(-2) - lam.unsqueeze(-3)).abs().mean(-1);
  const torch::Tensor same = spk.unsqueeze(-1) == spk.unsqueeze(-2);
  torch::Tensor A = torch::where(same, options.same_weight * temporal, options.cross_weight * temporal * similarity);
  if (options.window > 0) A = A * (distance <= static_cast<double>(options.window)).to(A.scalar_type());
  return A;
}

}  // namespace dynamic_graph_detail

torch::Tensor dynamic_conversation_graph(const torch::Tensor& lengths, const torch::Tensor& speakers,
                                         const torch::Tensor& availability,
                                         const DynamicConversationGraphOptions& options) {
  const auto dtype = dynamic_graph_detail::check_inputs(lengths, speakers, availability, options);
  const int64_t B = lengths.size(0), T = speakers.size(1), M = availability.size(2);
  const auto fopt = torch::TensorOptions().dtype(dtype).device(speakers.device());
  const torch::Tensor positions = node_positions(lengths.to(speakers.device()), T);  // (N)
  const int64_t N = positions.size(0);
  if (N == 0) return torch::zeros({0, 0}, fopt);
  const torch::Tensor spk = speakers.reshape({B * T}).index_select(0, positions);  // (N)
  const torch::Tensor lam =
      availability.reshape({B * T, M}).to(speakers.device()).index_select(0, positions).to(dtype);  // (N, M)
  dynamic_graph_detail::check_availability_values(lam);

  torch::Tensor A = dynamic_graph_detail::pair_weights(torch::arange(N, fopt), spk, lam, options);
  if (options.per_dialogue) {
    const torch::Tensor dialogue = torch::div(positions, T, "floor");
    A = A * (dialogue.unsqueeze(1) == dialogue.unsqueeze(0)).to(dtype);
  }
  A = torch::where(torch::eye(N, fopt.dtype(torch::kBool)), torch::ones_like(A), A);
  return A / (A.sum(-1, /*keepdim=*/true) + 1e-8);
}

torch::Tensor dynamic_conversation_graph_blocks(const torch::Tensor& lengths, const torch::Tensor& speakers,
                                                const torch::Tensor& availability,
                                                const DynamicConversationGraphOptions& options) {
  TORCH_CHECK(options.per_dialogue,
              "dynamic_conversation_graph_blocks: the block form is the per-dialogue graph; per_dialogue = false "
              "needs dynamic_conversation_graph");
  const auto dtype = dynamic_graph_detail::check_inputs(lengths, speakers, availability, options);
  const int64_t T = speakers.size(1);
  const auto fopt = torch::TensorOptions().dtype(dtype).device(speakers.device());
  const torch::Tensor real = torch::arange(T, lengths.options().device(speakers.device())).unsqueeze(0) <
                             lengths.to(speakers.device()).unsqueeze(1);  // (B, T)
  const torch::Tensor lam = availability.to(speakers.device()).to(dtype);
  dynamic_graph_detail::check_availability_values(lam.index({real}));
  const torch::Tensor pos = torch::arange(T, fopt).expand({speakers.size(0), T});
  const torch::Tensor valid = (real.unsqueeze(2) & real.unsqueeze(1)).to(dtype);  // (B, T, T)
  torch::Tensor A = dynamic_graph_detail::pair_weights(pos, speakers, lam, options) * valid;
  const torch::Tensor eye = torch::eye(T, fopt.dtype(torch::kBool)).unsqueeze(0) & real.unsqueeze(2);
  A = torch::where(eye, torch::ones_like(A), A);
  return A / (A.sum(-1, /*keepdim=*/true) + 1e-8);
}

}  // namespace merc::nn
