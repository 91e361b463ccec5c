#pragma once
// The figures of a finished run or sweep directory (issue 18 §3), for `merc analyze figures` and
// the HTML report (which inlines Figure::svg). Reads the files merc writes; the drawing is
// merc/analysis/figures.h.

#include <iosfwd>
#include <string>
#include <vector>

#include "merc/analysis/figures.h"

namespace merc::app {

// A run directory (train_log.jsonl and/or model.pt): the training curves from train_log.jsonl;
// with model.pt the run evaluated again on its test partition (predict_saved_run): for
// classification the confusion matrix (counts and row-normalised) and per-class F1, for
// regression predicted vs true. merc::Error when dir is neither.
std::vector<analysis::Figure> run_figures(const std::string& run_dir);

// A sweep directory (results.json of `merc sweep`): per main test metric the missing-rate curves
// (one line per protocol family, e.g. random / imder; "complete" is rate 0 of each; band = seed
// std) and, where the sweep has non-rate conditions (fixed:a, ...), a bar chart over them.
// merc::Error (FormatError naming the file) when results.json is missing or malformed.
std::vector<analysis::Figure> sweep_figures(const std::string& sweep_dir);

// What `analyze figures` draws for dir: a sweep when dir has results.json, else a run.
bool is_sweep_dir(const std::string& dir);

// train_log.jsonl text -> one record per line, `metric` read from its valid/test objects (null or
// absent = NaN). merc::FormatError naming `source` on a malformed line.
std::vector<analysis::EpochRecord> parse_train_log(const std::string& text, const std::string& metric,
                                                   const std::string& source);

// `merc analyze figures DIR [--out DIR2]`: every figure of DIR as svg + png + pdf in DIR2
// (default DIR/figures); prints one line per file written.
struct FiguresArgs {
  std::string dir;
  std::string out;
};
int run_figures_cmd(const FiguresArgs& args, std::ostream& out);

}  // namespace merc::app
