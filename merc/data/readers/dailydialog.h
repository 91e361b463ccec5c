#pragma once
// DailyDialog (Li et al., IJCNLP 2017) as released: plain-text files, one dialogue per line.
//   dialogues_<split>.txt          utterances, each ended by "__eou__"
//   dialogues_emotion_<split>.txt  one label per utterance: 0 no_emotion, 1 anger, 2 disgust,
//                                  3 fear, 4 happiness, 5 sadness, 6 surprise
//   dialogues_act_<split>.txt      dialogue acts 1-4 (optional; not read: acts are not modelled)
// Accepted inputs:
//   - a directory with train/, validation/, test/ sub-directories (any subset) holding the
//     split files, or holding the split files directly: one dataset, scheme "given", partitions
//     train/valid/test ("validation" is named "valid");
//   - the original flat release, a directory with dialogues_text.txt + dialogues_emotion.txt:
//     one partition "all";
//   - one dialogues_<split>.txt or dialogues_text.txt file (its emotion file beside it).
// Two speakers alternate: speaker = utterance index % 2, named "A" and "B". Transcripts are
// trimmed. Ids: dialogue "<partition>/dia<k>", utterance "dia<k>_utt<u>", k = 0-based line index
// in the split's file (kept when other lines are skipped).
// A line whose label count differs from its utterance count cannot be aligned: it is skipped
// and ONE warning per file lists how many and which lines (the released train split has one).
// Different line counts in the two files, or a label outside 0..6, are FormatErrors.

#include "merc/data/readers/registry.h"

namespace merc::data {

const std::vector<std::string>& dailydialog_emotion_names();

bool detect_dailydialog(const Probe& probe);
Dataset read_dailydialog(const Probe& probe, const ReadOptions& options);

}  // namespace merc::data
