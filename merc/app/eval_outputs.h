#pragma once
// What `merc eval` and `merc predict` write and print (issue 4 §3, the outputs MoED's `--testing`
// mode produces; method_reference.md §4.8):
//   - the metric table (one row per protocol or scenario summary row);
//   - the per-utterance CSV (dialogue_id, utterance_idx, speaker, label, pred[, prob_<class>...]);
//   - the 4-digit classification report and confusion matrix of a classification evaluation;
//   - the emotional-inertia analysis (metrics/inertia.h): report on inertia utterances vs the rest;
//   - an analysis export: features_before.npy (the model's inputs), features_after.npy (the fused
//     representation), labels.npy, speakers.npy, utterances.csv, for t-SNE and similar tools.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "merc/data/dataset.h"
#include "merc/metrics/classification.h"
#include "merc/train/evaluate.h"

namespace merc::app {

// The metric table `merc eval` prints, markdown: a header (first_column, then the metric names of
// the first row), a rule, then one line per row with the values to 2 decimals. The first column is
// 14 characters wide or as wide as its longest entry. rows: >= 1, all with the first row's metrics
// (merc::Error otherwise).
std::string metric_table(const std::string& first_column,
                         const std::vector<std::pair<std::string, metrics::MetricValues>>& rows);

// The CSV text of predictions. Classification: label and pred are class names (class_names must
// have one per class), then one prob_<class> column per class when with_probabilities.
// Regression: label = the true score (empty when unknown), pred = the prediction.
std::string predictions_csv(const std::vector<train::UtterancePrediction>& predictions, data::Task task,
                            const std::vector<std::string>& class_names, bool with_probabilities);

// Classification report over the predictions with a known label (merc::Error when there are none).
metrics::ClassificationReport prediction_report(const std::vector<train::UtterancePrediction>& predictions,
                                                int64_t num_classes);

// Report (4 digits) and confusion matrix as printed by `merc eval`.
std::string report_text(const metrics::ClassificationReport& report, const std::vector<std::string>& class_names);

struct InertiaAnalysis {
  int64_t inertia_count = 0;  // labelled utterances showing inertia
  int64_t rest_count = 0;     // the other labelled utterances
  metrics::ClassificationReport inertia;  // valid when inertia_count > 0
  metrics::ClassificationReport rest;     // valid when rest_count > 0
};
// predictions must be in dialogue order (as evaluate() returns them).
InertiaAnalysis inertia_analysis(const std::vector<train::UtterancePrediction>& predictions, int64_t num_classes);
std::string inertia_text(const InertiaAnalysis& analysis, const std::vector<std::string>& class_names);
nlohmann::ordered_json inertia_json(const InertiaAnalysis& analysis);
nlohmann::ordered_json report_json(const metrics::ClassificationReport& report,
                                   const std::vector<std::string>& class_names);

// Writes dir/utterances.csv, labels.npy (N int64; -1 = none; regression: scores as float64),
// speakers.npy (N int64 slots), features_before.npy (N, D_in float32) and, when the model exports
// one, features_after.npy (N, H float32). Needs a result evaluated with keep_predictions and
// keep_features. Creates dir. Returns the written file names.
std::vector<std::string> export_analysis(const std::string& dir, const train::EvalResult& result, data::Task task,
                                         const std::vector<std::string>& class_names);

}  // namespace merc::app
