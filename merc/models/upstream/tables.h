#pragma once
// The per-model NameTable builders (one file each: <model>_names.cpp), listed in registry.cpp.

#include "merc/models/upstream/name_table.h"
#include "merc/models/model.h"

namespace merc::models::upstream {

// Each takes the model's own config type through ModelConfig (merc::Error for another model's).
// Declare yours here and add its row to registry.cpp.

NameTable gcnet_names(const ModelConfig& config, const ModelDims& dims);  // gcnet_names.cpp
NameTable mmgcn_names(const ModelConfig& config, const ModelDims& dims);  // mmgcn_names.cpp

}  // namespace merc::models::upstream
