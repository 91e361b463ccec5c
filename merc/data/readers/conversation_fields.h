#pragma once
// Assembles Dialogues from the "one dict per field" pickles of this field (videoIDs[vid],
// videoSpeakers[vid], videoLabels[vid], videoText[vid], ...). A reader says which dict plays which
// role (and how speakers and labels are encoded); this file does the per-dialogue work once:
// length agreement between fields, consistent feature dims across dialogues, label ranges,
// speaker decoding, column-wise concatenation of multi-part features (four RoBERTa layers).
//
// Fields may come from different files (M3Net takes RoBERTa text from one pickle and audio,
// visual, labels from another); each DictById carries its own path, so messages name the file
// that holds the defect.

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/data/readers/pickle_layout.h"

namespace merc::data {

// How a label list becomes Utterance::label / Utterance::score.
struct LabelRule {
  // Integer class labels in 0..num_classes-1 (anything else is a FormatError).
  int64_t num_classes = 0;
  // When set, labels are numbers (scores): label = bin_score(s) and score = s are both stored.
  int64_t (*bin_score)(double) = nullptr;
};

struct ConversationFields {
  const DictById* ids = nullptr;        // utterance ids (see utterance_ids); null: "<vid>_<k>"
  const DictById* speakers = nullptr;   // null: every utterance is speaker 0, name ""
  SpeakerEncoding speaker_encoding = SpeakerEncoding::kMaleFemale;
  const DictById* labels = nullptr;     // null: unlabelled (-1)
  LabelRule label_rule;
  const DictById* sentences = nullptr;  // transcripts; null: ""
  // Per modality, the dicts whose [L, D_k] matrices are concatenated column-wise (in this order)
  // into that modality's features. Empty = the dataset lacks the modality.
  std::array<std::vector<const DictById*>, kNumModalities> features;
};

struct Conversations {
  std::vector<Dialogue> dialogues;                 // in the order of `vids`
  std::array<int64_t, kNumModalities> dims = {0, 0, 0};
  int64_t speaker_slots = 1;                       // from the speaker encoding (2, or one-hot width)
  std::unordered_map<std::string, int64_t> index;  // dialogue id -> position in `dialogues`
};

// Reads the dialogues `vids` (ids as DictById renders them), in that order. The utterance count of
// a dialogue is set by the first present field among ids, labels, speakers; every other field
// must agree ("dialogue 'Ses01F_impro01': videoAudio has 20 rows but videoIDs lists 21
// utterances"). Every feature part must have the same column count in every dialogue that has
// utterances. A vid absent from any given field is a FormatError naming that field.
Conversations read_conversations(const std::vector<std::string>& vids, const ConversationFields& fields);

// Moves `conv` into a Dataset: `info` gets modality_dims and num_speakers from `conv`, and the one
// split scheme `scheme` is built by split_from_ids over `parts` (its warnings go to
// Dataset::warnings and the log).
Dataset assemble_dataset(Conversations conv, DatasetInfo info, std::string scheme,
                         const std::vector<SplitIds>& parts, const std::string& split_path,
                         std::string_view dialogues_source);

}  // namespace merc::data
