#include "merc/data/readers/conversation_fields.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "merc/core/error.h"

namespace merc::data {

namespace {

// The field that fixes a dialogue's length, and that length.
struct LengthSource {
  const DictById* field = nullptr;
  int64_t length = 0;
};

void check_length(const DictById& field, const std::string& vid, int64_t got, const LengthSource& ref,
                  std::string_view unit) {
  if (got != ref.length)
    MERC_FORMAT_ERROR(field.path(), "dialogue '{}': {} has {} {} but {} lists {} utterances", vid, field.name(),
                      got, unit, ref.field->name(), ref.length);
}

}  // namespace

Conversations read_conversations(const std::vector<std::string>& vids, const ConversationFields& f) {
  Conversations out;
  out.dialogues.reserve(vids.size());
  // Column count of every feature part, fixed by the first dialogue that has utterances; the
  // dialogue is remembered for the message when a later one disagrees.
  std::array<std::vector<int64_t>, kNumModalities> part_cols;
  std::array<std::vector<std::string>, kNumModalities> part_first;
  for (int m = 0; m < kNumModalities; ++m) {
    part_cols[static_cast<size_t>(m)].assign(f.features[static_cast<size_t>(m)].size(), -1);
    part_first[static_cast<size_t>(m)].assign(f.features[static_cast<size_t>(m)].size(), "");
  }
  if (f.speakers) out.speaker_slots = f.speaker_encoding == SpeakerEncoding::kOneHot ? 0 : 2;

  for (const std::string& vid : vids) {
    MERC_CHECK(out.index.emplace(vid, static_cast<int64_t>(out.dialogues.size())).second,
               "read_conversations: dialogue '{}' requested twice", vid);
    Dialogue d;
    d.id = vid;
    LengthSource ref;
    std::vector<std::string> uids;
    if (f.ids) {
      uids = utterance_ids(f.ids->at(vid), vid, f.ids->path(), fmt::format("{}['{}']", f.ids->name(), vid));
      ref = {f.ids, static_cast<int64_t>(uids.size())};
    }
    // Labels.
    std::vector<int64_t> labels;
    std::vector<double> scores;
    if (f.labels) {
      const auto what = fmt::format("{}['{}']", f.labels->name(), vid);
      const io::PyValue& v = f.labels->at(vid);
      int64_t n = 0;
      if (f.label_rule.bin_score) {
        scores = number_list(v, f.labels->path(), what);
        n = static_cast<int64_t>(scores.size());
        for (size_t i = 0; i < scores.size(); ++i)
          if (!std::isfinite(scores[i])) MERC_FORMAT_ERROR(f.labels->path(), "{}[{}] is not a finite score", what, i);
      } else {
        labels = int_list(v, f.labels->path(), what);
        n = static_cast<int64_t>(labels.size());
        for (size_t i = 0; i < labels.size(); ++i)
          if (labels[i] < 0 || labels[i] >= f.label_rule.num_classes)
            MERC_FORMAT_ERROR(f.labels->path(), "{}[{}] = {} is outside the class range 0..{}", what, i, labels[i],
                              f.label_rule.num_classes - 1);
      }
      if (ref.field) check_length(*f.labels, vid, n, ref, "labels");
      else ref = {f.labels, n};
    }
    // Speakers.
    SpeakerCodes speakers;
    if (f.speakers) {
      speakers = decode_speakers(f.speakers->at(vid), f.speaker_encoding, f.speakers->path(),
                                 fmt::format("{}['{}']", f.speakers->name(), vid));
      const auto n = static_cast<int64_t>(speakers.index.size());
      if (ref.field) check_length(*f.speakers, vid, n, ref, "speakers");
      else ref = {f.speakers, n};
      if (n > 0) {
        if (f.speaker_encoding == SpeakerEncoding::kOneHot && out.speaker_slots != 0 &&
            speakers.slots != out.speaker_slots)
          MERC_FORMAT_ERROR(f.speakers->path(), "dialogue '{}': {} has {}-slot speaker vectors, other dialogues {}",
                            vid, f.speakers->name(), speakers.slots, out.speaker_slots);
        out.speaker_slots = speakers.slots;
      }
    }
    MERC_CHECK(ref.field, "read_conversations: no ids, labels or speakers field given");
    const int64_t L = ref.length;
    // Transcripts.
    std::vector<std::string> sentences;
    if (f.sentences) {
      sentences = str_list(f.sentences->at(vid), f.sentences->path(), fmt::format("{}['{}']", f.sentences->name(), vid));
      check_length(*f.sentences, vid, static_cast<int64_t>(sentences.size()), ref, "sentences");
    }
    // Features, concatenated column-wise per modality.
    for (int m = 0; m < kNumModalities; ++m) {
      const auto& parts = f.features[static_cast<size_t>(m)];
      if (parts.empty()) continue;
      std::vector<FeatureMatrix> mats;
      int64_t cols = 0;
      for (size_t p = 0; p < parts.size(); ++p) {
        const DictById& field = *parts[p];
        FeatureMatrix mat = matrix_from(field.at(vid), field.path(), fmt::format("{}['{}']", field.name(), vid));
        check_length(field, vid, mat.rows, ref, "rows");
        if (L > 0) {
          int64_t& want = part_cols[static_cast<size_t>(m)][p];
          if (want < 0) {
            want = mat.cols;
            part_first[static_cast<size_t>(m)][p] = vid;
          } else if (mat.cols != want) {
            MERC_FORMAT_ERROR(field.path(), "{}: dialogue '{}' has {} columns but dialogue '{}' has {}", field.name(),
                              vid, mat.cols, part_first[static_cast<size_t>(m)][p], want);
          }
        }
        cols += mat.cols;
        mats.push_back(std::move(mat));
      }
      FeatureMatrix cat(L, cols);
      int64_t offset = 0;
      for (const auto& mat : mats) {
        for (int64_t r = 0; r < L; ++r) std::copy(mat.row(r), mat.row(r) + mat.cols, cat.row(r) + offset);
        offset += mat.cols;
      }
      d.features[static_cast<size_t>(m)] = std::move(cat);
    }
    // Utterances.
    d.utterances.resize(static_cast<size_t>(L));
    for (int64_t u = 0; u < L; ++u) {
      Utterance& utt = d.utterances[static_cast<size_t>(u)];
      const auto i = static_cast<size_t>(u);
      utt.id = f.ids ? uids[i] : vid + "_" + std::to_string(u);
      if (f.speakers) {
        utt.speaker = speakers.index[i];
        utt.speaker_name = speakers.name[i];
      }
      if (f.labels) {
        if (f.label_rule.bin_score) {
          utt.score = static_cast<float>(scores[i]);
          utt.label = f.label_rule.bin_score(scores[i]);
        } else {
          utt.label = labels[i];
        }
      }
      if (f.sentences) utt.transcript = sentences[i];
    }
    out.dialogues.push_back(std::move(d));
  }
  if (out.speaker_slots == 0) out.speaker_slots = 1;  // one-hot speakers but no utterances at all
  // Dataset-wide dims; dialogues without utterances get (0, dim) so shapes stay uniform.
  for (int m = 0; m < kNumModalities; ++m) {
    int64_t dim = 0;
    for (int64_t c : part_cols[static_cast<size_t>(m)]) dim += std::max<int64_t>(c, 0);
    out.dims[static_cast<size_t>(m)] = dim;
    for (auto& d : out.dialogues) {
      auto& mat = d.features[static_cast<size_t>(m)];
      if (d.length() == 0) mat = dim > 0 ? FeatureMatrix(0, dim) : FeatureMatrix();
    }
  }
  return out;
}

Dataset assemble_dataset(Conversations conv, DatasetInfo info, std::string scheme,
                         const std::vector<SplitIds>& parts, const std::string& split_path,
                         std::string_view dialogues_source) {
  Dataset ds;
  info.modality_dims = conv.dims;
  info.num_speakers = conv.speaker_slots;
  ds.info = std::move(info);
  std::vector<std::string> warnings;
  ds.split_schemes.push_back(
      split_from_ids(std::move(scheme), parts, conv.index, split_path, dialogues_source, &warnings));
  ds.dialogues = std::move(conv.dialogues);
  for (auto& w : warnings) add_warning(ds, std::move(w));
  return ds;
}

}  // namespace merc::data
