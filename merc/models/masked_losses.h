#pragma once
// Task losses computed inside a model, for methods whose objective has more terms than the
// trainer's one task loss (MoMKE's stage-1 unimodal heads, ComP's unimodal and private branches).
// Models sit below merc::train and cannot use its loss table, so this repeats the default losses
// of that table (train.loss = auto) with the same definition: the mean over real utterances that
// carry a target (utterance_mask, label >= 0 for classification, a finite score for regression).
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
