#pragma once
// The trainer: one loop for every model. It knows nothing about which model it runs; stages,
// parameter groups, optimisation substeps and gradient hooks come from the model's TrainingHooks.
//
// Per epoch: stage = model.stage_for_epoch; lr from the schedule; shuffle train dialogues (seeded
// SplitRng); per batch: collate -> train protocol mask -> for each substep: forward, loss = task
// loss * task_loss_weight + aux losses, backward, after_backward hook, clipping, optimizer step.
// Then evaluate (validation selection: valid each epoch, test once at the end with the selected
// weights; test-max: test each epoch), keep the best weights (model.pt), append one JSON line to
// train_log.jsonl, write checkpoint.pt atomically, check early stopping.

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "merc/data/dataset.h"
#include "merc/metrics/accumulator.h"
#include "merc/models/model.h"
#include "merc/train/experiment_config.h"

namespace merc::train {

struct TrainOptions {
  std::string out_dir;        // run directory (created)
  bool resume = false;        // continue from out_dir/checkpoint.pt
  std::ostream* log = nullptr;  // plain progress lines (nullptr = silent)
  std::FILE* bar_stream = stderr;  // where the progress bar goes in bar mode
  int64_t stop_after_epochs = -1;  // testing aid: return after this many epochs of this call, as if
                                   // killed (the checkpoint is written; metrics.json is not); 0 = before
                                   // the first epoch, with the starting weights in the model and checkpoint
  // Builds the model instead of the registry (a model that is not in the table, e.g. a library
  // user's own or a test double). Must build the same architecture for the same dims every call.
  std::function<std::shared_ptr<models::Model>(const models::ModelDims&)> build_model;
};

struct TrainResult {
  std::string selection;   // "validation" or "test-max (...)"
  std::string metric;      // selection metric name
  int64_t best_epoch = -1;  // 1-based
  int64_t epochs_run = 0;   // epochs completed in total (including before a resume)
  bool early_stopped = false;
  bool finished = false;    // false when stop_after_epochs interrupted it
  metrics::MetricValues valid;  // empty when there is no validation set
  metrics::MetricValues test;
  std::string run_dir;
};

// Trains `config` on `dataset`, writing config.yaml, train_log.jsonl, checkpoint.pt, model.pt and
// metrics.json into options.out_dir. With resume, the config in out_dir/config.yaml is used.
TrainResult train_model(const ExperimentConfig& config, const data::Dataset& dataset, const TrainOptions& options);

// Selection label written into every output ("validation", or test-max with a warning text).
std::string selection_label(const ExperimentConfig& config);
// First epoch of each stage of `model` over a run of `epochs` (0 first): train.schedule_per_stage.
std::vector<int64_t> stage_starts(const models::Model& model, int64_t epochs);
// "auto" -> weighted_f1 (classification) / mae (regression).
std::string selection_metric(const ExperimentConfig& config, data::Task task);

// Applies train.threads and the seed to torch (0 threads = leave torch's setting).
void configure_torch(const TrainConfig& config);
// Parses train.device; cuda without a CUDA build/GPU -> merc::Error.
torch::Device resolve_device(const std::string& device);

}  // namespace merc::train
