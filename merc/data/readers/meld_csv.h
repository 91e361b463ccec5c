#pragma once
// MELD's official tables, {train,dev,test}_sent_emo.csv (declare-lab/MELD data/MELD/):
//   Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime
// One row per utterance; a dialogue is one Dialogue_ID within one file.
//
// Input: a directory holding any of the three tables (one dataset, scheme "given" with
// partitions train/dev/test), or one table (one partition named after the file's split, else
// "all"). Dialogues are ordered by Dialogue_ID, utterances by Utterance_ID. Ids: dialogue
// "<partition>/dia<D>" (unique across splits), utterance "dia<D>_utt<U>" (the key of the
// field's feature pickles, unique within a split only). Labels: Emotion in the order of the
// field's feature pickles (neutral, surprise, fear, sadness, joy, disgust, anger). Speakers:
// order of first appearance in the dialogue (names kept). Transcripts only, no features.

#include "merc/data/readers/registry.h"

namespace merc::data {

// The 7 emotion names in label-index order.
const std::vector<std::string>& meld_emotion_names();

bool detect_meld_csv(const Probe& probe);
Dataset read_meld_csv(const Probe& probe, const ReadOptions& options);

}  // namespace merc::data
