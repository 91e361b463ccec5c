#pragma once
// Emotional inertia (MoED's Inertia_IEMOCAP.py / Inertia_MELD.py analysis, method_reference.md
// §4.8): an utterance shows inertia when its speaker has spoken before in the same dialogue and its
// emotion label equals the label of that speaker's previous utterance. MoED reports weighted F1 and
// the classification report separately on the inertia utterances and on the rest, to show whether
// a model merely copies a speaker's last emotion.
//
// The analysis scripts themselves are not public (only the README names them); this is the
// definition the README and the paper's wording give. A speaker's first utterance in a dialogue,
// and an utterance whose or whose predecessor's label is unknown (< 0), belong to "the rest".

#include <cstdint>
#include <string>
#include <vector>

namespace merc::metrics {

struct InertiaUtterance {
  std::string dialogue_id;
  int64_t speaker = 0;  // speaker slot within the dialogue's dataset
  int64_t label = -1;   // true class; < 0 = unknown
};

// utterances: in dialogue order (utterances of one dialogue contiguous and in time order; the
// order of dialogues is free). Returns one flag per utterance: true = inertia. A dialogue id that
// reappears after another dialogue -> merc::Error (the input is not grouped by dialogue).
std::vector<bool> emotional_inertia(const std::vector<InertiaUtterance>& utterances);

}  // namespace merc::metrics
