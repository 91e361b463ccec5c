#include "merc/data/readers/dailydialog.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "merc/core/error.h"
#include "merc/data/readers/transcript_common.h"

namespace merc::data {

namespace dailydialog_impl {

namespace fs = std::filesystem;

constexpr std::string_view kEndOfUtterance = "__eou__";
const std::vector<std::string> kSplits = {"train", "validation", "test"};
// At most this many offending lines are spelled out in the warning (the count is always exact).
constexpr size_t kMaxListedDefects = 20;

struct SplitPaths {
  std::string partition;
  fs::path text;
  fs::path emotion;
};

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// The split files of a directory, in the layouts listed in dailydialog.h.
std::vector<SplitPaths> find_splits(const fs::path& dir) {
  std::vector<SplitPaths> found;
  if (is_file(dir / "dialogues_text.txt")) {
    found.push_back({"all", dir / "dialogues_text.txt", dir / "dialogues_emotion.txt"});
    return found;
  }
  for (const auto& split : kSplits) {
    const std::string text_name = "dialogues_" + split + ".txt";
    const std::string emotion_name = "dialogues_emotion_" + split + ".txt";
    for (const fs::path& where : {dir / split, dir}) {
      if (!is_file(where / text_name)) continue;
      found.push_back({canonical_split_name(split).value_or(split), where / text_name, where / emotion_name});
      break;
    }
  }
  return found;
}

// For a single dialogues_<x>.txt file: its emotion file and partition; nullopt for other names.
std::optional<SplitPaths> split_of_file(const fs::path& file) {
  const std::string name = file.filename().string();
  const std::string prefix = "dialogues_";
  if (file.extension() != ".txt" || name.rfind(prefix, 0) != 0) return std::nullopt;
  const std::string split = file.stem().string().substr(prefix.size());
  if (split.empty() || split.rfind("emotion", 0) == 0 || split.rfind("act", 0) == 0 ||
      split.rfind("topic", 0) == 0)
    return std::nullopt;
  if (split == "text") return SplitPaths{"all", file, file.parent_path() / "dialogues_emotion.txt"};
  return SplitPaths{canonical_split_name(split).value_or(split), file,
                    file.parent_path() / ("dialogues_emotion_" + split + ".txt")};
}

// The file's lines without line ends; trailing empty lines dropped.
std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_format_error(path.string(), "cannot open file (missing or unreadable)");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad()) throw_format_error(path.string(), "read error");
  while (!lines.empty() && trim_ascii(lines.back()).empty()) lines.pop_back();
  return lines;
}

std::vector<std::string> split_utterances(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = line.find(kEndOfUtterance, start);
    if (end == std::string_view::npos) break;
    out.emplace_back(trim_ascii(line.substr(start, end - start)));
    start = end + kEndOfUtterance.size();
  }
  // Text after the last marker is an unterminated last utterance (never in the release).
  const std::string_view rest = trim_ascii(line.substr(start));
  if (!rest.empty()) out.emplace_back(rest);
  return out;
}

std::vector<int64_t> parse_labels(std::string_view line, const fs::path& path, int64_t line_number) {
  std::vector<int64_t> labels;
  size_t i = 0;
  const int64_t num_classes = static_cast<int64_t>(dailydialog_emotion_names().size());
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j == i) break;
    const std::string_view token = line.substr(i, j - i);
    int64_t value = -1;
    const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec != std::errc() || ptr != token.data() + token.size() || value < 0 || value >= num_classes)
      MERC_FORMAT_ERROR(path.string(), "line {}: emotion label '{}' is not one of 0..{}", line_number,
                        token, num_classes - 1);
    labels.push_back(value);
    i = j;
  }
  return labels;
}

