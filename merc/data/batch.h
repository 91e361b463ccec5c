#pragma once
// DialogueBatch: B dialogues padded to T utterances, the one input contract every model shares
// (design.md "Contracts every model shares").

#include <array>
#include <string>
#include <vector>

#include <torch/types.h>

#include "merc/data/dataset.h"

namespace merc::data {

enum class BatchLayout { kBatchMajor, kTimeMajor };

struct DialogueBatch {
  BatchLayout layout = BatchLayout::kBatchMajor;
  // Batch-major shapes (time-major swaps the first two dimensions):
  std::array<torch::Tensor, kNumModalities> features;  // (B, T, D_m) float32, zeros where padded or
                                                       // missing; undefined when the dataset lacks m
  torch::Tensor speaker;         // (B, T) int64 party index, 0 at padding
  torch::Tensor utterance_mask;  // (B, T) bool, true = real utterance
  torch::Tensor modality_mask;   // (B, T, 3) bool, false = modality missing (or padding)
  torch::Tensor label;           // (B, T) int64 class index, -1 at padding / unlabelled
  torch::Tensor score;           // (B, T) float32 continuous score, NaN where none, 0 at padding
  torch::Tensor lengths;         // (B) int64 dialogue lengths
  std::vector<std::string> dialogue_id;  // B ids
  // transcript[b][t] / speaker_name[b][t]: Utterance::transcript and ::speaker_name of dialogue b,
  // for models that read text (HRG-SSA's T5). Indexed dialogue-major in either layout (strings are
  // not tensors, so time_major() leaves them alone); t < lengths[b]. A model that reads them must
  // honour modality_mask[..., text] itself: apply_missing does not blank a dropped transcript.
  std::vector<std::vector<std::string>> transcript;
  std::vector<std::vector<std::string>> speaker_name;
  // (B, T, K) float32 per-utterance semantic vectors (Dialogue::semantic), zeros at padding;
  // undefined when the dataset has none (DatasetInfo::semantic_dim == 0). Not a modality: the
  // missing-modality protocols (apply_missing) leave it untouched, because the vectors are derived
  // from the transcript and a model that reads them masks them by text availability
  // (modality_mask[..., text]) itself.
  torch::Tensor semantic;
  // Per-utterance sequences (Dialogue::sequences), only when the dataset has them
  // (DatasetInfo::has_sequences); undefined otherwise and for a modality the dataset lacks.
  // sequence[m]: (B, T, L_m, D_m) float32, padded to L_m = the longest sequence of modality m in the
  // batch (at least 1, so that reductions over steps stay defined); zeros beyond an utterance's
  // length, at padding utterances and where the modality is not observed (modality_mask false).
  // sequence_mask[m]: (B, T, L_m) bool, true = a real step of an observed modality. Layouts swap
  // the first two dimensions like every (B, T, ...) tensor; apply_missing zeros both where it
  // drops the modality.
  std::array<torch::Tensor, kNumModalities> sequence;
  std::array<torch::Tensor, kNumModalities> sequence_mask;
  // Set by apply_missing (missing_protocol.h) the first time it runs on the batch: the features and
  // the modality mask as collated, before the protocol dropped anything (undefined until then;
  // same shapes and layout rules as features / modality_mask). Only for models that learn to
  // reconstruct what the protocol dropped (GCNet's reconstruction loss, an auxiliary training
  // loss); predictions must never read them.
  std::array<torch::Tensor, kNumModalities> unmasked_features;
  torch::Tensor unmasked_modality_mask;
  // The sequences and their masks as collated (set with unmasked_features, same rules; undefined
  // where sequence[m] is).
  std::array<torch::Tensor, kNumModalities> unmasked_sequence;
  std::array<torch::Tensor, kNumModalities> unmasked_sequence_mask;
  // The protocol's keep mask (B, T, 3) as drawn, padding rows included (set with the two above):
  // only GCNet's reference-row reconstruction loss reads it (its padding rows carry masks too).
  torch::Tensor protocol_keep;

  int64_t batch_size() const { return static_cast<int64_t>(dialogue_id.size()); }
  int64_t max_length() const;  // T
  // The same batch with (T, B, ...) tensors (contiguous); no-op when already time-major.
  DialogueBatch time_major() const;
  DialogueBatch batch_major() const;
  DialogueBatch to(const torch::Device& device) const;
};

// Pads and stacks `dialogues` (in the given order). Modality mask = real utterance AND the
// dataset has the modality AND the dialogue's presence mask says it was observed. `semantic` is
// copied as stored (not zeroed where text is missing; see DialogueBatch::semantic). Sequences are
// collated when info.has_sequences (a dialogue without them is a merc::Error).
DialogueBatch collate(const std::vector<const Dialogue*>& dialogues, const DatasetInfo& info);

// (B*T) bool, flattened in the batch's own layout: the utterances that carry a target for `task`
// (a real utterance with label >= 0 for classification, with a non-NaN score for regression). The
// one definition the trainer's losses, the evaluator's counts and the models' own task losses share.
torch::Tensor target_mask(const DialogueBatch& batch, Task task);

// (B, T, ...) -> (B*T, ...) (or (T, B, ...) -> (T*B, ...)): one row per utterance slot, e.g. a
// sequence (B, T, L, D) -> (B*T, L, D) for a per-utterance sequence encoder. A view where
// possible; undefined in, undefined out; fewer than 2 dimensions is a merc::Error.
torch::Tensor flatten_utterances(const torch::Tensor& x);

}  // namespace merc::data
