#pragma once
// A finished run evaluated again on its own data: the per-utterance predictions that `merc
// compare`, the figures and the HTML report need (paired tests, confusion matrices, per-class F1)
// and that metrics.json does not keep. The run's model with its selected weights, its dataset,
// split and test protocol, unless the request names another partition or protocol.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "merc/app/run_dir.h"
#include "merc/data/dataset.h"
#include "merc/train/evaluate.h"
#include "merc/train/run_data.h"

namespace merc::app {

// What decides the missing-modality masks of an evaluation besides the protocol and the data: the
// mask seed, per-dialogue (fixed) or per-batch draws, and for per-batch draws the epoch naming the
// stream and the batch size. Two runs evaluated under one plan see the same masks on the same
// utterances.
struct MaskPlan {
  uint64_t seed = 0;
  bool fixed = true;
  int64_t epoch = 0;
  int64_t batch_size = 16;
  std::string describe() const;  // "seed 8, per-dialogue masks" / "seed 8, per-batch stream of epoch 3, batches of 16"
};

struct RunPredictionRequest {
  std::string partition = "test";  // train | valid | test
  std::string protocol;            // missing-modality protocol; empty = the run's protocol.test
  bool keep_features = false;      // also keep EvalResult::inputs / fused (t-SNE exports)
  int64_t threads = -1;            // torch threads (-1: the run's train.threads)
  std::string device;              // empty = the run's train.device
  // Evaluate under these masks instead of the run's own (its protocol seed, test_redraw, selected
  // epoch and batch size): `merc compare` gives every run the first run's plan, so that a paired
  // difference is not partly a difference of mask draws.
  std::optional<MaskPlan> masks;
};

struct RunPredictions {
  std::string run_dir;
  LoadedRun run;                    // config, dims, class names, selection provenance
  std::string dataset;              // DatasetInfo::name
  data::DatasetInfo dataset_info;   // of the data as read (source format, provenance, classes)
  std::string dataset_path;         // config.data.path as resolved ("" = the embedded default)
  std::string split;                // the split scheme used
  std::string partition;           // as requested
  std::string protocol;             // the protocol evaluated
  std::string selection;            // "validation" | "test-max" | "imported"
  std::string selection_note;       // train::selection_label(config), or the import provenance
  int64_t partition_dialogues = 0;
  MaskPlan masks;                   // the masks evaluated under (the run's own unless requested)
  // predictions in dialogue order (every utterance of the partition, with its label);
  // metrics/loss over the utterances with a target.
  train::EvalResult result;
};

// The dialogues of `partition` (train | valid | test, or the split's own name of its valid
// partition) of rd; merc::Error naming dir when the partition is unknown or empty.
const std::vector<const data::Dialogue*>& pick_partition(const train::RunData& rd, const std::string& dir,
                                                         const std::string& partition);

// Loads dir (a run directory with model.pt) and evaluates it; merc::Error naming the directory
// when it is not a run, the partition is unknown or empty, or the data no longer fits the model.
RunPredictions predict_saved_run(const std::string& dir, const RunPredictionRequest& request);

}  // namespace merc::app
