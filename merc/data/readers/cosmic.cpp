#include "merc/data/readers/cosmic.h"

#include <set>

#include "merc/core/error.h"
#include "merc/data/readers/imer_pickle_fields.h"

namespace merc::data {

using io::PyRef;
using io::PyValue;

// Named (not anonymous) so that unity builds cannot mix these helpers with other readers'.
namespace cosmic_detail {

enum class SpeakerCode { kMaleFemale, kOneHot };

// Where each field sits in one COSMIC list; -1 = absent.
struct CosmicLayout {
  const char* format;
  const char* dataset;
  size_t size;
  int speakers, labels, sentiment, roberta, sentences, train, test, valid;
  SpeakerCode speaker_code;
  std::vector<std::string> class_names;
  std::vector<const char*> field_names;  // for messages, by index
};

const std::vector<std::string> kIemocapClasses = {"happy", "sad", "neutral", "angry", "excited", "frustrated"};
const std::vector<std::string> kMeldClasses = {"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"};
const std::vector<std::string> kEmoryClasses = {"joyful", "mad", "peaceful", "neutral", "sad", "powerful", "scared"};

const CosmicLayout kEmoryRoberta = {
    "cosmic-emorynlp", "EmoryNLP", 10, 0, 1, -1, 2, 6, 7, 8, 9, SpeakerCode::kOneHot, kEmoryClasses,
    {"speakers", "labels", "roberta1", "roberta2", "roberta3", "roberta4", "sentences", "trainId", "testId", "validId"}};
const CosmicLayout kIemocapText = {
    "cosmic-text-iemocap", "IEMOCAP-6", 6, 0, 1, -1, -1, 2, 3, 4, 5, SpeakerCode::kMaleFemale, kIemocapClasses,
    {"speakers", "labels", "sentences", "train_ids", "test_ids", "valid_ids"}};
const CosmicLayout kMeldText = {
    "cosmic-text-meld", "MELD", 7, 0, 1, 2, -1, 3, 4, 5, 6, SpeakerCode::kOneHot, kMeldClasses,
    {"speakers", "emotion_labels", "sentiment_labels", "sentences", "train_ids", "test_ids", "valid_ids"}};
const CosmicLayout kEmoryText = {
    "cosmic-text-emorynlp", "EmoryNLP", 6, 0, 1, -1, -1, 2, 3, 4, 5, SpeakerCode::kOneHot, kEmoryClasses,
    {"speakers", "labels", "sentences", "train_ids", "test_ids", "valid_ids"}};

const PyValue* first_value(const PyValue& v) {
  if (!v.is_dict() || v.size() == 0) return nullptr;
  return v.dict_items().front().second.get();
}

// The first speaker entry of the first dialogue, if the speakers dict looks like one.
const PyValue* first_speaker(const PyValue& speakers) {
  const PyValue* seq = first_value(speakers);
  if (!seq || !(seq->is_sequence() || seq->type() == io::PyType::kNdArray)) return nullptr;
  if (seq->type() == io::PyType::kNdArray) return seq;  // a (L, K) one-hot array
  if (seq->size() == 0) return nullptr;
  return seq->items()[0].get();
}

bool detect(const Probe& probe, const CosmicLayout& layout) {
  const PyValue* root = probe.pickle.get();
  if (!root || !root->is_sequence() || root->size() != layout.size) return false;
  for (int i : {layout.train, layout.test, layout.valid})
    if (!pickle_item(*root, static_cast<size_t>(i)).is_collection()) return false;
  for (size_t i = 0; i < static_cast<size_t>(layout.train); ++i)
    if (!pickle_item(*root, i).is_dict()) return false;
  const PyValue* spk = first_speaker(pickle_item(*root, static_cast<size_t>(layout.speakers)));
  if (!spk) return false;
  if (layout.speaker_code == SpeakerCode::kMaleFemale)
    return spk->type() == io::PyType::kStr && (spk->as_str() == "M" || spk->as_str() == "F");
  return spk->is_sequence() || spk->type() == io::PyType::kNdArray;
}

// Speaker slot per utterance from one-hot rows (list of lists / arrays, or an (L, K) array).
std::vector<int64_t> one_hot_slots(const PyValue& v, const std::string& source, const std::string& what,
                                   int64_t* width) {
  const FeatureMatrix m = feature_matrix(v, source, what);
  if (*width == 0) *width = m.cols;
  if (m.rows > 0 && m.cols != *width)
    MERC_FORMAT_ERROR(source, "{}: one-hot speaker vectors have {} slots, earlier ones had {}", what, m.cols, *width);
  std::vector<int64_t> slots;
  for (int64_t r = 0; r < m.rows; ++r) {
    int64_t slot = -1, ones = 0;
    for (int64_t j = 0; j < m.cols; ++j) {
      const float x = m.row(r)[j];
      if (x == 1.0f) {
        slot = j;
        ++ones;
      } else if (x != 0.0f) {
        ones = -1;
        break;
      }
    }
    if (ones != 1) MERC_FORMAT_ERROR(source, "{}[{}]: not a one-hot speaker vector", what, r);
    slots.push_back(slot);
  }
  return slots;
}

Dataset read(const Probe& probe, const ReadOptions& options, const CosmicLayout& layout) {
  const std::string source = probe.path.string();
  if (!options.feature_dirs.empty())
    throw Error(fmt::format("the {} format does not take --features folders (its utterances have no file ids)",
                            layout.format));
  const PyValue* root = probe.pickle.get();
  if (!root) MERC_FORMAT_ERROR(source, "not a pickle file (the {} layout is a pickled list)", layout.format);
  if (!root->is_sequence() || root->size() != layout.size) {
    std::string names;
    for (const char* n : layout.field_names) names += (names.empty() ? "" : ", ") + std::string(n);
    MERC_FORMAT_ERROR(source, "expected a list of {} items ({}), got {} of {}", layout.size, names, root->type_name(),
                      root->is_collection() || root->is_dict() ? root->size() : 1);
  }
  auto field = [&](int i) -> const PyValue& { return pickle_item(*root, static_cast<size_t>(i)); };
  auto name = [&](int i) { return std::string(layout.field_names[static_cast<size_t>(i)]); };
  const PyValue& speakers = expect_dict(field(layout.speakers), source, name(layout.speakers));
  const PyValue& labels = expect_dict(field(layout.labels), source, name(layout.labels));
  const PyValue& sentences = expect_dict(field(layout.sentences), source, name(layout.sentences));

  Dataset ds;
  ds.info.name = layout.dataset;
  ds.info.task = Task::kClassification;
  ds.info.class_names = layout.class_names;
  ds.info.notes = fmt::format("COSMIC pickle ({})", layout.format);
  if (layout.roberta >= 0) {
    ds.info.modality_sources[0] = "COSMIC RoBERTa layers -1..-4 concatenated";
  }

  SplitScheme scheme;
  scheme.name = "given";
  std::set<std::string> seen;
  int64_t slots_width = 0;
  const std::pair<const char*, int> parts[] = {{"train", layout.train}, {"valid", layout.valid}, {"test", layout.test}};
  auto add_dialogue = [&](const PyRef& vid, const std::string& key) {
    const std::string where = "[" + key_repr(*vid) + "]";
    Dialogue dlg;
    dlg.id = key;
    const auto sent = string_list(dict_entry(sentences, *vid, source, name(layout.sentences)), source,
                                  name(layout.sentences) + where);
    const auto lab = int_list(dict_entry(labels, *vid, source, name(layout.labels)), source, name(layout.labels) + where);
    const PyValue& spk_v = dict_entry(speakers, *vid, source, name(layout.speakers));
    std::vector<int64_t> spk;
    std::vector<std::string> spk_names;
    if (layout.speaker_code == SpeakerCode::kMaleFemale) {
      spk_names = string_list(spk_v, source, name(layout.speakers) + where);
      for (const auto& s : spk_names) {
        if (s != "M" && s != "F")
          MERC_FORMAT_ERROR(source, "{}{}: speaker '{}' is neither 'M' nor 'F'", name(layout.speakers), where, s);
        spk.push_back(s == "M" ? 0 : 1);  // COSMIC: [1, 0] if x == 'M' else [0, 1]
      }
    } else {
      spk = one_hot_slots(spk_v, source, name(layout.speakers) + where, &slots_width);
      spk_names.assign(spk.size(), "");
    }
    const size_t L = sent.size();
    if (lab.size() != L || spk.size() != L)
      MERC_FORMAT_ERROR(source, "dialogue {}: {} sentences but {} labels and {} speakers", key_repr(*vid), L, lab.size(),
                        spk.size());
    if (layout.sentiment >= 0) {
      const auto senti = int_list(dict_entry(field(layout.sentiment), *vid, source, name(layout.sentiment)), source,
                                  name(layout.sentiment) + where);
      if (senti.size() != L)
        MERC_FORMAT_ERROR(source, "dialogue {}: {} sentences but {} sentiment labels", key_repr(*vid), L, senti.size());
      for (int64_t s : senti)
        if (s < 0 || s > 2) MERC_FORMAT_ERROR(source, "{}{}: sentiment label {} outside 0..2", name(layout.sentiment), where, s);
    }
    for (size_t u = 0; u < L; ++u) {
      if (lab[u] < 0 || lab[u] >= static_cast<int64_t>(layout.class_names.size()))
        MERC_FORMAT_ERROR(source, "{}{}[{}]: label {} outside 0..{}", name(layout.labels), where, u, lab[u],
                          layout.class_names.size() - 1);
      Utterance utt;
      utt.id = fmt::format("{}_{}", key, u);
      utt.speaker = spk[u];
      utt.speaker_name = spk_names[u];
      utt.label = lab[u];
      utt.transcript = sent[u];
      dlg.utterances.push_back(std::move(utt));
    }
    if (layout.roberta >= 0) {
      std::vector<FeatureMatrix> layers;
      for (int k = 0; k < 4; ++k) {
        const int idx = layout.roberta + k;
        layers.push_back(feature_matrix(dict_entry(expect_dict(field(idx), source, name(idx)), *vid, source, name(idx)),
                                        source, name(idx) + where));
        if (layers.back().rows != static_cast<int64_t>(L) || layers.back().cols != layers.front().cols)
          MERC_FORMAT_ERROR(source, "{}{}: {} x {} features, expected {} utterances x {}", name(idx), where,
                            layers.back().rows, layers.back().cols, L, layers.front().cols);
      }
      const int64_t D = layers.front().cols;
      if (ds.info.modality_dims[0] == 0) ds.info.modality_dims[0] = 4 * D;
      if (4 * D != ds.info.modality_dims[0])
        MERC_FORMAT_ERROR(source, "dialogue {}: RoBERTa features have dim {} but earlier dialogues have {}", key_repr(*vid),
                          D, ds.info.modality_dims[0] / 4);
      FeatureMatrix text(static_cast<int64_t>(L), 4 * D);
      for (int64_t u = 0; u < static_cast<int64_t>(L); ++u)
        for (int k = 0; k < 4; ++k) std::copy(layers[k].row(u), layers[k].row(u) + D, text.row(u) + k * D);
      dlg.features[0] = std::move(text);
    }
    ds.dialogues.push_back(std::move(dlg));
  };
  for (const auto& [part_name, idx] : parts) {
    Partition part;
    part.name = part_name;
    for (const PyRef& vid : collection_items(field(idx), source, name(idx))) {
      std::string key;
      try {
        key = io::key_to_string(*vid);
      } catch (const Error&) {
        MERC_FORMAT_ERROR(source, "{}: a dialogue id must be str or int, got {}", name(idx), vid->type_name());
      }
      if (!labels.get(*vid)) MERC_FORMAT_ERROR(source, "{} lists dialogue {} which has no labels", name(idx), key_repr(*vid));
      if (!seen.insert(key).second)
        MERC_FORMAT_ERROR(source, "dialogue {} is listed twice in the train/valid/test id lists", key_repr(*vid));
      part.dialogues.push_back(static_cast<int64_t>(ds.dialogues.size()));
      add_dialogue(vid, key);
    }
    scheme.partitions.push_back(std::move(part));
  }
  size_t unsplit = 0;
  for (const auto& [vid, _] : labels.dict_items()) {
    if (seen.count(io::key_to_string(*vid))) continue;
    add_dialogue(vid, io::key_to_string(*vid));
    ++unsplit;
  }
  if (unsplit > 0)
    add_warning(ds, fmt::format("{}: {} dialogues are in no id list; they are kept but belong to no partition", source,
                                unsplit));
  ds.split_schemes.push_back(std::move(scheme));
  ds.info.num_speakers = layout.speaker_code == SpeakerCode::kMaleFemale ? 2 : std::max<int64_t>(slots_width, 1);
  return ds;
}

}  // namespace cosmic_detail

bool detect_cosmic_emorynlp(const Probe& p) { return cosmic_detail::detect(p, cosmic_detail::kEmoryRoberta); }
Dataset read_cosmic_emorynlp(const Probe& p, const ReadOptions& o) { return cosmic_detail::read(p, o, cosmic_detail::kEmoryRoberta); }
bool detect_cosmic_text_iemocap(const Probe& p) { return cosmic_detail::detect(p, cosmic_detail::kIemocapText); }
Dataset read_cosmic_text_iemocap(const Probe& p, const ReadOptions& o) { return cosmic_detail::read(p, o, cosmic_detail::kIemocapText); }
bool detect_cosmic_text_meld(const Probe& p) { return cosmic_detail::detect(p, cosmic_detail::kMeldText); }
Dataset read_cosmic_text_meld(const Probe& p, const ReadOptions& o) { return cosmic_detail::read(p, o, cosmic_detail::kMeldText); }
bool detect_cosmic_text_emorynlp(const Probe& p) { return cosmic_detail::detect(p, cosmic_detail::kEmoryText); }
Dataset read_cosmic_text_emorynlp(const Probe& p, const ReadOptions& o) { return cosmic_detail::read(p, o, cosmic_detail::kEmoryText); }

}  // namespace merc::data
