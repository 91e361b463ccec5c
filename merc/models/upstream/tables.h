#pragma once
// The per-model NameTable builders (one file each: <model>_names.cpp), listed in registry.cpp.

#include "merc/models/upstream/name_table.h"
#include "merc/models/model.h"

namespace merc::models::upstream {

// Each takes the model's own config type through ModelConfig (merc::Error for another model's).
// Declare yours here and add its row to registry.cpp.

// comp_names.cpp: WenjueHE/2026-AAAI-ComP@28192d3 (needs audio, text and visual).
NameTable comp_name_table(const ModelConfig& config, const ModelDims& dims);
// momke_names.cpp: wxxv/MoMKE@2dceb57 (needs audio, text and visual).
NameTable momke_name_table(const ModelConfig& config, const ModelDims& dims);
// graphsmile_names.cpp: lijfrank-open/GraphSmile@96745a2 (model.py, module.py).
NameTable graphsmile_names(const ModelConfig& config, const ModelDims& dims);
// edm-anonymous/MoED@d35f7a4 (moed_names.cpp).
NameTable moed_name_table(const ModelConfig& config, const ModelDims& dims);
// feiyuchen7/M3NET@4d0fa88 (m3net_names.cpp).
NameTable m3net_name_table(const ModelConfig& config, const ModelDims& dims);
NameTable gcnet_names(const ModelConfig& config, const ModelDims& dims);  // gcnet_names.cpp
NameTable mmgcn_names(const ModelConfig& config, const ModelDims& dims);  // mmgcn_names.cpp
// rohydr_names.cpp: Siowllience/RoHyDR@d305062, the DiT version (needs text, audio and visual, and
// sequences through the release's DiT length: model.sequences, seq_len 50, proj_kernel 3).
NameTable rohydr_name_table(const ModelConfig& config, const ModelDims& dims);

}  // namespace merc::models::upstream
