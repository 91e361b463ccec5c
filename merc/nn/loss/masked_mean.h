#pragma once
// The masked mean every task loss in merc ends with: sum over the rows in `mask` / their count.
// Used by the trainer's loss table (train/losses.cpp), the models' own task losses
// (models/masked_losses.cpp: MoMKE, GCNet) and ComP's loss terms (models/comp_losses.cpp), so
// that "mean over the utterances with a target" has one definition.

#include <torch/types.h>

namespace merc::nn {

// per_row (N) float, mask (N) bool -> scalar sum_{mask} per_row / max(#mask, 1): 0 (with a graph)
// when no row is in the mask. Rows outside the mask are selected away with torch::where, not
// multiplied by 0, so a non-finite value there (a padded position, an empty attention row) neither
// reaches the result nor its gradient.
torch::Tensor masked_mean(const torch::Tensor& per_row, const torch::Tensor& mask);

}  // namespace merc::nn
