#pragma once
// Context windows over a batch of dialogues (HRG-SSA, method_reference.md §7.1): every real
// utterance t is the target of one window whose nodes are the W previous utterances of its
// dialogue and t itself, oldest first, current last:
//
//   window(t) = [t - n + 1, ..., t],   n = min(t, W) + 1   (short windows at dialogue starts)
//
// Windows are batched with padding: slot k of window w holds a node for k < size[w], nothing
// after. Nodes are the real utterances in node_batch.h's order (dialogue after dialogue,
// utterance order), so window w's target is node w and its slot k is node w - size[w] + 1 + k.
// Everything is computed with tensor operations (no per-window loop).

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

struct ContextWindows {
  torch::Tensor node;  // (N, S) int64: node index (node_batch.h order) of slot k; 0 where mask is false
  torch::Tensor mask;  // (N, S) bool: slot k holds a node (k < size)
  torch::Tensor size;  // (N) int64: nodes in the window, in [1, S]; the current node is slot size - 1
  int64_t num_windows() const { return node.size(0); }
  int64_t slots() const { return node.size(1); }  // S = W + 1
};

// lengths: (B) int64 dialogue lengths; window W >= 0 previous utterances. N = sum(lengths)
// windows, on lengths' device. W < 0 -> merc::Error.
ContextWindows context_windows(const torch::Tensor& lengths, int64_t window);

// (num_nodes, D) node rows -> (N, S, D) window slots, zeros where the slot is empty.
torch::Tensor gather_windows(const torch::Tensor& nodes, const ContextWindows& windows);

// (N, S) bool: true at each window's current node (slot size - 1).
torch::Tensor current_slot_mask(const ContextWindows& windows);

// (N, S, D) -> (N, D): each window's current node (slot size - 1).
torch::Tensor current_slot(const torch::Tensor& slots, const ContextWindows& windows);

}  // namespace merc::nn
