#pragma once
// CMU-MOSI with three real modalities, as kept in ../shared/data/mosi: the Poria et al. (ACL 2017)
// per-utterance feature CSVs (text 100, audio 73, video 100) joined to utterance ids through
// text_{split}.csv and transcripts.csv, and to continuous scores and the standard split through
// GCNet's label pickle CMUMOSI_features_raw_2way.pkl. The result is one dataset of 93 videos
// (one-speaker dialogues), 2199 utterances, with two split schemes: "standard" (52/10/31 videos,
// from the pickle) and "poria" (62/31 videos, from the CSV files).

#include "merc/data/readers/registry.h"

namespace merc::data {

// A directory holding transcripts.csv, text_{train,test}.csv, poria/{text,audio,video}_{train,test}0.csv
// and CMUMOSI_features_raw_2way.pkl.
bool detect_mosi_poria(const Probe& probe);
Dataset read_mosi_poria(const Probe& probe, const ReadOptions& options);

}  // namespace merc::data
