#include "merc/data/readers/emorynlp_csv.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "merc/core/error.h"
#include "merc/data/readers/transcript_common.h"
#include "merc/io/csv.h"

namespace merc::data {

namespace emorynlp_impl {

const std::vector<std::string> kSplits = {"train", "dev", "test"};
constexpr std::string_view kPrefix = "emorynlp_";
constexpr std::string_view kSuffix = "_final.csv";
const std::vector<std::string> kRequiredColumns = {"Utterance", "Speaker", "Emotion", "Scene_ID",
                                                   "Utterance_ID", "Season", "Episode"};

struct SceneKey {
  int64_t season = 0;
  int64_t episode = 0;
  int64_t scene = 0;
  bool operator<(const SceneKey& o) const {
    return std::tie(season, episode, scene) < std::tie(o.season, o.episode, o.scene);
  }
};

struct RowRef {
  int64_t utterance_id = 0;
  int64_t row = 0;
};

SplitDialogues read_table(const std::filesystem::path& path, const std::string& partition) {
  const std::string source = path.string();
  const io::CsvTable t = io::read_csv_file(source);
  const int64_t c_text = t.column("Utterance");
  const int64_t c_speaker = t.column("Speaker");
  const int64_t c_emotion = t.column("Emotion");
  const int64_t c_scene = t.column("Scene_ID");
  const int64_t c_utterance = t.column("Utterance_ID");
  const int64_t c_season = t.column("Season");
  const int64_t c_episode = t.column("Episode");

  std::map<SceneKey, std::vector<RowRef>> scenes;
  for (int64_t r = 0; r < t.num_rows(); ++r) {
    const SceneKey key{t.integer(r, c_season), t.integer(r, c_episode), t.integer(r, c_scene)};
    scenes[key].push_back({t.integer(r, c_utterance), r});
  }

  SplitDialogues out;
  out.partition = partition;
  for (auto& [key, refs] : scenes) {
    std::stable_sort(refs.begin(), refs.end(),
                     [](const RowRef& a, const RowRef& b) { return a.utterance_id < b.utterance_id; });
    const std::string scene_name = fmt::format("s{}e{}c{}", key.season, key.episode, key.scene);
    Dialogue d;
    d.id = partition + "/" + scene_name;
    SpeakerOrder speakers;
    for (size_t k = 0; k < refs.size(); ++k) {
      const int64_t r = refs[k].row;
      const int64_t line = t.line_numbers[static_cast<size_t>(r)];
      if (k > 0 && refs[k - 1].utterance_id == refs[k].utterance_id)
        MERC_FORMAT_ERROR(source, "line {}: scene {} has Utterance_ID {} twice (also line {})", line,
                          scene_name, refs[k].utterance_id,
                          t.line_numbers[static_cast<size_t>(refs[k - 1].row)]);
      const auto names = parse_python_string_list(t.cell(r, c_speaker));
      if (!names)
        MERC_FORMAT_ERROR(source, "line {}: Speaker '{}' is not a Python list of strings", line,
                          t.cell(r, c_speaker));
      Utterance u;
      u.id = fmt::format("{}_u{}", scene_name, refs[k].utterance_id);
      for (const auto& n : *names) u.speaker_name += (u.speaker_name.empty() ? "" : " & ") + n;
      u.speaker = speakers.index_of(u.speaker_name);
      u.label = class_index(emorynlp_emotion_names(), t.cell(r, c_emotion), source, line, "Emotion");
      u.transcript = t.cell(r, c_text);
      d.utterances.push_back(std::move(u));
    }
    out.dialogues.push_back(std::move(d));
  }
  return out;
}

// One quoted Python string starting at s[i] (a quote); advances i past the closing quote.
std::optional<std::string> parse_quoted(std::string_view s, size_t& i) {
  const char quote = s[i++];
  std::string out;
  while (i < s.size()) {
    const char c = s[i++];
    if (c == quote) return out;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i >= s.size()) return std::nullopt;
    const char e = s[i++];
    switch (e) {
      case '\\': case '\'': case '"': out.push_back(e); break;
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case 'x': case 'u': case 'U': case 'N': return std::nullopt;  // code points: not expected
      default:
        if (e >= '0' && e <= '7') return std::nullopt;
        out.push_back('\\');  // Python keeps unknown escapes verbatim
        out.push_back(e);
    }
  }
  return std::nullopt;  // unterminated
}

}  // namespace emorynlp_impl

const std::vector<std::string>& emorynlp_emotion_names() {
  static const std::vector<std::string> kNames = {"Joyful", "Mad",      "Peaceful", "Neutral",
                                                  "Sad",    "Powerful", "Scared"};
  return kNames;
}

std::optional<std::vector<std::string>> parse_python_string_list(std::string_view literal) {
  const std::string_view s = trim_ascii(literal);
  if (s.empty() || s.front() != '[') return std::vector<std::string>{std::string(s)};
  std::vector<std::string> names;
  size_t i = 1;
  auto skip_spaces = [&] { while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i; };
  skip_spaces();
  if (i < s.size() && s[i] == ']') return ++i == s.size() ? std::optional(names) : std::nullopt;
  for (;;) {
    skip_spaces();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) return std::nullopt;
    auto name = emorynlp_impl::parse_quoted(s, i);
    if (!name) return std::nullopt;
    names.push_back(std::move(*name));
    skip_spaces();
    if (i >= s.size()) return std::nullopt;
    if (s[i] == ']') return i + 1 == s.size() ? std::optional(names) : std::nullopt;
    if (s[i] != ',') return std::nullopt;
    ++i;
    skip_spaces();
    if (i < s.size() && s[i] == ']') return i + 1 == s.size() ? std::optional(names) : std::nullopt;
  }
}

bool detect_emorynlp_csv(const Probe& probe) {
  using namespace emorynlp_impl;
  if (probe.is_directory) return !find_split_files(probe.path, kPrefix, kSuffix, kSplits).empty();
  if (probe.path.extension() != ".csv") return false;
  const auto header = io::read_csv_first_record(probe.path.string());
  return header && has_columns(*header, kRequiredColumns);
}

Dataset read_emorynlp_csv(const Probe& probe, const ReadOptions& /*options*/) {
  using namespace emorynlp_impl;
  std::vector<SplitDialogues> parts;
  if (probe.is_directory) {
    const auto files = find_split_files(probe.path, kPrefix, kSuffix, kSplits);
    if (files.empty())
      MERC_FORMAT_ERROR(probe.path.string(),
                        "no EmoryNLP table ({}{{train,dev,test}}{}) in this directory", kPrefix, kSuffix);
    for (const auto& f : files) parts.push_back(read_table(f.path, f.partition));
  } else {
    parts.push_back(read_table(probe.path, partition_from_filename(probe.path)));
  }
  DatasetInfo info;
  info.name = "EmoryNLP";
  info.source_format = "emorynlp-csv";
  info.task = Task::kClassification;
  info.class_names = emorynlp_emotion_names();
  info.notes =
      "EmoryNLP tables as published with MELD (emorynlp_{train,dev,test}_final.csv). Dialogue = "
      "scene (Season, Episode, Scene_ID), id '<partition>/s<S>e<E>c<C>'; utterance id "
      "'s<S>e<E>c<C>_u<Utterance_ID>'. Labels in COSMIC's order (Joyful, Mad, Peaceful, Neutral, "
      "Sad, Powerful, Scared). Speaker lists joined with ' & ' form one party; parties numbered "
      "by first appearance in each scene. Transcripts only.";
  return assemble_transcript_dataset(std::move(info), std::move(parts));
}

}  // namespace merc::data
