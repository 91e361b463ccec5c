#include "merc/nn/graph/context_windows.h"

#include "merc/core/error.h"

namespace merc::nn {

ContextWindows context_windows(const torch::Tensor& lengths, int64_t window) {
  MERC_CHECK(window >= 0, "context windows: window must be >= 0 previous utterances, got {}", window);
  MERC_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64,
             "context windows: lengths must be int64 (B), got {} {}", c10::toString(lengths.scalar_type()),
             lengths.sizes());
  const auto opts = lengths.options();
  const int64_t S = window + 1;
  // Per node: its dialogue's first node and its position t inside the dialogue.
  const torch::Tensor starts = torch::cumsum(lengths, 0) - lengths;                      // (B)
  const torch::Tensor first = torch::repeat_interleave(starts, lengths);                 // (N)
  const torch::Tensor target = torch::arange(first.size(0), opts);                       // (N)
  const torch::Tensor t = target - first;
  ContextWindows w;
  w.size = torch::clamp_max(t, window) + 1;
  const torch::Tensor k = torch::arange(S, opts).unsqueeze(0);                           // (1, S)
  w.mask = k < w.size.unsqueeze(1);
  w.node = torch::where(w.mask, (target - w.size + 1).unsqueeze(1) + k, torch::zeros_like(k));
  return w;
}

torch::Tensor gather_windows(const torch::Tensor& nodes, const ContextWindows& windows) {
  MERC_CHECK(nodes.dim() == 2, "gather_windows: nodes must be (num_nodes, D), got {}", nodes.sizes());
  const int64_t N = windows.num_windows(), S = windows.slots();
  const torch::Tensor rows = nodes.index_select(0, windows.node.reshape({-1})).view({N, S, nodes.size(1)});
  return rows * windows.mask.unsqueeze(-1).to(nodes.scalar_type());
}

torch::Tensor current_slot_mask(const ContextWindows& windows) {
  const torch::Tensor slot = torch::arange(windows.slots(), windows.size.options()).unsqueeze(0);
  return slot == (windows.size - 1).unsqueeze(1);
}

torch::Tensor current_slot(const torch::Tensor& slots, const ContextWindows& windows) {
  MERC_CHECK(slots.dim() == 3 && slots.size(0) == windows.num_windows() && slots.size(1) == windows.slots(),
             "current_slot: slots must be ({}, {}, D), got {}", windows.num_windows(), windows.slots(), slots.sizes());
  const torch::Tensor idx = (windows.size - 1).view({-1, 1, 1}).expand({slots.size(0), 1, slots.size(2)});
  return slots.gather(1, idx).squeeze(1);
}

}  // namespace merc::nn
