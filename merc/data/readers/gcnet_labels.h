#pragma once
// GCNet / MoMKE / ComP (IMER) label pickles, optionally joined with per-utterance feature folders
// (merc/data/readers/feature_folders.h). Layouts (zeroQiaoba/GCNet gcnet/dataloader_iemocap.py,
// gcnet/dataloader_cmumosi.py; files in its dataset/ folder):
//
//   IEMOCAP_features_raw_{4way,6way}.pkl: list of 6
//     [videoIDs {vid: [uid]}, videoLabels {vid: [int]}, videoSpeakers {vid: ['F'|'M']},
//      videoSentences {vid: [str]}, trainVid set, testVid set]
//   CMUMOSI_features_raw_2way.pkl / CMUMOSEI_...: list of 7
//     [videoIDs, videoLabels {vid: [numpy.float64 in -3..3]}, videoSpeakers {vid: ['']},
//      videoSentences, trainVids set, valVids set, testVids set]
//
// IEMOCAP is classification. 4-way classes are hap (with exc merged), sad, neu, ang; 6-way hap,
// sad, neu, ang, exc, fru (the names the graph ERC readers use). 4 vs 6 comes from the file name ("4way"/"6way") and else
// from the label range. Speakers F -> 0, M -> 1 (GCNet's speakermap). Split scheme "given" with
// train/test only, dialogues ordered sorted(trainVid | testVid) as GCNet iterates them.
//
// CMU files are regression: Utterance::score = the float, Utterance::label = score >= 0 ? 1 : 0
// (class_names negative, positive). Zero scores are labelled positive here; the Acc-2 "non-zero"
// protocol drops them by score at evaluation time, the "has-zero" protocol counts them as
// positive, so both can be computed from this dataset. One speaker (index 0, name "").
// Split scheme "standard" train/valid/test, dialogues ordered sorted(train), sorted(val),
// sorted(test) as GCNet does.

#include "merc/data/readers/registry.h"

namespace merc::data {

bool detect_gcnet_labels(const Probe& probe);
Dataset read_gcnet_labels(const Probe& probe, const ReadOptions& options);
// The label pickle alone (ids, labels or scores, speakers, sentences, split), no feature folders
// and no "read without features" warning: for readers that join features from elsewhere
// (mosi_poria.h).
Dataset read_gcnet_label_pickle(const Probe& probe);

}  // namespace merc::data
