#pragma once
// The bc-LSTM "2way" pickles of Poria et al. (soujanyaporia/multimodal-sentiment-analysis,
// dataset/mosi/raw/{text,audio,video}_2way.pickle): one modality per file, videos zero-padded to
// maxlen utterances. A Python 2 pickle of a 7-tuple
//   (train_data (V_tr, maxlen, D) f8, train_label (V_tr, maxlen) f8 in {0, 1},
//    test_data (V_te, maxlen, D), test_label (V_te, maxlen), maxlen int,
//    train_length list[V_tr], test_length list[V_te])
// read as one binary-classification dataset (negative/positive) with split scheme "poria"
// (train/test). The file carries no ids: dialogues are named "train/<k>" and "test/<k>".
// The modality comes from the file name (text_/audio_/video_ prefix).

#include "merc/data/readers/registry.h"

namespace merc::data {

bool detect_bclstm_2way(const Probe& probe);
Dataset read_bclstm_2way(const Probe& probe, const ReadOptions& options);

}  // namespace merc::data
