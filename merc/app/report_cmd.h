#pragma once
// `merc report DIR [--out FILE]` (issue 18 §4): one self-contained HTML file for a finished run, a
// k-fold directory (`merc train --folds`) or a sweep directory (`merc sweep`): a protocol card
// (dataset and provenance, split, partition sizes, missing-modality protocols, selection rule, loud
// warnings from report_warnings.h), the resolved config, metric tables (selected epoch; mean and
// std over folds / seeds as results.json has them), the 4-digit classification report of a
// classification run (predict_saved_run), and the figures (report_figures).

#include <iosfwd>
#include <string>
#include <vector>

namespace merc::app {

struct ReportArgs {
  std::string dir;  // a run, k-fold or sweep directory
  std::string out;  // "" = DIR/report.html
};

enum class ReportKind {
  kRun,    // config.yaml + metrics.json (+ train_log.jsonl, model.pt)
  kFolds,  // results.json whose runs sit in DIR/<split scheme>/
  kSweep,  // results.json whose runs sit in DIR/<protocol>/seed-<n>/
};

// What DIR is; merc::Error naming DIR when it is none of the three.
ReportKind detect_report_kind(const std::string& dir);

// One figure of a report: its svg text goes inline.
struct ReportFigure {
  std::string name;     // file stem, e.g. "confusion"
  std::string title;    // e.g. "fold-2: training curves"
  std::string caption;  // one sentence: what is shown and from which data
  std::string svg;      // an SVG document (an XML prolog is stripped)
};

// The figures (issue 18 §3, merc/app/run_figures.h) of a run (run_figures), of every fold of a
// k-fold run (titles prefixed with the fold) or of a sweep (sweep_figures).
std::vector<ReportFigure> report_figures(const std::string& dir, ReportKind kind);

// The HTML document for DIR. merc::Error (FormatError for a malformed file) naming the missing or
// corrupt file.
std::string report_html(const std::string& dir);

// Writes the report (args.out or DIR/report.html) and prints its path; returns the exit code.
int run_report(const ReportArgs& args, std::ostream& out);

}  // namespace merc::app
