#pragma once
// EmoryNLP's tables as published with MELD, emorynlp_{train,dev,test}_final.csv
// (declare-lab/MELD data/emorynlp/):
//   Utterance,Speaker,Emotion,Scene_ID,Utterance_ID,Season,Episode,Start_Time,End_Time
// Speaker is a Python list literal, e.g. ['Monica Geller'] or ['Chandler Bing', 'Joey Tribbiani'].
//
// A dialogue is one scene: (Season, Episode, Scene_ID). Scene_ID alone repeats across episodes
// (the train table has only 20 distinct Scene_IDs for its 659 scenes). Utterance_IDs within a
// scene are increasing but not always consecutive; they are kept as published.
//
// Input: a directory holding any of the three tables (scheme "given", partitions
// train/dev/test) or one table (partition named after its split, else "all"). Dialogues are
// ordered by (Season, Episode, Scene_ID), utterances by Utterance_ID. Ids: dialogue
// "<partition>/s<S>e<E>c<C>", utterance "s<S>e<E>c<C>_u<U>". Labels: Joyful, Mad, Peaceful,
// Neutral, Sad, Powerful, Scared (COSMIC's index order: the per-index counts in COSMIC's
// train_emorynlp.py class-weight comment, {0: 2099, 1: 968, 2: 831, 3: 3095, 4: 595, 5: 717,
// 6: 1184} over all three splits, admit only this order given the train+dev counts). Several
// speakers on one utterance are joined with " & " into one speaker name, which is one party.

#include <optional>

#include "merc/data/readers/registry.h"

namespace merc::data {

const std::vector<std::string>& emorynlp_emotion_names();

// Parses a Python list of string literals without evaluating anything: '[' (str (',' str)*)? ']'
// with str = '...' or "..." (escapes \\ \' \" \n \t \r; other escapes kept verbatim as Python
// does, except \x \u \U \N and octal, which are rejected). A cell that does not start with '['
// is taken as one plain name. nullopt on a syntax error.
std::optional<std::vector<std::string>> parse_python_string_list(std::string_view literal);

bool detect_emorynlp_csv(const Probe& probe);
Dataset read_emorynlp_csv(const Probe& probe, const ReadOptions& options);

}  // namespace merc::data