// Reads one split; a skipped-lines warning (if any) is appended to `warnings`.
SplitDialogues read_split(const SplitPaths& paths, std::vector<std::string>& warnings) {
  if (!is_file(paths.emotion))
    MERC_FORMAT_ERROR(paths.emotion.string(), "missing: DailyDialog emotion labels for {}",
                      paths.text.filename().string());
  const auto text_lines = read_lines(paths.text);
  const auto label_lines = read_lines(paths.emotion);
  if (text_lines.size() != label_lines.size())
    MERC_FORMAT_ERROR(paths.text.string(), "{} dialogue lines but {} has {} label lines", text_lines.size(),
                      paths.emotion.filename().string(), label_lines.size());

  SplitDialogues out;
  out.partition = paths.partition;
  std::vector<std::string> defects;
  for (size_t k = 0; k < text_lines.size(); ++k) {
    const int64_t line_number = static_cast<int64_t>(k) + 1;
    auto utterances = split_utterances(text_lines[k]);
    const auto labels = parse_labels(label_lines[k], paths.emotion, line_number);
    if (utterances.size() != labels.size() || utterances.empty()) {
      defects.push_back(fmt::format("line {} ({} utterances, {} labels)", line_number,
                                    utterances.size(), labels.size()));
      continue;
    }
    Dialogue d;
    d.id = fmt::format("{}/dia{}", paths.partition, k);
    for (size_t u = 0; u < utterances.size(); ++u) {
      Utterance utt;
      utt.id = fmt::format("dia{}_utt{}", k, u);
      utt.speaker = static_cast<int64_t>(u % 2);  // A and B take turns
      utt.speaker_name = utt.speaker == 0 ? "A" : "B";
      utt.label = labels[u];
      utt.transcript = std::move(utterances[u]);
      d.utterances.push_back(std::move(utt));
    }
    out.dialogues.push_back(std::move(d));
  }
  if (!defects.empty()) {
    std::string listed;
    for (size_t i = 0; i < defects.size() && i < kMaxListedDefects; ++i)
      listed += (i ? "; " : "") + defects[i];
    if (defects.size() > kMaxListedDefects) listed += "; ...";
    warnings.push_back(fmt::format("{}: skipped {} of {} dialogues whose utterance count differs from the "
                            "label count in {} (or that are empty): {}",
                            paths.text.string(), defects.size(), text_lines.size(),
                            paths.emotion.filename().string(), listed));
  }
  return out;
}

}  // namespace dailydialog_impl

const std::vector<std::string>& dailydialog_emotion_names() {
  static const std::vector<std::string> kNames = {"no_emotion", "anger",   "disgust", "fear",
                                                  "happiness",  "sadness", "surprise"};
  return kNames;
}

bool detect_dailydialog(const Probe& probe) {
  using namespace dailydialog_impl;
  if (probe.is_directory) return !find_splits(probe.path).empty();
  const auto split = split_of_file(probe.path);
  return split && is_file(split->emotion);
}

Dataset read_dailydialog(const Probe& probe, const ReadOptions& /*options*/) {
  using namespace dailydialog_impl;
  std::vector<SplitPaths> splits;
  if (probe.is_directory) {
    splits = find_splits(probe.path);
    if (splits.empty())
      MERC_FORMAT_ERROR(probe.path.string(),
                        "no DailyDialog files here (expected {{train,validation,test}}/dialogues_<split>.txt "
                        "or dialogues_text.txt)");
  } else {
    auto split = split_of_file(probe.path);
    if (!split)
      MERC_FORMAT_ERROR(probe.path.string(), "not a DailyDialog dialogues_<split>.txt file");
    splits.push_back(std::move(*split));
  }
  std::vector<std::string> warnings;
  std::vector<SplitDialogues> parts;
  for (const auto& s : splits) parts.push_back(read_split(s, warnings));

  DatasetInfo info;
  info.name = "DailyDialog";
  info.source_format = "dailydialog";
  info.task = Task::kClassification;
  info.class_names = dailydialog_emotion_names();
  info.notes =
      "DailyDialog text release (dialogues_<split>.txt + dialogues_emotion_<split>.txt). Dialogue "
      "id '<partition>/dia<k>' (k = 0-based line in the split file), utterance 'dia<k>_utt<u>'. "
      "Speakers alternate A/B (index = utterance position % 2). Partition 'validation' is named "
      "'valid'. Dialogue acts are not read. Lines whose label count differs from the utterance "
      "count are skipped with a warning. Transcripts only.";
  Dataset ds = assemble_transcript_dataset(std::move(info), std::move(parts));
  for (auto& w : warnings) add_warning(ds, std::move(w));
  return ds;
}

}  // namespace merc::data
