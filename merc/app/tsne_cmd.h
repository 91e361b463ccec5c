#pragma once
// `merc analyze tsne DIR`: t-SNE of the representations `merc eval --export DIR` wrote (MoED's
// Figure 2 / Appendix Figure 5: the model's inputs before and its fused representation after
// training, coloured by emotion and by speaker; method_reference.md §4.8). Writes into DIR (or
// --out): tsne_before.csv and, when the export has features_after.npy, tsne_after.csv (columns
// x,y,label,speaker: class names and speaker names from utterances.csv where it has them), and
// tsne.json (options, KL divergence, iterations, seconds). The scatter figures are drawn from
// these by the plotting code (merc/analysis figures); compute_tsne_scatters / read_tsne_scatter
// give them the coordinates and labels.

#include <torch/torch.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "merc/analysis/tsne.h"

namespace merc::app {

// An export folder read and checked: N rows everywhere (merc::FormatError naming the file that
// is missing or disagrees).
struct AnalysisExport {
  torch::Tensor features_before;     // (N, D_in) float32
  torch::Tensor features_after;      // (N, H) float32; undefined when the model exports none
  std::vector<int64_t> label_class;  // (N) class index, -1 = none or a regression task
  std::vector<std::string> label;    // (N) class name / score as utterances.csv has it ("" = none)
  std::vector<std::string> speaker;  // (N) speaker name from utterances.csv, else the slot number
};
AnalysisExport read_analysis_export(const std::string& dir);

// One t-SNE scatter: a feature file's points in 2-d with their labels.
struct TsneScatter {
  std::string name;                  // "before" | "after"
  std::vector<double> x, y;          // (N) coordinates
  std::vector<int64_t> label_class;  // (N) as AnalysisExport (-1 when read back from CSV without one)
  std::vector<std::string> label;    // (N)
  std::vector<std::string> speaker;  // (N)
  double kl_divergence = 0;          // NaN when read back from CSV
  int64_t iterations = 0;
  double seconds = 0;
};

// t-SNE of features_before and, when present, features_after of the export in `dir`.
std::vector<TsneScatter> compute_tsne_scatters(const std::string& dir, const analysis::TsneOptions& options);

// A tsne_<name>.csv written by `merc analyze tsne` read back (for figures and reports).
TsneScatter read_tsne_scatter(const std::string& csv_path);

struct TsneCmdArgs {
  std::string dir;  // DIR: what `merc eval --export` wrote
  std::string out;  // --out DIR2 (default DIR)
  // MoED's tsne_IEMOCAP.py / tsne_MELD.py settings: sklearn TSNE(perplexity 30, lr 200, n_iter 5000, seed 42).
  double perplexity = 30.0;
  std::string learning_rate = "200";  // a number or "auto"
  int64_t iterations = 5000;
  uint64_t seed = 42;
  double theta = 0.5;
  std::string init = "pca";
  int64_t threads = -1;           // torch threads (-1: leave as is)
  std::string progress = "auto";  // auto | bar | log | none
};
int run_analyze_tsne(const TsneCmdArgs& args, std::ostream& out);

}  // namespace merc::app
