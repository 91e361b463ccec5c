#pragma once
// The reconstruction loss of GCNet (Lian et al., TPAMI 2023, Eq. 11; public code
// zeroQiaoba/GCNet gcnet/loss.py, MaskedReconLoss): squared error on the MISSING entries only,
// summed per block (one block per modality) and divided by the block's width, summed over the
// blocks, divided by the number of counted rows (utterances):
//
//   L = ( sum_k  1/D_k  sum_{b,t : row(b,t)}  missing_k(b,t) * || r_k(b,t) - x_k(b,t) ||^2 )
//       / #{(b,t) : row(b,t)}
//
// Entries of present blocks, and rows outside row_mask, contribute nothing (and get no gradient).
// 0 when no row counts.

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace merc::nn {

// recon, target: (B, T, D) float with D = sum(block_dims); missing: (B, T, K) bool (true = block k
// of that row is missing and must be reconstructed), K = block_dims.size(); row_mask: (B, T) bool.
// Returns a scalar. Bad shapes -> c10::Error naming them.
torch::Tensor masked_reconstruction_loss(const torch::Tensor& recon, const torch::Tensor& target,
                                         const torch::Tensor& missing, const std::vector<int64_t>& block_dims,
                                         const torch::Tensor& row_mask);

}  // namespace merc::nn
