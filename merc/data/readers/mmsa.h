#pragma once
// MMSA feature pickles aligned_50.pkl / unaligned_50.pkl (thuiar/MMSA; read by RoHyDR,
// Siowllience/RoHyDR run/data_loader.py): a dict {train, valid, test}, each a dict of arrays over
// the N samples (video clips) of that split:
//
//   text [N, T, 768]  audio [N, T_a, D_a]  vision [N, T_v, D_v]   (aligned: T = T_a = T_v = 50)
//   regression_labels [N] float in [-3, 3]   id [N] "<video_id>$_$<clip_id>"   raw_text [N]
//   optional: text_bert [N, 3, T] (BERT input ids / mask / segments: token ids, never features),
//   audio_lengths / vision_lengths [N] (unaligned files), classification_labels [N] (ignored)
//
// merc stores one vector per utterance, so each sequence is averaged over its valid steps:
//   text: steps where the text_bert input mask (row 1) is > 0 when text_bert is present, else
//   steps whose feature row is not all zero; audio/vision: the first <m>_lengths[n] steps when the
//   lengths are present, else non-zero rows. audio -inf is set to 0 first (as MMSA's loader does);
//   any other non-finite value is set to 0 and reported in one warning. A sample with no valid
//   step gets a zero vector and is marked not observed. (MMSA's own `need_normalized` mean divides
//   by all T steps including padding.)
// With ReadOptions::keep_sequences the valid steps themselves (cleaned as above, as float32) are
// also kept as Dialogue::sequences (DatasetInfo::has_sequences): a sample with no valid step has
// length 0. The averaged features are filled either way.
//
// Samples are grouped into dialogues by video id (the part of `id` before "$_$"); an id without
// the separator is its own dialogue. Utterance ids are "<video>_<clip>" (the CMU-MOSI uid form
// GCNet uses), ordered by clip number when every clip id is an integer. Regression like the
// GCNet CMU reader: score = regression label, label = score >= 0. Split scheme "standard".

#include "merc/data/readers/registry.h"

namespace merc::data {

bool detect_mmsa(const Probe& probe);
Dataset read_mmsa(const Probe& probe, const ReadOptions& options);

}  // namespace merc::data
