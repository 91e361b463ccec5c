#include "merc/data/readers/gcnet_labels.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "merc/core/error.h"
#include "merc/data/readers/feature_folders.h"
#include "merc/data/readers/pickle_layout.h"

namespace merc::data {

using io::PyRef;
using io::PyValue;

// Named (not anonymous) so that unity builds cannot mix these helpers with other readers'.
namespace gcnet_detail {

const std::vector<std::string_view> kIemocapFields = {"videoIDs", "videoLabels", "videoSpeakers", "videoSentences",
                                                      "trainVid", "testVid"};
const std::vector<std::string_view> kCmuFields = {"videoIDs", "videoLabels", "videoSpeakers", "videoSentences",
                                                  "trainVids", "valVids", "testVids"};

bool is_speaker_code(const PyValue& v) {
  return v.type() == io::PyType::kStr && (v.as_str().empty() || v.as_str() == "F" || v.as_str() == "M");
}

// True when `v` is a non-empty list/tuple whose elements all satisfy `pred`.
template <class Pred>
bool sequence_where(const PyValue* v, Pred pred) {
  if (!v || !v->is_sequence() || v->size() == 0) return false;
  for (const auto& e : v->items())
    if (!pred(*e)) return false;
  return true;
}

struct Layout {
  bool cmu = false;  // 7 items: regression; else IEMOCAP classification
  int num_classes = 0;
  std::string name;
};

Layout decide_layout(bool cmu, const DictById& labels, const std::string& source, Dataset& ds) {
  Layout layout;
  layout.cmu = cmu;
  const std::string file = std::filesystem::path(source).filename().string();
  if (layout.cmu) {
    layout.name = cmu_dataset_name(file);
    if (layout.name.empty()) layout.name = "CMU (GCNet label pickle)";
    return layout;
  }
  int64_t max_label = -1;
  for (const std::string& vid : labels.ids())
    for (int64_t l : int_list(labels.at(vid), source, "videoLabels['" + vid + "']")) max_label = std::max(max_label, l);
  const bool says4 = file.find("4way") != std::string::npos;
  const bool says6 = file.find("6way") != std::string::npos;
  if (says4 && !says6) {
    if (max_label > 3)
      MERC_FORMAT_ERROR(source, "the file name says 4way but videoLabels contains label {} (4-way labels are 0..3)",
                        max_label);
    layout.num_classes = 4;
  } else if (says6 && !says4) {
    layout.num_classes = 6;
  } else if (max_label > 3) {
    layout.num_classes = 6;
  } else {
    layout.num_classes = 4;
    add_warning(ds, source + ": IEMOCAP labels are all in 0..3, read as the 4-way label set (happy+excited, sad, "
                             "neutral, angry); put '6way' in the file name if it is a 6-way file");
  }
  layout.name = layout.num_classes == 4 ? "IEMOCAP-4" : "IEMOCAP-6";
  return layout;
}

void fill_utterances(Dialogue& dlg, const Layout& layout, const DictById& ids,
                     const DictById& labels, const DictById& speakers, const DictById& sentences,
                     const std::string& source) {
  const std::string& vid = dlg.id;
  const std::string where = "['" + vid + "']";
  const auto uids = str_list(ids.at(vid), source, "videoIDs" + where);
  const auto sent = str_list(sentences.at(vid), source, "videoSentences" + where);
  const size_t L = uids.size();
  std::vector<double> scores;
  std::vector<int64_t> classes;
  SpeakerCodes spk;
  if (layout.cmu) {
    scores = number_list(labels.at(vid), source, "videoLabels" + where);
    spk.name = str_list(speakers.at(vid), source, "videoSpeakers" + where);
    spk.index.assign(spk.name.size(), 0);  // GCNet: speakermap = {'': 0}
  } else {
    classes = int_list(labels.at(vid), source, "videoLabels" + where);
    spk = decode_speakers(speakers.at(vid), SpeakerEncoding::kFemaleMale, source, "videoSpeakers" + where);
  }
  const size_t nlab = layout.cmu ? scores.size() : classes.size();
  if (spk.index.size() != L || sent.size() != L || nlab != L)
    MERC_FORMAT_ERROR(source, "video '{}': {} utterance ids but {} labels, {} speakers and {} sentences", vid, L, nlab,
                      spk.index.size(), sent.size());
  dlg.utterances.resize(L);
  for (size_t u = 0; u < L; ++u) {
    Utterance& utt = dlg.utterances[u];
    utt.id = uids[u];
    utt.speaker = spk.index[u];
    utt.speaker_name = spk.name[u];
    utt.transcript = sent[u];
    if (layout.cmu) {
      if (!spk.name[u].empty())
        MERC_FORMAT_ERROR(source, "video '{}' utterance '{}': speaker '{}' (CMU label pickles have the single speaker '')",
                          vid, uids[u], spk.name[u]);
      if (!std::isfinite(scores[u]))
        MERC_FORMAT_ERROR(source, "video '{}' utterance '{}': sentiment score is {}", vid, uids[u], scores[u]);
      utt.score = static_cast<float>(scores[u]);
      utt.label = binary_label_from_score(scores[u]);
    } else {
      if (classes[u] < 0 || classes[u] >= layout.num_classes)
        MERC_FORMAT_ERROR(source, "video '{}' utterance '{}': label {} outside 0..{}", vid, uids[u], classes[u],
                          layout.num_classes - 1);
      utt.label = classes[u];
    }
  }
}

bool detect(const Probe& probe) {
  const PyValue* root = probe.pickle.get();
  if (!root || !root->is_sequence() || (root->size() != 6 && root->size() != 7)) return false;
  for (size_t i = 0; i < 4; ++i)
    if (!root->items()[i]->is_dict()) return false;
  for (size_t i = 4; i < root->size(); ++i)
    if (!root->items()[i]->is_collection()) return false;
  // videoIDs hold utterance ids, videoSpeakers hold 'F'/'M'/''. COSMIC's 6-item transcript pickle
  // has speakers first and sentences third, so it fails one of the two tests.
  const bool ids_ok = sequence_where(first_dict_value(*root->items()[0]),
                                     [](const PyValue& v) { return is_text_like(v) && !is_speaker_code(v); });
  const bool spk_ok = sequence_where(first_dict_value(*root->items()[2]), is_speaker_code);
  const char label_kind = first_dict_value(*root->items()[1]) ? first_element_kind(*first_dict_value(*root->items()[1])) : '?';
  return ids_ok && spk_ok && (label_kind == 'i' || label_kind == 'f');
}

Dataset read_labels(const Probe& probe) {
  const std::string source = probe.path.string();
  const PyValue* root = probe.pickle.get();
  if (!root) MERC_FORMAT_ERROR(source, "not a pickle file (the gcnet-labels layout is a pickled list)");
  if (!root->is_sequence() || (root->size() != 6 && root->size() != 7))
    MERC_FORMAT_ERROR(source,
                      "expected a list of 6 (IEMOCAP: videoIDs, videoLabels, videoSpeakers, videoSentences, "
                      "trainVid, testVid) or 7 (CMU-MOSI/MOSEI: ..., trainVids, valVids, testVids) items, got {}{}",
                      root->type_name(), root->is_collection() || root->is_dict() ? fmt::format(" of {}", root->size()) : "");
  const bool cmu = root->size() == 7;
  const std::vector<std::string_view>& fields = cmu ? kCmuFields : kIemocapFields;
  const std::vector<PyRef>& items = expect_tuple(*root, source, fields);
  const DictById ids(dict_item(items, 0, source, fields[0]), source, "videoIDs");
  const DictById labels(dict_item(items, 1, source, fields[1]), source, "videoLabels");
  const DictById speakers(dict_item(items, 2, source, fields[2]), source, "videoSpeakers");
  const DictById sentences(dict_item(items, 3, source, fields[3]), source, "videoSentences");
  Dataset ds;
  const Layout layout = decide_layout(cmu, labels, source, ds);

  // Splits and dialogue order as GCNet iterates them (see the header): each split sorted; IEMOCAP
  // dialogues in sorted(trainVid | testVid) order, CMU in train, val, test order. Videos of no
  // split follow in videoIDs order. Unknown or repeated split ids are reported by split_from_ids.
  const std::vector<std::string> part_names =
      cmu ? std::vector<std::string>{"train", "valid", "test"} : std::vector<std::string>{"train", "test"};
  std::vector<SplitIds> parts;
  std::vector<std::string> order;
  std::unordered_set<std::string> placed;
  for (size_t p = 0; p < part_names.size(); ++p) {
    SplitIds part{part_names[p], std::string(fields[4 + p]), id_list(*items[4 + p], source, fields[4 + p])};
    std::sort(part.ids.begin(), part.ids.end());
    for (const auto& vid : part.ids)
      if (ids.find(vid) && placed.insert(vid).second) order.push_back(vid);
    parts.push_back(std::move(part));
  }
  if (!cmu) std::sort(order.begin(), order.end());
  for (const auto& vid : ids.ids())
    if (placed.insert(vid).second) order.push_back(vid);

  ds.info.name = layout.name;
  ds.info.task = cmu ? Task::kRegression : Task::kClassification;
  if (cmu) ds.info.class_names = {"negative", "positive"};
  else if (layout.num_classes == 4) ds.info.class_names = {"hap", "sad", "neu", "ang"};  // hap includes exc
  else ds.info.class_names = {"hap", "sad", "neu", "ang", "exc", "fru"};
  ds.info.num_speakers = cmu ? 1 : 2;
  ds.info.notes = cmu ? "GCNet/MoMKE/ComP label pickle (list of 7); score = sentiment in [-3, 3], label = score >= 0"
                      : (layout.num_classes == 4
                             ? "GCNet/MoMKE/ComP label pickle (list of 6), 4-way: happy includes excited; speakers F=0, M=1"
                             : "GCNet/MoMKE/ComP label pickle (list of 6), 6-way; speakers F=0, M=1");

  std::unordered_map<std::string, int64_t> index;
  for (const std::string& vid : order) {
    Dialogue dlg;
    dlg.id = vid;
    fill_utterances(dlg, layout, ids, labels, speakers, sentences, source);
    index[vid] = static_cast<int64_t>(ds.dialogues.size());
    ds.dialogues.push_back(std::move(dlg));
  }
  std::vector<std::string> split_warnings;
  ds.split_schemes.push_back(
      split_from_ids(cmu ? "standard" : "given", parts, index, source, "videoIDs", &split_warnings));
  for (auto& w : split_warnings) add_warning(ds, std::move(w));
  return ds;
}

Dataset read(const Probe& probe, const ReadOptions& options) {
  const std::string source = probe.path.string();
  Dataset ds = read_labels(probe);
  const bool cmu = ds.info.task == Task::kRegression;
  if (!options.feature_dirs.empty()) {
    FeatureFolderOptions fo;
    fo.faces_by_speaker = !cmu;
    load_feature_folders(ds, options.feature_dirs, fo);
  } else {
    add_warning(ds, source + ": label pickle read without features (labels, speakers and transcripts only); pass "
                             "the per-utterance feature folders with --features audio=DIR --features text=DIR "
                             "--features visual=DIR");
  }
  return ds;
}

}  // namespace gcnet_detail

bool detect_gcnet_labels(const Probe& probe) { return gcnet_detail::detect(probe); }
Dataset read_gcnet_labels(const Probe& probe, const ReadOptions& options) { return gcnet_detail::read(probe, options); }
Dataset read_gcnet_label_pickle(const Probe& probe) { return gcnet_detail::read_labels(probe); }

}  // namespace merc::data
