#pragma once
// Evaluation of a model on a list of dialogues under a missing-modality protocol: metrics (named
// as in merc::metrics), mean task loss, and optionally one prediction per utterance.

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "merc/data/batch.h"
#include "merc/data/dataset.h"
#include "merc/metrics/accumulator.h"
#include "merc/models/model.h"
#include "merc/train/experiment_config.h"
#include "merc/train/losses.h"

namespace merc::train {

// The seed of the per_batch evaluation stream of (epoch, partition): SplitMix64 finalisers chained
// over the base seed, the epoch and an FNV-1a hash of the partition name, so runs with nearby
// seeds or epochs get unrelated streams.
uint64_t evaluation_stream_seed(uint64_t seed, int64_t epoch, const std::string& partition);

// Dialogues in `order` cut into consecutive batches of at most batch_size.
std::vector<std::vector<const data::Dialogue*>> make_batches(const std::vector<const data::Dialogue*>& dialogues,
                                                             int64_t batch_size);

struct EvalOptions {
  std::string protocol = "complete";  // missing-modality protocol spec
  uint64_t seed = 0;                  // mask seed
  // true: per-dialogue masks (the same in every evaluation). false (protocol.test_redraw =
  // per_batch): new masks every batch from a stream seeded by evaluation_stream_seed(seed, epoch,
  // partition), so every epoch's evaluation draws new masks, as the published scripts do (their
  // one numpy stream runs on through train, validation and test), valid and test draw different
  // ones, and evaluating the selected epoch again (the final test of validation selection, `merc
  // eval`) sees the masks that epoch saw.
  bool fixed_masks = true;
  std::string partition = "test";     // names the per_batch stream: "valid", "test", ...
  int64_t batch_size = 16;
  torch::Device device = torch::kCPU;
  bool keep_predictions = false;
  // Also keep, per utterance in prediction order, the model's input features (the used, masked
  // modalities concatenated, as the model saw them) and its features["fused"] representation when
  // the model exports one (MoED's saved_features "before"/"after" analysis, method_reference §4.8).
  bool keep_features = false;
  bool require_targets = true;  // false: data without labels gives predictions and no metrics
  int64_t epoch = 0;  // ForwardContext of the evaluation (multi-stage models behave per stage)
  // The epoch that names the per_batch mask stream; -1 = `epoch`. `merc compare` evaluates every
  // run under the first run's masks, whose selected epoch differs from the others'.
  int64_t mask_epoch = -1;
  int stage = 0;
  // protocol.from_stage: while stage < protocol_from_stage the protocol is not applied (complete
  // modalities).
  int64_t protocol_from_stage = 0;
};

struct UtterancePrediction {
  std::string dialogue_id;
  int64_t utterance_idx = 0;
  std::string speaker;
  int64_t speaker_slot = 0;       // the speaker's slot id in the dataset
  int64_t label = -1;             // true class (-1 when none)
  double score = 0.0;             // true score (NaN when none)
  int64_t pred_class = -1;        // classification: argmax, metrics::kNoPrediction (-1) where the model
                                  // abstained (unparseable generated sentence); regression: -1
  double pred_score = 0.0;        // regression: the prediction; classification: max probability
  std::vector<float> probabilities;  // classification: softmax over classes
};

struct EvalResult {
  metrics::MetricValues metrics;
  double loss = 0.0;      // mean task loss over utterances with a target
  int64_t utterances = 0;  // utterances with a target
  std::vector<UtterancePrediction> predictions;  // when keep_predictions
  // When keep_features (rows in prediction order, N = predictions.size()): inputs (N, sum D_m) float;
  // fused (N, H) float, undefined when the model exports no "fused" feature.
  torch::Tensor inputs;
  torch::Tensor fused;
};

// The evaluation settings of a run: its test protocol, evaluation mask seed (the mask seed + 1, so
// evaluation masks do not depend on the training stream), test_redraw and batch size.
EvalOptions evaluation_options(const ExperimentConfig& config, const torch::Device& device);

// MetricValues as a JSON object in metric order; non-finite values become null (JSON has no NaN).
nlohmann::ordered_json metrics_to_json(const metrics::MetricValues& values);
// The inverse: numbers as they are, null as NaN; anything else -> merc::Error naming the key.
metrics::MetricValues metrics_from_json(const nlohmann::ordered_json& object);

EvalResult evaluate(models::Model& model, const std::vector<const data::Dialogue*>& dialogues,
                    const data::DatasetInfo& info, const models::ModelDims& dims, const TaskLoss& loss,
                    const EvalOptions& options);

}  // namespace merc::train
