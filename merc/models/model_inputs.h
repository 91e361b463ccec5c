#pragma once
// What every model reads from a DialogueBatch, checked and masked once (design.md "Contracts
// every model shares"): each used modality's features multiplied by its modality mask, so a model
// never depends on what sits in a missing or padded slot, and the outputs at padding set to 0.

#include <torch/types.h>

#include "merc/data/batch.h"
#include "merc/models/model.h"

namespace merc::models {

// The batch in batch-major layout (B, T, ...); a no-op copy of handles when it already is.
// Checks that every used modality has features of shape (B, T, D_m) with D_m = dims.input_dims[m],
// and the masks, speakers and lengths have their documented shapes; otherwise merc::Error naming
// `model`, the tensor, the expected and the actual shape.
data::DialogueBatch checked_batch(const data::DialogueBatch& batch, const ModelDims& dims, const char* model);

// (B, T, D_m): features of modality m times modality_mask[..., m] (zeros where missing/padded).
torch::Tensor masked_modality(const data::DialogueBatch& batch, data::Modality m);

// (B, T, sum of D_m over used modalities): the used masked modalities concatenated in the order
// text, audio, visual (early fusion).
torch::Tensor fused_input(const data::DialogueBatch& batch, const ModelDims& dims);

// y (B, T, ...) with zeros where utterance_mask (B, T) is false.
torch::Tensor zero_padding(const torch::Tensor& y, const torch::Tensor& utterance_mask);

// Sum of the used input dims.
int64_t fused_dim(const ModelDims& dims);

// Checks a model's dims (at least one modality used with a positive dim; classes >= 2 for
// classification; speakers >= 1) -> merc::Error naming `model`.
void check_dims(const ModelDims& dims, const char* model);

}  // namespace merc::models
