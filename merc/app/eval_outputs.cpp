#include "merc/app/eval_outputs.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/io/csv.h"
#include "merc/io/npy.h"
#include "merc/metrics/inertia.h"

namespace merc::app {

namespace fs = std::filesystem;

namespace {

// Reports over the subset of labelled predictions selected by `keep` (all when empty).
metrics::ClassificationReport subset_report(const std::vector<train::UtterancePrediction>& predictions,
                                           int64_t num_classes, const std::vector<bool>& keep) {
  std::vector<int64_t> y_true, y_pred;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const auto& p = predictions[i];
    if (p.label < 0 || (!keep.empty() && !keep[i])) continue;
    y_true.push_back(p.label);
    y_pred.push_back(p.pred_class);
  }
  MERC_CHECK(!y_true.empty(), "no labelled utterance to report on");
  return metrics::classification_report(y_true, y_pred, num_classes);
}

template <class T>
io::NdArray make_array(io::DType dtype, std::vector<int64_t> shape, const T* values, size_t count) {
  io::NdArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(count * sizeof(T));
  if (count > 0) std::memcpy(a.data.data(), values, count * sizeof(T));
  return a;
}

io::NdArray tensor_array(const torch::Tensor& x) {
  const torch::Tensor c = x.to(torch::kCPU).to(torch::kFloat).contiguous();
  return make_array(io::DType::kFloat32, {c.size(0), c.size(1)}, c.data_ptr<float>(), static_cast<size_t>(c.numel()));
}

}  // namespace

std::string metric_table(const std::string& first_column,
                         const std::vector<std::pair<std::string, metrics::MetricValues>>& rows) {
  MERC_CHECK(!rows.empty(), "metric table: no rows");
  const std::vector<std::string> names = rows.front().second.names();
  size_t width = std::max<size_t>(14, first_column.size());
  for (const auto& [name, m] : rows) {
    MERC_CHECK(m.names() == names, "metric table: row '{}' has other metrics than row '{}'", name, rows.front().first);
    width = std::max(width, name.size());
  }
  std::string s = fmt::format("| {:<{}} |", first_column, width);
  for (const std::string& k : names) s += fmt::format(" {:>11} |", k);
  s += "\n|" + std::string(width + 2, '-') + "|";
  for (size_t i = 0; i < names.size(); ++i) s += std::string(13, '-') + "|";
  s += "\n";
  for (const auto& [name, m] : rows) {
    s += fmt::format("| {:<{}} |", name, width);
    for (const auto& e : m) s += fmt::format(" {:>11.2f} |", e.value);
    s += "\n";
  }
  return s;
}

std::string predictions_csv(const std::vector<train::UtterancePrediction>& predictions, data::Task task,
                            const std::vector<std::string>& class_names, bool with_probabilities) {
  const bool cls = task == data::Task::kClassification;
  std::ostringstream csv;
  csv << "dialogue_id,utterance_idx,speaker,label,pred";
  if (cls && with_probabilities)
    for (const auto& c : class_names) csv << ",prob_" << io::csv_quote(c);
  csv << "\n";
  for (const auto& p : predictions) {
    csv << io::csv_quote(p.dialogue_id) << "," << p.utterance_idx << "," << io::csv_quote(p.speaker) << ",";
    if (cls) {
      const bool abstained = p.pred_class == metrics::kNoPrediction;  // a generative model's unparseable output
      MERC_CHECK(abstained || (p.pred_class >= 0 && p.pred_class < static_cast<int64_t>(class_names.size())),
                 "prediction class {} has no name ({} class names)", p.pred_class, class_names.size());
      const bool known = p.label >= 0 && p.label < static_cast<int64_t>(class_names.size());
      csv << (known ? io::csv_quote(class_names[static_cast<size_t>(p.label)]) : "") << ","
          << (abstained ? "(unparsed)" : io::csv_quote(class_names[static_cast<size_t>(p.pred_class)]));
      if (with_probabilities)
        for (float prob : p.probabilities) csv << "," << fmt::format("{:.6f}", prob);
    } else {
      csv << (std::isnan(p.score) ? "" : fmt::format("{:.6g}", p.score)) << "," << fmt::format("{:.6f}", p.pred_score);
    }
    csv << "\n";
  }
  return csv.str();
}

metrics::ClassificationReport prediction_report(const std::vector<train::UtterancePrediction>& predictions,
                                                int64_t num_classes) {
  return subset_report(predictions, num_classes, {});
}

std::string report_text(const metrics::ClassificationReport& report, const std::vector<std::string>& class_names) {
  return metrics::format_report(report, class_names, 4) + "\nconfusion matrix (rows = true, columns = predicted):\n" +
         metrics::format_confusion(report.confusion, class_names);
}

