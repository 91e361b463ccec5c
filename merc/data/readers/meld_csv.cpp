#include "merc/data/readers/meld_csv.h"

#include <algorithm>
#include <map>

#include "merc/core/error.h"
#include "merc/io/csv.h"
#include "merc/data/readers/transcript_common.h"

namespace merc::data {

namespace meld_impl {

const std::vector<std::string> kSplits = {"train", "dev", "test"};
constexpr std::string_view kSuffix = "_sent_emo.csv";
const std::vector<std::string> kRequiredColumns = {"Utterance", "Speaker", "Emotion", "Dialogue_ID",
                                                   "Utterance_ID"};

struct RowRef {
  int64_t utterance_id = 0;
  int64_t row = 0;
};

SplitDialogues read_table(const std::filesystem::path& path, const std::string& partition) {
  const io::CsvTable t = io::read_csv_file(path.string());
  const int64_t c_text = t.column("Utterance");
  const int64_t c_speaker = t.column("Speaker");
  const int64_t c_emotion = t.column("Emotion");
  const int64_t c_dialogue = t.column("Dialogue_ID");
  const int64_t c_utterance = t.column("Utterance_ID");

  std::map<int64_t, std::vector<RowRef>> groups;  // ordered by Dialogue_ID
  for (int64_t r = 0; r < t.num_rows(); ++r)
    groups[t.integer(r, c_dialogue)].push_back({t.integer(r, c_utterance), r});

  SplitDialogues out;
  out.partition = partition;
  for (auto& [dialogue_id, refs] : groups) {
    std::stable_sort(refs.begin(), refs.end(),
                     [](const RowRef& a, const RowRef& b) { return a.utterance_id < b.utterance_id; });
    Dialogue d;
    d.id = fmt::format("{}/dia{}", partition, dialogue_id);
    SpeakerOrder speakers;
    for (size_t k = 0; k < refs.size(); ++k) {
      const int64_t r = refs[k].row;
      const int64_t line = t.line_numbers[static_cast<size_t>(r)];
      if (k > 0 && refs[k - 1].utterance_id == refs[k].utterance_id)
        MERC_FORMAT_ERROR(path.string(), "line {}: Dialogue_ID {} has Utterance_ID {} twice (also line {})",
                          line, dialogue_id, refs[k].utterance_id,
                          t.line_numbers[static_cast<size_t>(refs[k - 1].row)]);
      Utterance u;
      u.id = fmt::format("dia{}_utt{}", dialogue_id, refs[k].utterance_id);
      u.speaker_name = std::string(trim_ascii(t.cell(r, c_speaker)));
      u.speaker = speakers.index_of(u.speaker_name);
      u.label = class_index(meld_emotion_names(), t.cell(r, c_emotion), path.string(), line, "Emotion");
      u.transcript = t.cell(r, c_text);
      d.utterances.push_back(std::move(u));
    }
    out.dialogues.push_back(std::move(d));
  }
  return out;
}

}  // namespace meld_impl

const std::vector<std::string>& meld_emotion_names() {
  static const std::vector<std::string> kNames = {"neutral", "surprise", "fear", "sadness",
                                                  "joy",     "disgust",  "anger"};
  return kNames;
}

bool detect_meld_csv(const Probe& probe) {
  using namespace meld_impl;
  if (probe.is_directory) return !find_split_files(probe.path, "", kSuffix, kSplits).empty();
  if (probe.path.extension() != ".csv") return false;
  const auto header = io::read_csv_first_record(probe.path.string());
  return header && has_columns(*header, kRequiredColumns);
}

Dataset read_meld_csv(const Probe& probe, const ReadOptions& /*options*/) {
  using namespace meld_impl;
  std::vector<SplitDialogues> parts;
  if (probe.is_directory) {
    const auto files = find_split_files(probe.path, "", kSuffix, kSplits);
    if (files.empty())
      MERC_FORMAT_ERROR(probe.path.string(), "no MELD table ({{train,dev,test}}{}) in this directory",
                        kSuffix);
    for (const auto& f : files) parts.push_back(read_table(f.path, f.partition));
  } else {
    parts.push_back(read_table(probe.path, partition_from_filename(probe.path)));
  }
  DatasetInfo info;
  info.name = "MELD";
  info.source_format = "meld-csv";
  info.task = Task::kClassification;
  info.class_names = meld_emotion_names();
  info.notes =
      "MELD official CSV tables (declare-lab/MELD {train,dev,test}_sent_emo.csv). Dialogue = "
      "Dialogue_ID within a split file, id '<partition>/dia<D>'; utterance id 'dia<D>_utt<U>' "
      "(the feature-pickle key; unique within a split). Labels = Emotion in the feature pickles' "
      "order (neutral, surprise, fear, sadness, joy, disgust, anger). Speakers numbered by first "
      "appearance in each dialogue (not the pickles' 9-slot encoding). The Sentiment column "
      "(negative/neutral/positive) is a second label that is not read yet. Transcripts only.";
  return assemble_transcript_dataset(std::move(info), std::move(parts));
}

}  // namespace merc::data
