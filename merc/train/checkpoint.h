#pragma once
// Checkpoints. A run directory holds:
//   checkpoint.pt  everything needed to resume: resolved config (YAML text), model dims, weights,
//                  optimizer states, RNG states (torch CPU generator, shuffle, masks), scheduler
//                  and selection state, epochs done.
//   model.pt       the selected (best) weights with the config and dims, for eval / predict.
// Both are written with io::write_file_atomically(durable): a temporary file in the same directory,
// fsynced, renamed over the old file (atomic on POSIX), then the directory fsynced, so a kill -9
// at any moment leaves either the previous or the new complete file, never a torn one.

#include <memory>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>

#include "merc/models/model.h"

namespace merc::train {

// Everything except weights and optimizer moments that a resumed run must restore.
struct TrainingState {
  int64_t epochs_done = 0;
  int stage = 0;
  double best_value = 0.0;
  bool has_best = false;
  int64_t best_epoch = -1;
  int64_t bad_epochs = 0;          // epochs since the last improvement (early stopping)
  uint64_t shuffle_rng = 0;        // SplitRng state
  std::string protocol_rng;        // train missing-modality protocol RNG state
  std::string scheduler;           // LrScheduler::state()
  std::string best_metrics_json;   // metrics of the best epoch so far ({"valid":..., "test":...})
  torch::Tensor torch_rng;         // CPU generator state (dropout etc.)
};

// {"input_dims", "use", "task", "num_classes", "num_speakers", "semantic_dim"}; on reading,
// "semantic_dim" is optional (absent = 0) so that runs saved before it existed still load.
std::string dims_to_json(const models::ModelDims& dims);
models::ModelDims dims_from_json(const std::string& json, const std::string& path);

// Writes checkpoint.pt atomically.
void save_checkpoint(const std::string& path, const std::string& config_yaml, const models::ModelDims& dims,
                     models::Model& model, const std::vector<torch::optim::Optimizer*>& optimizers,
                     const TrainingState& state);

struct CheckpointHeader {
  std::string config_yaml;
  models::ModelDims dims;
  int64_t epochs_done = 0;  // checkpoint.pt only (0 for model.pt)
  int stage = 0;            // the stage whose optimizers the checkpoint holds
  std::vector<std::string> class_names;  // model.pt only
};
// Config, dims and progress only (to rebuild the model and its optimizers before loading).
CheckpointHeader read_checkpoint_header(const std::string& path);
// Restores weights, optimizer states (optimizers must be built for the same stage) and state.
TrainingState load_checkpoint(const std::string& path, models::Model& model,
                              const std::vector<torch::optim::Optimizer*>& optimizers);

// model.pt: config + dims + weights + the epoch (1-based) and stage they come from + the class
// names they were trained with (predict labels its columns with these, not with the new data's).
void save_weights(const std::string& path, const std::string& config_yaml, const models::ModelDims& dims,
                  models::Model& model, int64_t epoch, int stage, const std::vector<std::string>& class_names);
struct WeightsInfo {
  int64_t epoch = 0;
  int stage = 0;
  std::vector<std::string> class_names;
};
WeightsInfo load_weights(const std::string& path, models::Model& model);
// The epoch stored in a model.pt (merc::FormatError when unreadable).
int64_t read_weights_epoch(const std::string& path);

// Current / restore the CPU generator state.
torch::Tensor torch_rng_state();
void set_torch_rng_state(const torch::Tensor& state);

}  // namespace merc::train
