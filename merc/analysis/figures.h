#pragma once
// The figures of a run or a sweep (issue 18 §3), built from data structures (this layer reads no
// run directories; merc/app/run_figures.h does): training curves, confusion matrix heat maps,
// per-class F1 bars, missing-rate curves of a sweep, the t-SNE scatter (before/after side by side,
// as MoED's Figure 2) and predicted-vs-true for regression. Each comes back as a Figure whose SVG
// is rendered already (for the HTML report) and whose Plot renders PNG and PDF on demand.

#include <cstdint>
#include <string>
#include <vector>

#include "merc/analysis/plot.h"
#include "merc/metrics/classification.h"

namespace merc::analysis {

struct Figure {
  std::string name;     // file stem, unique within a run's figures, e.g. "confusion_counts"
  std::string title;
  std::string caption;  // one sentence: what is shown and from which data
  std::string svg;      // standalone <svg> element (Plot::svg), ready to inline in HTML
  Plot plot;            // renders the PNG and PDF
};

// Renders plot's SVG once and keeps the plot for PNG/PDF.
Figure make_figure(std::string name, std::string title, std::string caption, Plot plot);

struct FigureFiles {
  std::string svg, png, pdf;  // paths written
};
// Writes <dir>/<name>.svg, .png and .pdf (creating dir); merc::Error when the name is empty or
// not a plain file stem.
FigureFiles write_figure(const Figure& figure, const std::string& dir);

// An axis label with its unit for a metric name of merc::metrics: "accuracy" -> "accuracy (%)",
// "mae" -> "MAE (score units)", "corr" -> "Pearson r"; unknown names as they are.
std::string metric_axis_label(const std::string& metric);

// ---- training curves (train_log.jsonl) ------------------------------------------------------

struct EpochRecord {
  int64_t epoch = 0;          // 1-based
  int64_t stage = 0;          // the model's training stage (multi-stage methods)
  double train_loss = 0.0;
  double valid_loss = 0.0;    // NaN when the run had no validation partition
  double valid_metric = 0.0;  // the curve metric on valid (NaN when absent)
  double test_metric = 0.0;   // on test (NaN unless test-max selection logged it)
  bool selected = false;      // the weights of this epoch were kept (best so far)
};

// Two figures: "training_loss" (train and valid loss per epoch) and "training_metric" (valid and,
// where logged, test `metric` per epoch). Stage changes are marked with a vertical line, the last
// selected epoch too. merc::Error when epochs is empty.
std::vector<Figure> training_curve_figures(const std::vector<EpochRecord>& epochs, const std::string& metric,
                                           const std::string& run_label);

// ---- classification ---------------------------------------------------------------------------

// "confusion_counts" (utterance counts) and "confusion_normalised" (each true-class row in % of
// its support; an empty row stays 0). class_names: num_classes entries (merc::Error otherwise).
std::vector<Figure> confusion_figures(const metrics::ConfusionMatrix& confusion,
                                      const std::vector<std::string>& class_names, const std::string& run_label);

// "per_class_f1": F1 (%) per class, with the macro and weighted F1 in the caption.
Figure per_class_f1_figure(const metrics::ClassificationReport& report, const std::vector<std::string>& class_names,
                           const std::string& run_label);

// ---- regression -------------------------------------------------------------------------------

// "predicted_vs_true": one point per utterance, y = x dashed. Same non-zero length (merc::Error).
Figure predicted_vs_true_figure(const std::vector<double>& truth, const std::vector<double>& predicted,
                                const std::string& run_label);

// ---- sweeps -----------------------------------------------------------------------------------

struct RatePoint {
  double rate = 0.0;  // missing rate in [0, 1)
  double mean = 0.0;  // metric mean over seeds
  double std = 0.0;   // population std over seeds (0 for one seed)
  int64_t runs = 1;
};

struct RateCurve {
  std::string label;              // the model or the protocol family ("random", "imder")
  std::vector<RatePoint> points;  // any order; drawn by rate
};

// "missing_rate_<metric>": metric vs missing rate (%), one line per curve, seed std as a band.
// merc::Error when no curve has a point.
Figure missing_rate_figure(const std::vector<RateCurve>& curves, const std::string& metric,
                           const std::string& sweep_label);

// ---- t-SNE ------------------------------------------------------------------------------------

struct EmbeddingPanel {
  std::string title;            // e.g. "before training (inputs)"
  std::vector<double> x, y;     // 2-D coordinates, one per utterance
  std::vector<int64_t> labels;  // class id per utterance in [0, class_names.size())
};

// "tsne": the panels side by side (MoED Figure 2: before / after), points coloured by class with
// one legend. merc::Error on mismatched lengths or labels out of range.
Figure tsne_figure(const std::vector<EmbeddingPanel>& panels, const std::vector<std::string>& class_names,
                   const std::string& title);

}  // namespace merc::analysis