InertiaAnalysis inertia_analysis(const std::vector<train::UtterancePrediction>& predictions, int64_t num_classes) {
  std::vector<metrics::InertiaUtterance> u;
  u.reserve(predictions.size());
  for (const auto& p : predictions) u.push_back({p.dialogue_id, p.speaker_slot, p.label});
  const std::vector<bool> inertia = metrics::emotional_inertia(u);
  std::vector<bool> rest(inertia.size());
  InertiaAnalysis a;
  for (size_t i = 0; i < inertia.size(); ++i) {
    rest[i] = !inertia[i];
    if (predictions[i].label < 0) continue;
    (inertia[i] ? a.inertia_count : a.rest_count) += 1;
  }
  if (a.inertia_count > 0) a.inertia = subset_report(predictions, num_classes, inertia);
  if (a.rest_count > 0) a.rest = subset_report(predictions, num_classes, rest);
  return a;
}

std::string inertia_text(const InertiaAnalysis& a, const std::vector<std::string>& class_names) {
  const int64_t total = a.inertia_count + a.rest_count;
  std::string s = fmt::format(
      "emotional inertia (label = the same speaker's previous label in the dialogue): {} of {} labelled utterances "
      "({:.1f}%)\n",
      a.inertia_count, total, total > 0 ? 100.0 * static_cast<double>(a.inertia_count) / static_cast<double>(total) : 0.0);
  auto part = [&](const char* name, int64_t n, const metrics::ClassificationReport& r) {
    if (n == 0) return fmt::format("{}: no utterances\n", name);
    return fmt::format("{} ({} utterances): accuracy {:.2f}, weighted F1 {:.2f}\n{}", name, n, 100.0 * r.accuracy,
                       100.0 * r.weighted_f1, metrics::format_report(r, class_names, 4));
  };
  return s + part("inertia", a.inertia_count, a.inertia) + "\n" + part("rest", a.rest_count, a.rest);
}

nlohmann::ordered_json report_json(const metrics::ClassificationReport& r, const std::vector<std::string>& class_names) {
  nlohmann::ordered_json classes = nlohmann::ordered_json::object();
  for (size_t c = 0; c < r.classes.size(); ++c) {
    const auto& k = r.classes[c];
    classes[c < class_names.size() ? class_names[c] : std::to_string(c)] = {
        {"precision", k.precision}, {"recall", k.recall}, {"f1", k.f1}, {"support", k.support}};
  }
  std::vector<std::vector<double>> confusion;
  for (int64_t t = 0; t < r.confusion.num_classes; ++t) {
    confusion.emplace_back();
    for (int64_t p = 0; p < r.confusion.num_classes; ++p) confusion.back().push_back(r.confusion.at(t, p));
  }
  return {{"accuracy", r.accuracy},       {"weighted_f1", r.weighted_f1}, {"macro_f1", r.macro_f1},
          {"ua", r.ua()},                 {"classes", classes},           {"confusion", confusion}};
}

nlohmann::ordered_json inertia_json(const InertiaAnalysis& a) {
  auto part = [](int64_t n, const metrics::ClassificationReport& r) -> nlohmann::ordered_json {
    if (n == 0) return {{"utterances", 0}};
    return {{"utterances", n}, {"accuracy", 100.0 * r.accuracy}, {"weighted_f1", 100.0 * r.weighted_f1}};
  };
  return {{"inertia", part(a.inertia_count, a.inertia)}, {"rest", part(a.rest_count, a.rest)}};
}

std::vector<std::string> export_analysis(const std::string& dir, const train::EvalResult& result, data::Task task,
                                         const std::vector<std::string>& class_names) {
  const size_t n = result.predictions.size();
  MERC_CHECK(result.inputs.defined() && result.inputs.size(0) == static_cast<int64_t>(n),
             "export: the evaluation kept no input features for its {} predictions", n);
  std::error_code ec;
  fs::create_directories(dir, ec);
  MERC_CHECK(!ec, "cannot create export directory {}: {}", dir, ec.message());
  std::vector<std::string> written;
  auto path = [&](const char* name) {
    written.push_back(name);
    return (fs::path(dir) / name).string();
  };
  io::write_file_atomically(path("utterances.csv"), predictions_csv(result.predictions, task, class_names, false));
  std::vector<int64_t> speakers;
  speakers.reserve(n);
  for (const auto& p : result.predictions) speakers.push_back(p.speaker_slot);
  if (task == data::Task::kClassification) {
    std::vector<int64_t> labels;
    for (const auto& p : result.predictions) labels.push_back(p.label);
    io::write_npy_file(path("labels.npy"), make_array(io::DType::kInt64, {static_cast<int64_t>(n)}, labels.data(), n));
  } else {
    std::vector<double> scores;
    for (const auto& p : result.predictions) scores.push_back(p.score);
    io::write_npy_file(path("labels.npy"), make_array(io::DType::kFloat64, {static_cast<int64_t>(n)}, scores.data(), n));
  }
  io::write_npy_file(path("speakers.npy"), make_array(io::DType::kInt64, {static_cast<int64_t>(n)}, speakers.data(), n));
  io::write_npy_file(path("features_before.npy"), tensor_array(result.inputs));
  if (result.fused.defined()) io::write_npy_file(path("features_after.npy"), tensor_array(result.fused));
  return written;
}

}  // namespace merc::app
