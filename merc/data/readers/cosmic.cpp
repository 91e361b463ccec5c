#include "merc/data/readers/cosmic.h"

#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "merc/core/error.h"
#include "merc/data/readers/pickle_layout.h"

namespace merc::data {

using io::PyRef;
using io::PyValue;

// Named (not anonymous) so that unity builds cannot mix these helpers with other readers'.
namespace cosmic_detail {

// Where each field sits in one COSMIC list; -1 = absent.
struct CosmicLayout {
  const char* format;
  const char* dataset;
  size_t size;
  int speakers, labels, sentiment, roberta, sentences, train, test, valid;
  SpeakerEncoding speaker_code;
  std::vector<std::string> class_names;
  std::vector<const char*> field_names;  // for messages, by index
};

const std::vector<std::string> kIemocapClasses = {"hap", "sad", "neu", "ang", "exc", "fru"};
const std::vector<std::string> kMeldClasses = {"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"};
const std::vector<std::string> kEmoryClasses = {"Joyful", "Mad", "Peaceful", "Neutral", "Sad", "Powerful", "Scared"};

const CosmicLayout kEmoryRoberta = {
    "cosmic-emorynlp", "EmoryNLP", 10, 0, 1, -1, 2, 6, 7, 8, 9, SpeakerEncoding::kOneHot, kEmoryClasses,
    {"speakers", "labels", "roberta1", "roberta2", "roberta3", "roberta4", "sentences", "trainId", "testId", "validId"}};
const CosmicLayout kIemocapText = {
    "cosmic-text-iemocap", "IEMOCAP-6", 6, 0, 1, -1, -1, 2, 3, 4, 5, SpeakerEncoding::kMaleFemale, kIemocapClasses,
    {"speakers", "labels", "sentences", "train_ids", "test_ids", "valid_ids"}};
const CosmicLayout kMeldText = {
    "cosmic-text-meld", "MELD", 7, 0, 1, 2, -1, 3, 4, 5, 6, SpeakerEncoding::kOneHot, kMeldClasses,
    {"speakers", "emotion_labels", "sentiment_labels", "sentences", "train_ids", "test_ids", "valid_ids"}};
const CosmicLayout kEmoryText = {
    "cosmic-text-emorynlp", "EmoryNLP", 6, 0, 1, -1, -1, 2, 3, 4, 5, SpeakerEncoding::kOneHot, kEmoryClasses,
    {"speakers", "labels", "sentences", "train_ids", "test_ids", "valid_ids"}};

// The first speaker entry of the first dialogue, if the speakers dict looks like one.
const PyValue* first_speaker(const PyValue& speakers) {
  const PyValue* seq = first_dict_value(speakers);
  if (!seq) return nullptr;
  if (seq->type() == io::PyType::kNdArray) return seq;  // a (L, K) one-hot array
  if (!seq->is_sequence() || seq->size() == 0) return nullptr;
  return seq->items()[0].get();
}

bool detect(const Probe& probe, const CosmicLayout& layout) {
  const PyValue* root = probe.pickle.get();
  if (!root || !root->is_sequence() || root->size() != layout.size) return false;
  const auto& items = root->items();
  for (int i : {layout.train, layout.test, layout.valid})
    if (!items[static_cast<size_t>(i)]->is_collection()) return false;
  for (size_t i = 0; i < static_cast<size_t>(layout.train); ++i)
    if (!items[i]->is_dict()) return false;
  const PyValue* spk = first_speaker(*items[static_cast<size_t>(layout.speakers)]);
  if (!spk) return false;
  if (layout.speaker_code == SpeakerEncoding::kMaleFemale)
    return spk->type() == io::PyType::kStr && (spk->as_str() == "M" || spk->as_str() == "F");
  return spk->is_sequence() || spk->type() == io::PyType::kNdArray;
}

struct Fields {
  const CosmicLayout& layout;
  const std::string& source;
  std::vector<std::unique_ptr<DictById>> dicts;  // by item index; null for the id lists
  const DictById& at(int i) const { return *dicts[static_cast<size_t>(i)]; }
  std::string name(int i) const { return layout.field_names[static_cast<size_t>(i)]; }
};

Dialogue read_dialogue(const Fields& f, const std::string& vid, int64_t* slots, int64_t* text_dim) {
  const CosmicLayout& layout = f.layout;
  const std::string& source = f.source;
  const std::string where = "['" + vid + "']";
  Dialogue dlg;
  dlg.id = vid;
  const auto sent = str_list(f.at(layout.sentences).at(vid), source, f.name(layout.sentences) + where);
  const auto lab = int_list(f.at(layout.labels).at(vid), source, f.name(layout.labels) + where);
  const SpeakerCodes spk = decode_speakers(f.at(layout.speakers).at(vid), layout.speaker_code, source,
                                           f.name(layout.speakers) + where);
  const size_t L = sent.size();
  if (lab.size() != L || spk.index.size() != L)
    MERC_FORMAT_ERROR(source, "dialogue '{}': {} sentences but {} labels and {} speakers", vid, L, lab.size(),
                      spk.index.size());
  if (L > 0) {
    if (*slots == 0) *slots = spk.slots;
    if (spk.slots != *slots)
      MERC_FORMAT_ERROR(source, "{}: {} speaker slots, earlier dialogues have {}", f.name(layout.speakers) + where,
                        spk.slots, *slots);
  }
  if (layout.sentiment >= 0) {
    const auto senti = int_list(f.at(layout.sentiment).at(vid), source, f.name(layout.sentiment) + where);
    if (senti.size() != L)
      MERC_FORMAT_ERROR(source, "dialogue '{}': {} sentences but {} sentiment labels", vid, L, senti.size());
    for (int64_t s : senti)
      if (s < 0 || s > 2) MERC_FORMAT_ERROR(source, "{}: sentiment label {} outside 0..2", f.name(layout.sentiment) + where, s);
  }
  for (size_t u = 0; u < L; ++u) {
    if (lab[u] < 0 || lab[u] >= static_cast<int64_t>(layout.class_names.size()))
      MERC_FORMAT_ERROR(source, "{}[{}]: label {} outside 0..{}", f.name(layout.labels) + where, u, lab[u],
                        layout.class_names.size() - 1);
    Utterance utt;
    utt.id = fmt::format("{}_{}", vid, u);
    utt.speaker = spk.index[u];
    // Letters as stored; one-hot slots have no name in the file.
    utt.speaker_name = layout.speaker_code == SpeakerEncoding::kOneHot ? "" : spk.name[u];
    utt.label = lab[u];
    utt.transcript = sent[u];
    dlg.utterances.push_back(std::move(utt));
  }
  if (layout.roberta >= 0) {
    std::vector<FeatureMatrix> layers;
    for (int k = 0; k < 4; ++k) {
      const int idx = layout.roberta + k;
      layers.push_back(matrix_from(f.at(idx).at(vid), source, f.name(idx) + where));
      if (layers.back().rows != static_cast<int64_t>(L) || (k > 0 && layers.back().cols != layers.front().cols))
        MERC_FORMAT_ERROR(source, "{}: {} x {} features, expected {} utterances x {}", f.name(idx) + where,
                          layers.back().rows, layers.back().cols, L, layers.front().cols);
    }
    const int64_t D = layers.front().cols;
    if (L > 0) {
      if (*text_dim == 0) *text_dim = 4 * D;
      if (4 * D != *text_dim)
        MERC_FORMAT_ERROR(source, "dialogue '{}': RoBERTa features have dim {} but earlier dialogues have {}", vid, D,
                          *text_dim / 4);
    }
    FeatureMatrix text(static_cast<int64_t>(L), 4 * D);
    for (int64_t u = 0; u < static_cast<int64_t>(L); ++u)
      for (size_t k = 0; k < 4; ++k) std::copy(layers[k].row(u), layers[k].row(u) + D, text.row(u) + static_cast<int64_t>(k) * D);
    dlg.features[0] = std::move(text);
  }
  return dlg;
}

Dataset read(const Probe& probe, const ReadOptions& options, const CosmicLayout& layout) {
  const std::string source = probe.path.string();
  if (!options.feature_dirs.empty())
    throw Error(fmt::format("the {} format does not take --features folders (its utterances have no file ids)",
                            layout.format));
  const PyValue* root = probe.pickle.get();
  if (!root) MERC_FORMAT_ERROR(source, "not a pickle file (the {} layout is a pickled list)", layout.format);
  const std::vector<std::string_view> names(layout.field_names.begin(), layout.field_names.end());
  const auto& items = expect_tuple(*root, source, names);
  Fields f{layout, source, {}};
  f.dicts.resize(layout.size);
  for (int i = 0; i < layout.train; ++i)
    f.dicts[static_cast<size_t>(i)] =
        std::make_unique<DictById>(dict_item(items, static_cast<size_t>(i), source, names[static_cast<size_t>(i)]),
                                   source, f.name(i));

  Dataset ds;
  ds.info.name = layout.dataset;
  ds.info.task = Task::kClassification;
  ds.info.class_names = layout.class_names;
  ds.info.notes = fmt::format("COSMIC pickle ({})", layout.format);
  if (layout.roberta >= 0) ds.info.modality_sources[0] = "COSMIC RoBERTa layers -1..-4 concatenated";

  // Dialogues in the order train, valid, test (COSMIC's feature extraction order), then any
  // dialogue of no id list. Unknown or repeated ids are reported by split_from_ids.
  const DictById& labels = f.at(layout.labels);
  std::vector<SplitIds> parts = {{"train", f.name(layout.train), {}},
                                 {"valid", f.name(layout.valid), {}},
                                 {"test", f.name(layout.test), {}}};
  std::vector<std::string> order;
  std::unordered_set<std::string> placed;
  for (auto& part : parts) {
    const int idx = part.partition == "train" ? layout.train : part.partition == "valid" ? layout.valid : layout.test;
    part.ids = id_list(*items[static_cast<size_t>(idx)], source, f.name(idx));
    for (const auto& vid : part.ids)
      if (labels.find(vid) && placed.insert(vid).second) order.push_back(vid);
  }
  for (const auto& vid : labels.ids())
    if (placed.insert(vid).second) order.push_back(vid);

  int64_t slots = 0, text_dim = 0;
  std::unordered_map<std::string, int64_t> index;
  for (const auto& vid : order) {
    index[vid] = static_cast<int64_t>(ds.dialogues.size());
    ds.dialogues.push_back(read_dialogue(f, vid, &slots, &text_dim));
  }
  ds.info.modality_dims[0] = text_dim;
  ds.info.num_speakers = std::max<int64_t>(slots, 1);
  std::vector<std::string> split_warnings;
  ds.split_schemes.push_back(split_from_ids("given", parts, index, source, f.name(layout.labels), &split_warnings));
  for (auto& w : split_warnings) add_warning(ds, std::move(w));
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
