#pragma once
// merc's native dataset file: a safetensors-compatible file (merc/io/safetensors.h) holding a whole
// Dataset, readable from Python with safetensors or plain json + numpy. Layout (docs/dataset_file.md):
//
//   tensors (N = utterances of all dialogues, in dialogue order)
//     features.text / features.audio / features.visual  (N, D_m) F32   only modalities the dataset has
//     semantic           (N, K) F32  per-utterance semantic vectors; only when the dataset has them
//                                    (format_version 2)
//     sequence_offsets.<m> (N + 1,) I64  per-utterance sequences (Dialogue::sequences) of modality m
//     sequence.<m>       (S_m, D_m) F32  over all utterances in file order: utterance k's steps are
//                                    rows [off[k], off[k+1]); only when info.has_sequences, for the
//                                    modalities the dataset has (format_version 3)
//     present            (N, 3) U8   1 = modality observed; only when some Dialogue::present is set
//     speaker            (N,)   I64
//     label              (N,)   I64  -1 = unlabelled
//     score              (N,)   F32  NaN = none
//     dialogue_offsets   (num_dialogues + 1,) I64  rows of dialogue i are [off[i], off[i+1])
//   __metadata__ (all strings; structured values JSON-encoded)
//     format "merc.dataset", format_version "1" ("2" when the dataset has semantic vectors: info
//     then also holds semantic_dim and semantic_source; "3" when it has sequences: info then also
//     holds has_sequences = true), info (DatasetInfo), dialogue_ids,
//     utterance_ids, speaker_names, transcripts, splits, warnings
//
// Round trip is exact: floats bitwise (NaN scores included), UTF-8 strings, empty transcripts.
// One representational detail: a dialogue with an empty `present` is written as all-ones rows
// (when the file has a `present` tensor at all) and reads back as an empty `present`; a dialogue
// whose explicit mask is all ones likewise reads back empty. Both mean "everything present".

#include <string>

#include "merc/data/dataset.h"

namespace merc::data {

inline constexpr const char* kDatasetFileFormat = "merc.dataset";
// The newest format_version this merc reads. Writing uses the lowest version that holds the
// dataset (1 without semantic vectors or sequences, 2 with semantic vectors, 3 with sequences), so
// older builds still read such files.
inline constexpr int kDatasetFileVersion = 3;

// Writes `dataset` to `path` atomically (temporary file in the same directory + rename). Throws
// merc::Error when the dataset is inconsistent (it is validated first) or cannot be written.
void write_dataset_file(const Dataset& dataset, const std::string& path);

// Reads and validates a dataset file. Throws merc::FormatError naming the file and the problem:
// not a merc dataset, a newer format_version ("written by a newer merc"), metadata arrays whose
// lengths disagree with the tensors, non-monotonic offsets, unexpected dtypes or shapes, and
// anything Dataset::validate rejects. keep_sequences = false: stored sequences are checked but not
// loaded (info.has_sequences reads back false), which spares the memory and the batch tensors of
// models that read one vector per utterance (ReadOptions::keep_sequences).
Dataset read_dataset_file(const std::string& path, bool keep_sequences = true);

// Cheap sniff: reads only the header and checks __metadata__.format == "merc.dataset". Never throws.
bool is_merc_dataset_file(const std::string& path);

}  // namespace merc::data
