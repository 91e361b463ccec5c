#pragma once
// HRG-SSA's InfoNCE between two views of the nodes of each context window (jicoder-nwpu/HRG-SSA
// runner.p_contrastive_utterance_loss; method_reference.md §7.4). Per window w with n counted nodes,
// A and B stacked into 2n vectors f (A's nodes, then B's):
//
//   sim(u, v) = cos(u, v) / temperature               (temperature 1 in the release)
//   loss_w = - sum_{a < 2n} log( exp(sim(f_a, f_p(a))) / sum_{b != a, b < 2n} exp(sim(f_a, f_b)) )
//
// with p(a) the same node in the other view (a +- n): every node of both views is an anchor, its
// positive is its counterpart, its denominator all 2n - 1 other vectors. The loss is the sum over
// windows divided by the number of windows (the release averages over the samples of a batch,
// counting a sample whose window has no node to count, which adds 0).
//
// exclude_current: the window's current node (slot size - 1) is not counted (the release's emotion
// pairs, whose current node carries no gold label). Empty slots never count. Cosine uses
// u . v / (max(|u|, 1e-8) max(|v|, 1e-8)) (F.normalize's guard; the release's F.cosine_similarity
// guards the product of the norms instead, identical for non-degenerate vectors).

#include <torch/types.h>

namespace merc::nn {

struct WindowInfoNceOptions {
  bool exclude_current = false;
  double temperature = 1.0;
};

// a, b: (N, S, D) window node features of two views; mask: (N, S) bool real slots (real slots
// first, context_windows.h). Returns a scalar.
torch::Tensor window_info_nce(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask,
                              const WindowInfoNceOptions& options = {});

}  // namespace merc::nn
