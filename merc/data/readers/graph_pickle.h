#pragma once
// Readers for the conversation feature pickles of the graph ERC code bases:
//   M3Net / MMGCN / MoED   IEMOCAP_features.pkl, iemocap_features_roberta.pkl (COSMIC release),
//                          MELD_features_raw1.pkl, meld_features_roberta.pkl
//   GraphSmile             IEMOCAP (12-tuple), IEMOCAP4 (9-tuple), MELD (14-tuple), CMUMOSEI7
//                          (9-tuple; also MoED's cmumosei_multi_regression_features.pkl)
// Layouts, label maps and speaker encodings: method_reference.md §1.2, §1.3, §1.7 and
// docs/data_formats.md "Graph ERC feature pickles". Each layout is one row of a table in
// graph_pickle.cpp (which tuple item plays which role); detection looks only at arity, element
// types and the column count of the first entry of the identifying fields.
//
// The RoBERTa layouts use a companion file the way M3Net/MoED do: when IEMOCAP_features.pkl
// (resp. MELD_features_raw1.pkl) sits in the same directory, dialogues, speakers, labels, audio,
// visual, transcripts and the train/test split come from it and only the text from the RoBERTa
// file; otherwise the RoBERTa file is read alone (text only, its own train/valid/test ids).

#include "merc/data/readers/registry.h"

namespace merc::data {

bool detect_m3net_iemocap(const Probe& probe);
Dataset read_m3net_iemocap(const Probe& probe, const ReadOptions& options);
bool detect_m3net_iemocap_roberta(const Probe& probe);
Dataset read_m3net_iemocap_roberta(const Probe& probe, const ReadOptions& options);
bool detect_m3net_meld(const Probe& probe);
Dataset read_m3net_meld(const Probe& probe, const ReadOptions& options);
bool detect_m3net_meld_roberta(const Probe& probe);
Dataset read_m3net_meld_roberta(const Probe& probe, const ReadOptions& options);

bool detect_graphsmile_iemocap(const Probe& probe);
Dataset read_graphsmile_iemocap(const Probe& probe, const ReadOptions& options);
bool detect_graphsmile_iemocap4(const Probe& probe);
Dataset read_graphsmile_iemocap4(const Probe& probe, const ReadOptions& options);
bool detect_graphsmile_meld(const Probe& probe);
Dataset read_graphsmile_meld(const Probe& probe, const ReadOptions& options);
bool detect_graphsmile_mosei7(const Probe& probe);
Dataset read_graphsmile_mosei7(const Probe& probe, const ReadOptions& options);

// GraphSmile's CMUMOSEI7 binning of a sentiment score s (method_reference §1.3):
// s < -2 -> 0, [-2,-1) -> 1, [-1,0) -> 2, s == 0 -> 3, (0,1] -> 4, (1,2] -> 5, s > 2 -> 6.
int64_t mosei7_bin(double s);

// Companion file names the RoBERTa layouts look for next to the input.
inline constexpr const char* kIemocapCompanion = "IEMOCAP_features.pkl";
inline constexpr const char* kMeldCompanion = "MELD_features_raw1.pkl";

}  // namespace merc::data
