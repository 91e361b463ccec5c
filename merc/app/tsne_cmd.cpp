#include "merc/app/tsne_cmd.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "merc/analysis/figures.h"
#include "merc/core/error.h"
#include "merc/core/progress.h"
#include "merc/io/binary_file.h"
#include "merc/io/csv.h"
#include "merc/io/npy.h"

namespace merc::app {

namespace fs = std::filesystem;

namespace tsne_cmd_detail {

const char* const kExportHint = "(is it a folder written by `merc eval --export`?)";

std::string export_file(const std::string& dir, const char* name, bool required) {
  const std::string path = (fs::path(dir) / name).string();
  if (required && !fs::exists(path)) MERC_FORMAT_ERROR(path, "missing {}", kExportHint);
  return path;
}

torch::Tensor read_features(const std::string& path) {
  const io::NdArray a = io::read_npy_file(path);
  if (a.ndim() != 2) MERC_FORMAT_ERROR(path, "want (N, D) features, got shape {}", a.shape_string());
  std::vector<float> v = a.to_float32();
  return torch::from_blob(v.data(), {a.shape[0], a.shape[1]}, torch::kFloat32).clone();
}

void check_rows(const std::string& path, int64_t rows, int64_t n) {
  if (rows != n) MERC_FORMAT_ERROR(path, "has {} rows but features_before.npy has {}", rows, n);
}

// labels.npy: int64 classes (classification) or float64 scores (regression).
void read_labels(const std::string& path, int64_t n, AnalysisExport* e) {
  const io::NdArray a = io::read_npy_file(path);
  if (a.ndim() != 1) MERC_FORMAT_ERROR(path, "want (N) labels, got shape {}", a.shape_string());
  check_rows(path, a.shape[0], n);
  const bool classes = io::is_integer_dtype(a.dtype);
  for (int64_t i = 0; i < n; ++i) {
    e->label_class.push_back(classes ? a.get_int64(i) : -1);
    const double score = a.get_double(i);
    e->label.push_back(classes ? (a.get_int64(i) < 0 ? "" : std::to_string(a.get_int64(i)))
                               : (std::isnan(score) ? "" : fmt::format("{:.6g}", score)));
  }
}

// Class and speaker names from utterances.csv replace the numbers where the file is there.
void read_names(const std::string& path, int64_t n, AnalysisExport* e) {
  const io::CsvTable t = io::read_csv_file(path);
  check_rows(path, t.num_rows(), n);
  const int64_t label = t.column("label"), speaker = t.column("speaker");
  for (int64_t i = 0; i < n; ++i) {
    e->label[static_cast<size_t>(i)] = t.cell(i, label);
    e->speaker[static_cast<size_t>(i)] = t.cell(i, speaker);
  }
}

std::string scatter_csv(const TsneScatter& s) {
  std::ostringstream csv;
  csv << "x,y,label,speaker\n";
  for (size_t i = 0; i < s.x.size(); ++i)
    csv << fmt::format("{:.9g},{:.9g},", s.x[i], s.y[i]) << io::csv_quote(s.label[i]) << ","
        << io::csv_quote(s.speaker[i]) << "\n";
  return csv.str();
}

analysis::TsneOptions options_from_args(const TsneCmdArgs& a) {
  analysis::TsneOptions o;
  o.perplexity = a.perplexity;
  o.max_iter = a.iterations;
  o.exaggeration_iterations = std::min<int64_t>(o.exaggeration_iterations, a.iterations);
  o.seed = a.seed;
  o.theta = a.theta;
  o.init = analysis::parse_tsne_init(a.init);
  if (a.learning_rate != "auto") {
    size_t used = 0;
    double lr = 0;
    try {
      lr = std::stod(a.learning_rate, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MERC_CHECK(used == a.learning_rate.size() && used > 0, "--learning-rate: want a number or 'auto', got '{}'",
               a.learning_rate);
    o.learning_rate = lr;
  }
  return o;
}

nlohmann::ordered_json scatter_json(const TsneScatter& s, const std::string& file, int64_t features) {
  nlohmann::ordered_json j;
  j["file"] = file;
  j["points"] = s.x.size();
  j["features"] = features;
  j["kl_divergence"] = s.kl_divergence;
  j["iterations"] = s.iterations;
  j["seconds"] = s.seconds;
  return j;
}

struct NamedFeatures {
  std::string name;  // "before" | "after"
  torch::Tensor features;
};
std::vector<NamedFeatures> named_features(const AnalysisExport& e) {
  std::vector<NamedFeatures> out{{"before", e.features_before}};
  if (e.features_after.defined()) out.push_back({"after", e.features_after});
  return out;
}

struct ScatterRun {
  TsneScatter scatter;
  double learning_rate = 0;  // as used
};
ScatterRun run_scatter(const NamedFeatures& f, const AnalysisExport& e, const analysis::TsneOptions& options) {
  const analysis::TsneResult r = analysis::tsne(f.features, options);
  ScatterRun run;
  TsneScatter& s = run.scatter;
  s.name = f.name;
  const torch::Tensor emb = r.embedding.contiguous();
  const double* p = emb.data_ptr<double>();
  for (int64_t i = 0; i < emb.size(0); ++i) {
    s.x.push_back(p[i * 2]);
    s.y.push_back(p[i * 2 + 1]);
  }
  s.label_class = e.label_class;
  s.label = e.label;
  s.speaker = e.speaker;
  s.kl_divergence = r.kl_divergence;
  s.iterations = r.iterations;
  s.seconds = r.seconds.total;
  run.learning_rate = r.learning_rate;
  return run;
}

// The scatter panels coloured as MoED's figures: by class for classification exports; by the sign
// of the score (negative / zero / positive, the Acc-2 and Acc-3 view of CMU's sentiment scores)
// for regression exports, whose labels are scores; "no label" where an utterance has none.
struct ColouredPanels {
  std::vector<analysis::EmbeddingPanel> panels;
  std::vector<std::string> class_names;
};
ColouredPanels coloured_panels(const std::vector<TsneScatter>& scatters) {
  ColouredPanels out;
  const bool classes = !scatters.empty() && std::any_of(scatters[0].label_class.begin(), scatters[0].label_class.end(),
                                                         [](int64_t c) { return c >= 0; });
  std::map<int64_t, std::string> class_name;  // classification: index -> name as utterances.csv has it
  if (classes)
    for (size_t i = 0; i < scatters[0].label.size(); ++i)
      if (scatters[0].label_class[i] >= 0) class_name[scatters[0].label_class[i]] = scatters[0].label[i];
  if (classes) {
    const int64_t n = class_name.rbegin()->first + 1;
    for (int64_t c = 0; c < n; ++c) out.class_names.push_back(class_name.count(c) ? class_name[c] : std::to_string(c));
    out.class_names.push_back("no label");
  } else {
    out.class_names = {"negative (< 0)", "zero", "positive (> 0)", "no label"};
  }
  const int64_t none = static_cast<int64_t>(out.class_names.size()) - 1;
  for (const TsneScatter& s : scatters) {
    analysis::EmbeddingPanel panel;
    panel.title = s.name == "before" ? "before: model inputs" : "after: fused representation";
    panel.x = s.x;
    panel.y = s.y;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (classes) {
        panel.labels.push_back(s.label_class[i] >= 0 ? s.label_class[i] : none);
        continue;
      }
      char* end = nullptr;
      const double score = s.label[i].empty() ? NAN : std::strtod(s.label[i].c_str(), &end);
      const bool ok = std::isfinite(score) && end && *end == '\0';
      panel.labels.push_back(!ok ? none : score < 0 ? 0 : score == 0 ? 1 : 2);
    }
    out.panels.push_back(std::move(panel));
  }
  // The legend lists "no label" only when some point has none.
  const bool any_unlabelled = std::any_of(out.panels.begin(), out.panels.end(), [&](const analysis::EmbeddingPanel& p) {
    return std::find(p.labels.begin(), p.labels.end(), none) != p.labels.end();
  });
  if (!any_unlabelled) out.class_names.pop_back();
  return out;
}

}  // namespace tsne_cmd_detail

AnalysisExport read_analysis_export(const std::string& dir) {
  MERC_CHECK(fs::is_directory(dir), "{}: not a directory {}", dir, tsne_cmd_detail::kExportHint);
  AnalysisExport e;
  e.features_before = tsne_cmd_detail::read_features(tsne_cmd_detail::export_file(dir, "features_before.npy", true));
  const int64_t n = e.features_before.size(0);
  const std::string after = tsne_cmd_detail::export_file(dir, "features_after.npy", false);
  if (fs::exists(after)) {
    e.features_after = tsne_cmd_detail::read_features(after);
    tsne_cmd_detail::check_rows(after, e.features_after.size(0), n);
  }
  tsne_cmd_detail::read_labels(tsne_cmd_detail::export_file(dir, "labels.npy", true), n, &e);
  const std::string speakers = tsne_cmd_detail::export_file(dir, "speakers.npy", true);
  const io::NdArray s = io::read_npy_file(speakers);
  if (s.ndim() != 1) MERC_FORMAT_ERROR(speakers, "want (N) speaker slots, got shape {}", s.shape_string());
  tsne_cmd_detail::check_rows(speakers, s.shape[0], n);
  for (int64_t i = 0; i < n; ++i) e.speaker.push_back(std::to_string(s.get_int64(i)));
  const std::string utterances = tsne_cmd_detail::export_file(dir, "utterances.csv", false);
  if (fs::exists(utterances)) tsne_cmd_detail::read_names(utterances, n, &e);
  return e;
}

std::vector<TsneScatter> compute_tsne_scatters(const std::string& dir, const analysis::TsneOptions& options) {
  const AnalysisExport e = read_analysis_export(dir);
  std::vector<TsneScatter> out;
  for (const tsne_cmd_detail::NamedFeatures& f : tsne_cmd_detail::named_features(e))
    out.push_back(tsne_cmd_detail::run_scatter(f, e, options).scatter);
  return out;
}

TsneScatter read_tsne_scatter(const std::string& csv_path) {
  const io::CsvTable t = io::read_csv_file(csv_path);
  const int64_t cx = t.column("x"), cy = t.column("y"), cl = t.column("label"), cs = t.column("speaker");
  TsneScatter s;
  s.name = fs::path(csv_path).stem().string();
  if (s.name.rfind("tsne_", 0) == 0) s.name = s.name.substr(5);
  s.kl_divergence = std::numeric_limits<double>::quiet_NaN();
  for (int64_t i = 0; i < t.num_rows(); ++i) {
    s.x.push_back(t.number(i, cx));
    s.y.push_back(t.number(i, cy));
    s.label.push_back(t.cell(i, cl));
    s.speaker.push_back(t.cell(i, cs));
    s.label_class.push_back(-1);
  }
  return s;
}

int run_analyze_tsne(const TsneCmdArgs& args, std::ostream& out) {
  if (args.threads > 0) torch::set_num_threads(static_cast<int>(args.threads));
  analysis::TsneOptions options = tsne_cmd_detail::options_from_args(args);
  const ProgressMode mode = parse_progress_mode(args.progress, stderr);
  const AnalysisExport e = read_analysis_export(args.dir);  // fails early, before minutes of t-SNE
  const std::string out_dir = args.out.empty() ? args.dir : args.out;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  MERC_CHECK(!ec, "cannot create output directory {}: {}", out_dir, ec.message());
  nlohmann::ordered_json report;
  report["source"] = args.dir;
  std::vector<TsneScatter> scatters;
  for (const tsne_cmd_detail::NamedFeatures& f : tsne_cmd_detail::named_features(e)) {
    ProgressBar bar(mode, stderr, fmt::format("t-SNE {}", f.name), options.max_iter);
    options.on_progress = [&bar](const analysis::TsneProgress& p) {
      bar.update(p.iteration, fmt::format("KL {:.4f}", p.kl_divergence));
    };
    const tsne_cmd_detail::ScatterRun run = tsne_cmd_detail::run_scatter(f, e, options);
    bar.finish();
    const TsneScatter& s = run.scatter;
    const std::string file = fmt::format("tsne_{}.csv", f.name);
    const std::string path = (fs::path(out_dir) / file).string();
    io::write_file_atomically(path, tsne_cmd_detail::scatter_csv(s));
    report[f.name] = tsne_cmd_detail::scatter_json(s, file, f.features.size(1));
    report[f.name]["learning_rate_used"] = run.learning_rate;
    out << fmt::format("t-SNE {}: {} points x {} features -> {}, KL {:.4f} after {} iterations ({:.1f} s)\n", f.name,
                       f.features.size(0), f.features.size(1), path, s.kl_divergence, s.iterations, s.seconds);
    scatters.push_back(s);
  }
  // MoED's Figure 2: before / after side by side, coloured by label.
  const tsne_cmd_detail::ColouredPanels coloured = tsne_cmd_detail::coloured_panels(scatters);
  const analysis::Figure figure = analysis::tsne_figure(
      coloured.panels, coloured.class_names, fmt::format("t-SNE (perplexity {:g}) of {}", args.perplexity, args.dir));
  const analysis::FigureFiles files = analysis::write_figure(figure, out_dir);
  report["figure"] = {{"svg", files.svg}, {"png", files.png}, {"pdf", files.pdf}};
  out << fmt::format("figure: {}, {}, {}\n", files.svg, files.png, files.pdf);
  nlohmann::ordered_json o;
  o["perplexity"] = args.perplexity;
  o["learning_rate"] = args.learning_rate;
  o["iterations"] = args.iterations;
  o["seed"] = args.seed;
  o["theta"] = args.theta;
  o["init"] = args.init;
  o["early_exaggeration"] = options.early_exaggeration;
  o["exaggeration_iterations"] = options.exaggeration_iterations;
  o["threads"] = torch::get_num_threads();
  report["options"] = o;
  io::write_file_atomically((fs::path(out_dir) / "tsne.json").string(), report.dump(2) + "\n");
  return 0;
}

}  // namespace merc::app
