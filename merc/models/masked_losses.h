#pragma once
// Task losses computed inside a model, for methods whose objective has more terms than the
// trainer's one task loss (MoMKE's stage-1 unimodal heads, ComP's unimodal and private branches).
// Models sit below merc::train and cannot use its loss table; this is that table's default loss
// (train.loss = auto) built from the same pieces: data::target_mask (a real utterance with
// label >= 0, or a non-NaN score) and nn::masked_mean.
// That is also the definition of the IMER references' MaskedCELoss / MaskedMSELoss
// (wxxv/MoMKE: MoMKE/loss.py: summed NLL of log_softmax or summed squared error, divided by the
// number of real utterances).

#include <torch/types.h>

#include "merc/data/batch.h"
#include "merc/data/dataset.h"

namespace merc::models {

// output: (B, T, C) logits (classification: softmax cross-entropy) or (B, T, 1) predictions
// (regression: squared error on batch.score). Returns a scalar; 0 (with a graph) when no utterance
// has a target. Non-finite outputs at positions without a target do not leak into the result.
torch::Tensor masked_task_loss(const torch::Tensor& output, const data::DialogueBatch& batch, data::Task task);

}  // namespace merc::models
