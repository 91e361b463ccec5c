#pragma once
// train.init_from / train.init_names: the weights a fresh run starts from instead of the model's own
// initialisation (a merc run's selected weights, or an author's checkpoint through the model's
// upstream name table, merc/models/upstream/). Applied by the trainer after the model is built and
// before its first optimizer exists, never on --resume (the checkpoint holds the weights then).

#include <functional>
#include <memory>
#include <string>

#include "merc/models/model.h"

namespace merc::train {

struct InitWeightsRequest {
  // names "merc": a merc run directory (its model.pt) or a model.pt path.
  // names "upstream": a torch.save state_dict file (.pth / .pt) of the model's reference code.
  std::string from;
  std::string names = "merc";  // merc | upstream
};

// Fills every parameter and buffer of `model` (built from `config` for `dims`) from `request.from`.
// `build_scratch` builds another model of the same architecture (merc names: model.pt is read into
// it first, so that its shapes can be compared before anything is copied). Returns the line to log:
// where the weights came from. The torch RNG state is left as it was (starting from given weights
// does not shift the dropout / shuffling streams). merc::Error for a missing path or unknown names;
// merc::FormatError naming the file for an unreadable file or tensors that do not fit.
std::string load_initial_weights(models::Model& model, const models::ModelConfig& config,
                                 const models::ModelDims& dims, const InitWeightsRequest& request,
                                 const std::function<std::shared_ptr<models::Model>()>& build_scratch);

}  // namespace merc::train
