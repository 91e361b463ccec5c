#pragma once
// The upstream names of the utterance encoders M3Net and MoED share (feiyuchen7/M3NET and
// edm-anonymous/MoED model.py, base_model GRU; merc/models/m3net_encoder.h), for the name tables in
// m3net_names.cpp and moed_names.cpp.

#include "merc/models/m3net_encoder.h"
#include "merc/models/model.h"
#include "merc/models/upstream/name_table.h"

namespace merc::models::upstream {

// Adds to `table` the rules and ignores of the encoder keys of model.py's Model:
//   normBNa..d  -> encoder.norm_bn0..3   (norm BN; ignored otherwise: always created)
//   normLNa..d  -> encoder.norm_ln0..3   (norm LN; ignored otherwise: always created)
//   linear_l    -> encoder.linear_l      (text_linear; on MELD created and skipped by the forward)
//   gru_l       -> encoder.gru_l         (2-layer bidirectional GRU; encoder.gru_l.gru when packed)
//   linear_a, linear_v -> encoder.linear_a, encoder.linear_v
// for the modalities `dims` uses (the reference builds the modules of its --modals only). The
// reference has exactly four RoBERTa layers; another text_layers -> merc::Error.
void add_m3net_encoder_names(NameTable& table, const M3netEncoderOptions& encoder, const ModelDims& dims,
                             const char* model);

}  // namespace merc::models::upstream
