#pragma once
// The dense, availability-aware conversation graph of CADGL's deleted draft (premiree/CDAGL
// 6872dbc:model.py, DGODE.build_graph; docs: method_reference.md §8.2). Nodes are utterances; for
// nodes i, j with speakers s, modality availability λ ∈ {0,1}^M (the draft: M = 3, audio/visual/text):
//
//   A[i][i] = 1                                                         (self loop)
//   A[i][j] = same_weight  * exp(-decay |i - j|)                         s_i == s_j, i != j
//   A[i][j] = cross_weight * exp(-decay |i - j|) * (1 - mean_m |λ_i^m - λ_j^m|)   s_i != s_j
//   Â[i][j] = A[i][j] / (sum_k A[i][k] + 1e-8)                           (row normalisation)
//
// with the draft's defaults same_weight 0.8, cross_weight 0.5, decay 0.1; the 1e-8 is the draft's
// (with A[i][i] = 1 every row sum is >= 1, so it changes nothing visible in float32). Every row of Â
// sums to 1 (up to that 1e-8); Â is not symmetric after normalisation.
//
// Nodes are the N = sum(lengths) real utterances numbered dialogue after dialogue (node_batch.h).
// |i - j| is the distance of the node numbers, which inside one dialogue is the utterance distance.
//
// window W > 0 keeps only the edges with |i - j| <= W (before normalisation; self loops stay): the
// figure's temporal edges (|i - j| = 1) and skip edges up to distance W. 0 (default, the draft) =
// every pair of the dialogue (or batch), the weight decaying with the distance.
//
// Quirk switch per_dialogue:
//   - true (default): edges only inside a dialogue (block diagonal; A[i][j] = 0 across dialogues).
//   - false: the draft's behaviour. The draft built ONE dense graph over all utterances of its
//     batch (its batch is a flat list of utterances, so dialogues mix): every pair of nodes is
//     connected with the formula above, |i - j| the node-number distance across the dialogue
//     boundary, and speaker ids compared across dialogues as plain integers.

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

struct DynamicConversationGraphOptions {
  double same_weight = 0.8;   // same speaker (draft alpha1)
  double cross_weight = 0.5;  // different speakers (draft alpha2)
  double decay = 0.1;         // temporal decay (draft beta)
  bool per_dialogue = true;   // false = the draft's one graph over the whole batch
  int64_t window = 0;         // > 0: only edges with |i - j| <= window; 0 = all pairs
};

// lengths: (B) int64 in [0, T]; speakers: (B, T) int64 (only equality matters; padding is not
// read); availability: (B, T, M) bool or floating with values in {0, 1} (1 = modality present),
// M >= 1 (CADGL: 3). Returns the dense (N, N) Â, N = sum(lengths), rows = target node i, columns =
// source node j (so Â h aggregates neighbours), on speakers' device, dtype = availability's when it
// is floating, else float32. Bad shapes, dtypes, lengths or availability values -> c10::Error naming
// them.
torch::Tensor dynamic_conversation_graph(const torch::Tensor& lengths, const torch::Tensor& speakers,
                                         const torch::Tensor& availability,
                                         const DynamicConversationGraphOptions& options = {});

// The per-dialogue graph as one dense block per dialogue: (B, T, T), block b = the rows and columns
// of dialogue b's nodes in the (N, N) result above (per_dialogue must be true), rows and columns at
// padding (t >= lengths[b]) exactly 0. For the batched propagation A h as bmm over (B, T, H), which
// costs B T^2 H instead of N^2 H. Same arguments and checks as above.
torch::Tensor dynamic_conversation_graph_blocks(const torch::Tensor& lengths, const torch::Tensor& speakers,
                                                const torch::Tensor& availability,
                                                const DynamicConversationGraphOptions& options = {});

}  // namespace merc::nn
