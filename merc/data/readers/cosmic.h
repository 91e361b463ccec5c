#pragma once
// COSMIC (declare-lab/conv-emotion, COSMIC/) pickles that no other reader covers. Layouts read in
// COSMIC/erc-training/dataloader.py and COSMIC/feature-extraction/*.py and checked on the files
// shipped in COSMIC/feature-extraction/<dataset>/:
//
//   cosmic-emorynlp       emorynlp_features_roberta.pkl, list of 10:
//                         [speakers, labels, roberta1, roberta2, roberta3, roberta4, sentences,
//                          trainId, testId, validId]; robertaK[vid] = list of L 1024-d arrays
//                          (layers -1..-4 of the fine-tuned RoBERTa at the <s> token)
//   cosmic-text-iemocap   iemocap.pkl, list of 6: [speakers 'M'|'F', labels (6-way), sentences,
//                          train_ids (108), test_ids (31), valid_ids (12)]
//   cosmic-text-meld      meld.pkl, list of 7: [speakers (9-slot one-hot), emotion_labels,
//                          sentiment_labels, sentences, train_ids (1038), test_ids (280),
//                          valid_ids (114)]
//   cosmic-text-emorynlp  emorynlp.pkl, list of 6: [speakers (9-slot one-hot), labels, sentences,
//                          train_ids (659), test_ids (79), valid_ids (89)]
//
// The *-text layouts have no features (labels, speakers, transcripts, splits): the text
// featurizer or feature folders supply them. COSMIC's IEMOCAP and MELD RoBERTa pickles are the
// M3Net files and are read by the m3net-*-roberta rows; *_features_comet.pkl hold commonsense
// features, not datasets, and are not read.
//
// Text features (cosmic-emorynlp): the four layers concatenated, [L, 4 * 1024] in the order
// roberta1 | roberta2 | roberta3 | roberta4, so every COSMIC mode1 (concat, mean, one layer) and
// M3Net's per-layer BatchNorm-then-mean can be computed from it.
//
// Labels: IEMOCAP hap, sad, neu, ang, exc, fru; MELD neutral, surprise, fear, sadness, joy,
// disgust, anger (sentiment labels are checked, not stored); EmoryNLP Joyful, Mad, Peaceful,
// Neutral, Sad, Powerful, Scared. Speakers: IEMOCAP M -> 0, F -> 1 (COSMIC's [1,0] for 'M');
// one-hot speakers -> the index of the 1 (party slots in order of first appearance in the scene).
// Quirk not replicated: COSMIC's EmoryNLP dataloader tests `x == '0'` on these one-hot lists, so
// it feeds every utterance the same party vector [0, 1].
// Split scheme "given": train / valid / test, dialogues ordered train, valid, test as listed.

#include "merc/data/readers/registry.h"

namespace merc::data {

bool detect_cosmic_emorynlp(const Probe& probe);
Dataset read_cosmic_emorynlp(const Probe& probe, const ReadOptions& options);

bool detect_cosmic_text_iemocap(const Probe& probe);
Dataset read_cosmic_text_iemocap(const Probe& probe, const ReadOptions& options);

bool detect_cosmic_text_meld(const Probe& probe);
Dataset read_cosmic_text_meld(const Probe& probe, const ReadOptions& options);

bool detect_cosmic_text_emorynlp(const Probe& probe);
Dataset read_cosmic_text_emorynlp(const Probe& probe, const ReadOptions& options);

}  // namespace merc::data
