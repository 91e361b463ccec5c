#include "merc/data/readers/graph_pickle.h"

#include <array>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "merc/core/error.h"
#include "merc/data/readers/conversation_fields.h"
#include "merc/data/readers/pickle_layout.h"

namespace merc::data {

int64_t mosei7_bin(double s) {
  if (s < -2) return 0;
  if (s < -1) return 1;
  if (s < 0) return 2;
  if (s == 0) return 3;
  if (s <= 1) return 4;
  if (s <= 2) return 5;
  return 6;
}

namespace {

constexpr int kNone = -1;
constexpr size_t kT = 0, kA = 1, kV = 2;  // Modality indices, for the tables below

// Which tuple item plays which role in one published layout (item indices; kNone = absent).
struct TupleLayout {
  std::vector<std::string_view> names;  // item names as the publishing code unpacks them
  int ids = kNone, speakers = kNone, labels = kNone, sentences = kNone;
  SpeakerEncoding speaker_encoding = SpeakerEncoding::kMaleFemale;
  LabelRule label_rule;
  std::array<std::vector<int>, kNumModalities> features;  // items concatenated per modality
  std::vector<std::pair<const char*, int>> splits;        // partition name, item
  // DatasetInfo facts.
  const char* dataset_name = "";
  std::vector<std::string> class_names;
  std::array<const char*, kNumModalities> sources = {"", "", ""};
  const char* notes = "";
};

const std::vector<std::string> kIemocap6 = {"hap", "sad", "neu", "ang", "exc", "fru"};
const std::vector<std::string> kMeld7 = {"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"};
const std::vector<std::string> kMosei7 = {"strongly negative", "negative", "weakly negative", "neutral",
                                          "weakly positive", "positive", "strongly positive"};

const TupleLayout& m3net_iemocap() {
  static const TupleLayout k = [] {
    TupleLayout l;
    l.names = {"videoIDs", "videoSpeakers", "videoLabels", "videoText", "videoAudio", "videoVisual",
               "videoSentence", "trainVid", "testVid"};
    l.ids = 0; l.speakers = 1; l.labels = 2; l.sentences = 6;
    l.label_rule.num_classes = 6;
    l.features[kT] = {3}; l.features[kA] = {4}; l.features[kV] = {5};
    l.splits = {{"train", 7}, {"test", 8}};
    l.dataset_name = "IEMOCAP";
    l.class_names = kIemocap6;
    l.sources = {"textCNN", "openSMILE IS10", "DenseNet denseface"};
    l.notes = "M3Net/MMGCN/MoED IEMOCAP_features.pkl; speakers M=0, F=1 (M3Net encoding); split 'given' = "
              "trainVid/testVid in pickle order (Python may iterate a set in another order); no validation split";
    return l;
  }();
  return k;
}

const TupleLayout& m3net_iemocap_roberta() {
  static const TupleLayout k = [] {
    TupleLayout l;
    l.names = {"speakers", "labels", "roberta1", "roberta2", "roberta3", "roberta4", "sentences",
               "trainIds", "testIds", "validIds"};
    l.speakers = 0; l.labels = 1; l.sentences = 6;
    l.label_rule.num_classes = 6;
    l.features[kT] = {2, 3, 4, 5};
    l.splits = {{"train", 7}, {"valid", 9}, {"test", 8}};
    l.dataset_name = "IEMOCAP";
    l.class_names = kIemocap6;
    l.sources = {"RoBERTa-large x4 (concatenated, 4x1024)", "", ""};
    l.notes = "COSMIC iemocap_features_roberta.pkl read alone (no IEMOCAP_features.pkl beside it): text only; "
              "text = roberta1..4 concatenated column-wise (models split it into 4 blocks); speakers M=0, F=1; "
              "split 'given' = trainIds/validIds/testIds";
    return l;
  }();
  return k;
}

const TupleLayout& m3net_meld() {
  static const TupleLayout k = [] {
    TupleLayout l;
    l.names = {"videoIDs", "videoSpeakers", "videoLabels", "videoText", "videoAudio", "videoVisual",
               "videoSentence", "trainVid", "testVid", "unused"};
    l.ids = 0; l.speakers = 1; l.labels = 2; l.sentences = 6;
    l.speaker_encoding = SpeakerEncoding::kOneHot;
    l.label_rule.num_classes = 7;
    l.features[kT] = {3}; l.features[kA] = {4}; l.features[kV] = {5};
    l.splits = {{"train", 7}, {"test", 8}};
    l.dataset_name = "MELD";
    l.class_names = kMeld7;
    l.sources = {"MELD_text", "MELD_audio (openSMILE)", "DenseNet denseface"};
    l.notes = "M3Net/MMGCN/MoED MELD_features_raw1.pkl; dialogue id = str(vid); speakers = index of the one-hot "
              "slot; split 'given' = trainVid (MELD train+dev) / testVid; the 10th item is ignored";
    return l;
  }();
  return k;
}

const TupleLayout& m3net_meld_roberta() {
  static const TupleLayout k = [] {
    TupleLayout l;
    l.names = {"speakers", "emotion_labels", "sentiment_labels", "roberta1", "roberta2", "roberta3", "roberta4",
               "sentences", "trainIds", "testIds", "validIds"};
    l.speakers = 0; l.labels = 1; l.sentences = 7;
    l.speaker_encoding = SpeakerEncoding::kOneHot;
    l.label_rule.num_classes = 7;
    l.features[kT] = {3, 4, 5, 6};
    l.splits = {{"train", 8}, {"valid", 10}, {"test", 9}};
    l.dataset_name = "MELD";
    l.class_names = kMeld7;
    l.sources = {"RoBERTa-large x4 (concatenated, 4x1024)", "", ""};
    l.notes = "COSMIC meld_features_roberta.pkl read alone (no MELD_features_raw1.pkl beside it): text only; "
              "text = roberta1..4 concatenated column-wise; emotion labels (sentiment labels not kept); "
              "split 'given' = trainIds/validIds/testIds";
    return l;
  }();
  return k;
}

const TupleLayout& graphsmile_iemocap() {
  static const TupleLayout k = [] {
    TupleLayout l;
    l.names = {"videoIDs", "videoSpeakers", "videoLabels", "videoText0", "videoText1", "videoText2", "videoText3",
               "videoAudio", "videoVisual", "videoSentence", "trainVid", "testVid"};
    l.ids = 0; l.speakers = 1; l.labels = 2; l.sentences = 9;
    l.label_rule.num_classes = 6;
    l.features[kT] = {3, 4, 5, 6}; l.features[kA] = {7}; l.features[kV] = {8};
    l.splits = {{"train", 10}, {"test", 11}};
    l.dataset_name = "IEMOCAP";
    l.class_names = kIemocap6;
    l.sources = {"RoBERTa x4 (videoText0..3 concatenated)", "openSMILE IS10", "DenseNet denseface"};
    l.notes = "GraphSmile IEMOCAP (6-way) pickle; text = videoText0..3 concatenated column-wise; speakers M=0, "
              "F=1; split 'given' = trainVid/testVid";
    return l;
  }();
  return k;
}

const TupleLayout& graphsmile_iemocap4() {
  static const TupleLayout k = [] {
    TupleLayout l;
    l.names = {"videoIDs", "videoSpeakers", "videoLabels", "videoText", "videoAudio", "videoVisual",
               "videoSentence", "trainVid", "testVid"};
    l.ids = 0; l.speakers = 1; l.labels = 2; l.sentences = 6;
    l.label_rule.num_classes = 4;
    l.features[kT] = {3}; l.features[kA] = {4}; l.features[kV] = {5};
    l.splits = {{"train", 7}, {"test", 8}};
    l.dataset_name = "IEMOCAP-4";
    l.class_names = {"hap", "sad", "neu", "ang"};
    l.sources = {"GraphSmile IEMOCAP4 text", "GraphSmile IEMOCAP4 audio", "GraphSmile IEMOCAP4 visual"};
    l.notes = "GraphSmile IEMOCAP4 pickle; classes by GraphSmile's sentiment map (0 hap, 1 sad, 2 neu, 3 ang); "
              "speakers M=0, F=1; split 'given' = trainVid/testVid";
    return l;
  }();
  return k;
}

const TupleLayout& graphsmile_meld() {
  static const TupleLayout k = [] {
    TupleLayout l;
    l.names = {"videoIDs", "videoSpeakers", "videoLabels", "videoSentiments", "videoText0", "videoText1",
               "videoText2", "videoText3", "videoAudio", "videoVisual", "videoSentence", "trainVid", "testVid",
               "unused"};
    l.ids = 0; l.speakers = 1; l.labels = 2; l.sentences = 10;
    l.speaker_encoding = SpeakerEncoding::kOneHot;
    l.label_rule.num_classes = 7;
    l.features[kT] = {4, 5, 6, 7}; l.features[kA] = {8}; l.features[kV] = {9};
    l.splits = {{"train", 11}, {"test", 12}};
    l.dataset_name = "MELD";
    l.class_names = kMeld7;
    l.sources = {"RoBERTa x4 (videoText0..3 concatenated)", "openSMILE", "DenseNet denseface"};
    l.notes = "GraphSmile MELD pickle; text = videoText0..3 concatenated column-wise; speakers = index of the "
              "one-hot slot; emotion labels (videoSentiments not kept); split 'given' = trainVid/testVid; the "
              "14th item is ignored";
    return l;
  }();
  return k;
}

const TupleLayout& graphsmile_mosei7() {
  static const TupleLayout k = [] {
    TupleLayout l;
    l.names = {"videoIDs", "videoSpeakers", "videoLabels", "videoText", "videoAudio", "videoVisual",
               "videoSentence", "trainVid", "testVid"};
    l.ids = 0; l.speakers = 1; l.labels = 2; l.sentences = 6;
    l.speaker_encoding = SpeakerEncoding::kMaleElseOther;
    l.label_rule.bin_score = &mosei7_bin;
    l.features[kT] = {3}; l.features[kA] = {4}; l.features[kV] = {5};
    l.splits = {{"train", 7}, {"test", 8}};
    l.dataset_name = "CMU-MOSEI";
    l.class_names = kMosei7;
    l.sources = {"GraphSmile CMUMOSEI7 text", "GraphSmile CMUMOSEI7 audio", "GraphSmile CMUMOSEI7 visual"};
    l.notes = "GraphSmile CMUMOSEI7 / MoED cmumosei_multi_regression_features.pkl; label = 7-class bin of the "
              "sentiment score (s<-2, [-2,-1), [-1,0), 0, (0,1], (1,2], >2), raw score kept; speakers M=0, any "
              "other string 1 (GraphSmile's rule); split 'given' = trainVid/testVid";
    return l;
  }();
  return k;
}

// ---- Reading -----------------------------------------------------------------------------------

// Index of every dict item a layout uses, by item position (null for unused items).
using OpenDicts = std::vector<std::unique_ptr<DictById>>;

OpenDicts open_dicts(const TupleLayout& l, const std::vector<io::PyRef>& items, const std::string& path) {
  OpenDicts d(items.size());
  auto open = [&](int i) {
    if (i == kNone || d[static_cast<size_t>(i)]) return;
    const auto name = std::string(l.names[static_cast<size_t>(i)]);
    d[static_cast<size_t>(i)] = std::make_unique<DictById>(dict_item(items, static_cast<size_t>(i), path, name), path, name);
  };
  for (int i : {l.ids, l.speakers, l.labels, l.sentences}) open(i);
  for (const auto& parts : l.features)
    for (int i : parts) open(i);
  return d;
}

ConversationFields fields_of(const TupleLayout& l, const OpenDicts& d) {
  auto at = [&](int i) { return i == kNone ? nullptr : d[static_cast<size_t>(i)].get(); };
  ConversationFields f;
  f.ids = at(l.ids);
  f.speakers = at(l.speakers);
  f.speaker_encoding = l.speaker_encoding;
  f.labels = at(l.labels);
  f.label_rule = l.label_rule;
  f.sentences = at(l.sentences);
  for (size_t m = 0; m < kNumModalities; ++m)
    for (int i : l.features[m]) f.features[m].push_back(at(i));
  return f;
}

// The dict whose keys define the dialogues and their order.
int primary_item(const TupleLayout& l) { return l.ids != kNone ? l.ids : l.speakers != kNone ? l.speakers : l.labels; }

std::vector<SplitIds> split_ids(const TupleLayout& l, const std::vector<io::PyRef>& items, const std::string& path) {
  std::vector<SplitIds> parts;
  for (const auto& [partition, i] : l.splits) {
    const auto name = std::string(l.names[static_cast<size_t>(i)]);
    parts.push_back({partition, name, id_list(*items[static_cast<size_t>(i)], path, name)});
  }
  return parts;
}

DatasetInfo info_of(const TupleLayout& l, const char* format) {
  DatasetInfo info;
  info.name = l.dataset_name;
  info.source_format = format;
  info.task = Task::kClassification;
  info.class_names = l.class_names;
  for (size_t m = 0; m < kNumModalities; ++m) info.modality_sources[m] = l.sources[m];
  info.notes = l.notes;
  return info;
}

Dataset read_layout(const Probe& probe, const TupleLayout& l, const char* format) {
  const std::string path = probe.path.string();
  if (!probe.pickle) MERC_FORMAT_ERROR(path, "format {} needs a pickle file", format);
  const auto& items = expect_tuple(*probe.pickle, path, l.names);
  const OpenDicts dicts = open_dicts(l, items, path);
  const DictById& primary = *dicts[static_cast<size_t>(primary_item(l))];
  Conversations conv = read_conversations(primary.ids(), fields_of(l, dicts));
  // Dims that vary between dialogues were already rejected; an all-empty modality is absent.
  return assemble_dataset(std::move(conv), info_of(l, format), "given", split_ids(l, items, path), path,
                          primary.name());
}

// RoBERTa file + companion: text from the RoBERTa file, everything else from the companion.
Dataset read_with_companion(const Probe& probe, const TupleLayout& roberta, const char* format,
                            const TupleLayout& base, const std::filesystem::path& companion) {
  const std::string path = probe.path.string();
  const std::string cpath = companion.string();
  const auto& items = expect_tuple(*probe.pickle, path, roberta.names);
  const OpenDicts rdicts = open_dicts(roberta, items, path);
  const io::PyRef croot = io::load_pickle_file(cpath);  // keeps the companion tree alive below
  const auto& citems = expect_tuple(*croot, cpath, base.names);
  const OpenDicts cdicts = open_dicts(base, citems, cpath);
  ConversationFields f = fields_of(base, cdicts);
  f.features[kT].clear();
  for (int i : roberta.features[kT]) f.features[kT].push_back(rdicts[static_cast<size_t>(i)].get());
  const DictById& primary = *cdicts[static_cast<size_t>(base.ids)];
  Conversations conv = read_conversations(primary.ids(), f);

  // M3Net takes labels from the companion; say so when the RoBERTa file disagrees.
  int64_t differing = 0;
  const DictById& rlabels = *rdicts[static_cast<size_t>(roberta.labels)];
  for (const auto& d : conv.dialogues) {
    const io::PyValue* v = rlabels.find(d.id);
    std::vector<int64_t> theirs;
    if (v) theirs = int_list(*v, path, fmt::format("{}['{}']", rlabels.name(), d.id));
    bool same = v && static_cast<int64_t>(theirs.size()) == d.length();
    for (int64_t u = 0; same && u < d.length(); ++u) same = theirs[static_cast<size_t>(u)] == d.utterances[static_cast<size_t>(u)].label;
    differing += same ? 0 : 1;
  }
  DatasetInfo info = info_of(base, format);
  info.modality_sources[kT] = roberta.sources[kT];
  info.notes = fmt::format("text = {} of {} (roberta1..4 concatenated column-wise, models split it into 4 blocks); "
                           "dialogues, speakers, labels, audio, visual, transcripts and split from the companion {} "
                           "(as M3Net/MoED do). Companion: {}",
                           roberta.sources[kT], probe.path.filename().string(), companion.filename().string(), base.notes);
  Dataset ds = assemble_dataset(std::move(conv), std::move(info), "given", split_ids(base, citems, cpath), cpath,
                                primary.name());
  if (differing > 0)
    add_warning(ds, fmt::format("{}: {} dialogues have labels in {} that differ from {} (the companion's are used)",
                                path, differing, rlabels.name(), cpath));
  // The companion decides which dialogues exist; say how many RoBERTa-only dialogues were left out.
  int64_t roberta_only = 0;
  for (const std::string& id : rlabels.ids()) roberta_only += primary.find(id) ? 0 : 1;
  if (roberta_only > 0)
    add_warning(ds, fmt::format("{}: {} dialogues are not in the companion {} and were left out", path, roberta_only,
                                cpath));
  return ds;
}

Dataset read_roberta(const Probe& probe, const TupleLayout& roberta, const char* format, const TupleLayout& base,
                     const char* companion_name) {
  if (!probe.pickle) MERC_FORMAT_ERROR(probe.path.string(), "format {} needs a pickle file", format);
  const auto companion = probe.path.parent_path() / companion_name;
  std::error_code ec;
  if (std::filesystem::is_regular_file(companion, ec) && companion != probe.path)
    return read_with_companion(probe, roberta, format, base, companion);
  return read_layout(probe, roberta, format);
}

// ---- Detection (cheap, never throws) -----------------------------------------------------------

const std::vector<io::PyRef>* tuple_of(const Probe& p, size_t n) noexcept {
  if (!p.pickle || !p.pickle->is_sequence() || p.pickle->size() != n) return nullptr;
  for (const auto& e : p.pickle->items())
    if (!e) return nullptr;
  return &p.pickle->items();
}
// Column count of the first entry of dict item i (-1 when not a dict of matrices).
int64_t cols_at(const std::vector<io::PyRef>& items, size_t i) noexcept {
  const io::PyValue* v = first_dict_value(*items[i]);
  return v ? matrix_cols_hint(*v) : -1;
}
// Kind of the first element of the first entry of dict item i (see first_element_kind).
char kind_at(const std::vector<io::PyRef>& items, size_t i) noexcept {
  const io::PyValue* v = first_dict_value(*items[i]);
  return v ? first_element_kind(*v) : '?';
}
bool ids_at(const std::vector<io::PyRef>& items, size_t i) noexcept {
  const char k = kind_at(items, i);
  return k == 's' || k == 'i';
}
// Items [first, first+4) are dicts of matrices with one common column count.
bool four_text_dicts(const std::vector<io::PyRef>& items, size_t first) noexcept {
  const int64_t c = cols_at(items, first);
  for (size_t i = first + 1; i < first + 4; ++i)
    if (cols_at(items, i) != c) return false;
  return c > 0;
}
// The first speaker of dict item i is the letter 'M' or 'F'.
bool mf_speakers_at(const std::vector<io::PyRef>& items, size_t i) noexcept {
  try {
    const io::PyValue* v = first_dict_value(*items[i]);
    if (!v || !v->is_sequence() || v->size() == 0) return false;
    const io::PyValue& s = *v->items().front();
    if (!is_text_like(s)) return false;
    const std::string letter = io::key_to_string(s);
    return letter == "M" || letter == "F";
  } catch (...) {
    return false;
  }
}

}  // namespace

bool detect_m3net_iemocap(const Probe& p) {
  const auto* t = tuple_of(p, 9);
  return t && ids_at(*t, 0) && kind_at(*t, 1) == 's' && kind_at(*t, 2) == 'i' && cols_at(*t, 3) == 100 &&
         cols_at(*t, 4) > 0 && cols_at(*t, 5) > 0;
}
bool detect_graphsmile_iemocap4(const Probe& p) {
  const auto* t = tuple_of(p, 9);
  return t && ids_at(*t, 0) && kind_at(*t, 2) == 'i' && cols_at(*t, 3) == 1024 && cols_at(*t, 4) > 0 &&
         cols_at(*t, 5) > 0;
}
bool detect_graphsmile_mosei7(const Probe& p) {
  const auto* t = tuple_of(p, 9);
  return t && ids_at(*t, 0) && kind_at(*t, 2) == 'f' && cols_at(*t, 3) > 0 && cols_at(*t, 4) > 0 &&
         cols_at(*t, 5) > 0;
}
bool detect_m3net_meld(const Probe& p) {
  const auto* t = tuple_of(p, 10);
  return t && ids_at(*t, 0) && kind_at(*t, 1) == 'v' && kind_at(*t, 2) == 'i' && cols_at(*t, 3) == 600 &&
         cols_at(*t, 4) > 0 && cols_at(*t, 5) > 0;
}
bool detect_m3net_iemocap_roberta(const Probe& p) {
  const auto* t = tuple_of(p, 10);
  return t && mf_speakers_at(*t, 0) && kind_at(*t, 1) == 'i' && four_text_dicts(*t, 2);
}
bool detect_m3net_meld_roberta(const Probe& p) {
  const auto* t = tuple_of(p, 11);
  return t && kind_at(*t, 0) == 'v' && kind_at(*t, 1) == 'i' && kind_at(*t, 2) == 'i' && four_text_dicts(*t, 3);
}
bool detect_graphsmile_iemocap(const Probe& p) {
  const auto* t = tuple_of(p, 12);
  return t && ids_at(*t, 0) && kind_at(*t, 2) == 'i' && four_text_dicts(*t, 3) && cols_at(*t, 7) > 0 &&
         cols_at(*t, 8) > 0;
}
bool detect_graphsmile_meld(const Probe& p) {
  const auto* t = tuple_of(p, 14);
  return t && ids_at(*t, 0) && kind_at(*t, 2) == 'i' && kind_at(*t, 3) == 'i' && four_text_dicts(*t, 4) &&
         cols_at(*t, 8) > 0 && cols_at(*t, 9) > 0;
}

Dataset read_m3net_iemocap(const Probe& p, const ReadOptions&) { return read_layout(p, m3net_iemocap(), "m3net-iemocap"); }
Dataset read_m3net_iemocap_roberta(const Probe& p, const ReadOptions&) {
  return read_roberta(p, m3net_iemocap_roberta(), "m3net-iemocap-roberta", m3net_iemocap(), kIemocapCompanion);
}
Dataset read_m3net_meld(const Probe& p, const ReadOptions&) { return read_layout(p, m3net_meld(), "m3net-meld"); }
Dataset read_m3net_meld_roberta(const Probe& p, const ReadOptions&) {
  return read_roberta(p, m3net_meld_roberta(), "m3net-meld-roberta", m3net_meld(), kMeldCompanion);
}
Dataset read_graphsmile_iemocap(const Probe& p, const ReadOptions&) {
  return read_layout(p, graphsmile_iemocap(), "graphsmile-iemocap");
}
Dataset read_graphsmile_iemocap4(const Probe& p, const ReadOptions&) {
  return read_layout(p, graphsmile_iemocap4(), "graphsmile-iemocap4");
}
Dataset read_graphsmile_meld(const Probe& p, const ReadOptions&) { return read_layout(p, graphsmile_meld(), "graphsmile-meld"); }
Dataset read_graphsmile_mosei7(const Probe& p, const ReadOptions&) {
  return read_layout(p, graphsmile_mosei7(), "graphsmile-mosei7");
}

}  // namespace merc::data
