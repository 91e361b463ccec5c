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

// Dialogues in `order` cut into consecutive batches of at most batch_size.
std::vector<std::vector<const data::Dialogue*>> make_batches(const std::vector<const data::Dialogue*>& dialogues,
                                                             int64_t batch_size);

struct EvalOptions {
  std::string protocol = "complete";  // missing-modality protocol spec
  uint64_t seed = 0;                  // mask seed
  bool fixed_masks = true;            // true: per-dialogue masks (same every evaluation)
  int64_t batch_size = 16;
  torch::Device device = torch::kCPU;
  bool keep_predictions = false;
  bool require_targets = true;  // false: data without labels gives predictions and no metrics
  int64_t epoch = 0;  // ForwardContext of the evaluation (multi-stage models behave per stage)
  int stage = 0;
  // protocol.from_stage: while stage < protocol_from_stage the protocol is not applied (complete
  // modalities).
  int64_t protocol_from_stage = 0;
};

struct UtterancePrediction {
  std::string dialogue_id;
  int64_t utterance_idx = 0;
  std::string speaker;
  int64_t label = -1;             // true class (-1 when none)
  double score = 0.0;             // true score (NaN when none)
  int64_t pred_class = -1;        // classification: argmax; regression: -1
  double pred_score = 0.0;        // regression: the prediction; classification: max probability
  std::vector<float> probabilities;  // classification: softmax over classes
};

struct EvalResult {
  metrics::MetricValues metrics;
  double loss = 0.0;      // mean task loss over utterances with a target
  int64_t utterances = 0;  // utterances with a target
  std::vector<UtterancePrediction> predictions;  // when keep_predictions
};

// The evaluation settings of a run: its test protocol, evaluation mask seed (the mask seed + 1, so
// evaluation masks do not depend on the training stream), test_redraw and batch size.
EvalOptions evaluation_options(const ExperimentConfig& config, const torch::Device& device);

// MetricValues as a JSON object in metric order; non-finite values become null (JSON has no NaN).
nlohmann::ordered_json metrics_to_json(const metrics::MetricValues& values);
// The inverse: numbers as they are, null as NaN; anything else -> merc::Error naming the key.
metrics::MetricValues metrics_from_json(const nlohmann::ordered_json& object);

EvalResult evaluate(models::Model& model, const std::vector<const data::Dialogue*>& dialogues,
                    const data::DatasetInfo& info, const models::ModelDims& dims, const LossEntry& loss,
                    const EvalOptions& options);

}  // namespace merc::train
