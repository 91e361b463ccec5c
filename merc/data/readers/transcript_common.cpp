#include "merc/data/readers/transcript_common.h"

#include <algorithm>
#include <cctype>

#include "merc/core/error.h"

namespace merc::data {

int64_t SpeakerOrder::index_of(const std::string& name) {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return static_cast<int64_t>(i);
  names_.push_back(name);
  return static_cast<int64_t>(names_.size()) - 1;
}

std::optional<std::string> canonical_split_name(std::string_view token) {
  std::string t(token);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "train" || t == "dev" || t == "test") return t;
  if (t == "validation" || t == "valid" || t == "val") return std::string("valid");
  return std::nullopt;
}

std::string partition_from_filename(const std::filesystem::path& path) {
  const std::string stem = path.stem().string();
  size_t start = 0;
  while (start <= stem.size()) {
    size_t end = stem.find_first_of("_-.", start);
    if (end == std::string::npos) end = stem.size();
    if (auto split = canonical_split_name(std::string_view(stem).substr(start, end - start))) return *split;
    start = end + 1;
  }
  return "all";
}

int split_rank(std::string_view partition) {
  if (partition == "train") return 0;
  if (partition == "valid") return 1;
  if (partition == "dev") return 2;
  if (partition == "test") return 3;
  return 4;
}

std::vector<SplitFile> find_split_files(const std::filesystem::path& dir, std::string_view prefix,
                                        std::string_view suffix,
                                        const std::vector<std::string>& splits) {
  std::vector<SplitFile> found;
  for (const auto& split : splits) {
    const auto path = dir / (std::string(prefix) + split + std::string(suffix));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    found.push_back({canonical_split_name(split).value_or(split), path});
  }
  std::stable_sort(found.begin(), found.end(), [](const SplitFile& a, const SplitFile& b) {
    return split_rank(a.partition) < split_rank(b.partition);
  });
  return found;
}

Dataset assemble_transcript_dataset(DatasetInfo info, std::vector<SplitDialogues> parts) {
  std::stable_sort(parts.begin(), parts.end(), [](const SplitDialogues& a, const SplitDialogues& b) {
    return split_rank(a.partition) < split_rank(b.partition);
  });
  Dataset ds;
  SplitScheme given;
  given.name = "given";
  int64_t num_speakers = 1;
  for (auto& part : parts) {
    Partition p;
    p.name = part.partition;
    for (auto& d : part.dialogues) {
      for (const auto& u : d.utterances) num_speakers = std::max(num_speakers, u.speaker + 1);
      p.dialogues.push_back(static_cast<int64_t>(ds.dialogues.size()));
      ds.dialogues.push_back(std::move(d));
    }
    given.partitions.push_back(std::move(p));
  }
  info.num_speakers = num_speakers;
  info.modality_dims = {0, 0, 0};
  ds.info = std::move(info);
  ds.split_schemes.push_back(std::move(given));
  return ds;
}

std::string_view trim_ascii(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool has_columns(const std::vector<std::string>& header, const std::vector<std::string>& required) {
  for (const auto& r : required)
    if (std::find(header.begin(), header.end(), r) == header.end()) return false;
  return true;
}

int64_t class_index(const std::vector<std::string>& class_names, std::string_view value,
                    const std::string& source, int64_t line, std::string_view column) {
  const std::string_view v = trim_ascii(value);
  for (size_t i = 0; i < class_names.size(); ++i)
    if (class_names[i] == v) return static_cast<int64_t>(i);
  MERC_FORMAT_ERROR(source, "line {}: unknown {} '{}' (valid: {})", line, column, value,
                    join_names(class_names));
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace merc::data
