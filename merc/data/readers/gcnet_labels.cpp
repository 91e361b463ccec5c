#include "merc/data/readers/gcnet_labels.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "merc/core/error.h"
#include "merc/data/readers/feature_folders.h"
#include "merc/data/readers/imer_pickle_fields.h"

namespace merc::data {

using io::PyRef;
using io::PyValue;

// Named (not anonymous) so that unity builds cannot mix these helpers with other readers'.
namespace gcnet_detail {

constexpr const char* kIemocapFields[] = {"videoIDs", "videoLabels", "videoSpeakers", "videoSentences",
                                          "trainVid", "testVid"};
constexpr const char* kCmuFields[] = {"videoIDs", "videoLabels", "videoSpeakers", "videoSentences",
                                      "trainVids", "valVids", "testVids"};

bool is_speaker_code(const std::string& s) { return s.empty() || s == "F" || s == "M"; }

// First value of a non-empty dict, or nullptr.
const PyValue* first_value(const PyValue& v) {
  if (!v.is_dict() || v.size() == 0) return nullptr;
  return v.dict_items().front().second.get();
}

// True when `v` is a non-empty sequence of str, all satisfying `pred`.
template <class Pred>
bool str_sequence_where(const PyValue* v, Pred pred) {
  if (!v || !v->is_sequence() || v->size() == 0) return false;
  for (const auto& e : v->items())
    if (e->type() != io::PyType::kStr || !pred(e->as_str())) return false;
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<PyRef> sorted_vids(std::vector<PyRef> vids, const std::string& source, const char* field) {
  for (const PyRef& v : vids) {
    try {
      io::key_to_string(*v);
    } catch (const Error&) {
      MERC_FORMAT_ERROR(source, "{}: a video id must be str, bytes or int, got {}", field, v->type_name());
    }
  }
  std::stable_sort(vids.begin(), vids.end(), [](const PyRef& a, const PyRef& b) {
    return io::key_to_string(*a) < io::key_to_string(*b);
  });
  return vids;
}

struct Layout {
  bool cmu = false;  // 7 items: regression; else IEMOCAP classification
  int num_classes = 0;
  std::string name;
};

Layout decide_layout(const PyValue& root, const std::string& source, Dataset& ds) {
  Layout layout;
  layout.cmu = root.size() == 7;
  const std::string file = lower(std::filesystem::path(source).filename().string());
  if (layout.cmu) {
    layout.name = file.find("mosei") != std::string::npos ? "CMU-MOSEI"
                  : file.find("mosi") != std::string::npos ? "CMU-MOSI"
                                                           : "CMU (GCNet label pickle)";
    return layout;
  }
  int64_t max_label = -1;
  for (const auto& [vid, labels] : expect_dict(pickle_item(root, 1), source, "videoLabels").dict_items())
    for (int64_t l : int_list(*labels, source, "videoLabels[" + key_repr(*vid) + "]")) max_label = std::max(max_label, l);
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


bool detect(const Probe& probe) {
  const PyValue* root = probe.pickle.get();
  if (!root || !root->is_sequence() || (root->size() != 6 && root->size() != 7)) return false;
  for (size_t i = 0; i < 4; ++i)
    if (!pickle_item(*root, i).is_dict()) return false;
  for (size_t i = 4; i < root->size(); ++i)
    if (!pickle_item(*root, i).is_collection()) return false;
  // videoIDs hold utterance ids, videoSpeakers hold 'F'/'M'/''. COSMIC's 6-item transcript pickle
  // has speakers first and sentences third, so it fails one of the two tests.
  const bool ids_ok = str_sequence_where(first_value(pickle_item(*root, 0)), [](const std::string& s) { return !is_speaker_code(s); });
  const bool spk_ok = str_sequence_where(first_value(pickle_item(*root, 2)), is_speaker_code);
  const PyValue* labels = first_value(pickle_item(*root, 1));
  const bool labels_ok = labels && labels->is_sequence() && labels->size() > 0 &&
                         (labels->items()[0]->type() == io::PyType::kInt || labels->items()[0]->is_array() ||
                          labels->items()[0]->type() == io::PyType::kFloat);
  return ids_ok && spk_ok && labels_ok;
}

Dataset read(const Probe& probe, const ReadOptions& options) {
  const std::string source = probe.path.string();
  const PyValue* root = probe.pickle.get();
  if (!root) MERC_FORMAT_ERROR(source, "not a pickle file (the gcnet-labels layout is a pickled list)");
  if (!root->is_sequence() || (root->size() != 6 && root->size() != 7))
    MERC_FORMAT_ERROR(source,
                      "expected a list of 6 (IEMOCAP: videoIDs, videoLabels, videoSpeakers, videoSentences, "
                      "trainVid, testVid) or 7 (CMU-MOSI/MOSEI: ..., trainVids, valVids, testVids) items, got {} {}",
                      root->type_name(), root->is_collection() || root->is_dict() ? fmt::format("of {}", root->size()) : "");
  Dataset ds;
  const Layout layout = decide_layout(*root, source, ds);
  const char* const* fields = layout.cmu ? kCmuFields : kIemocapFields;
  const PyValue& ids = expect_dict(pickle_item(*root, 0), source, fields[0]);
  const PyValue& labels = expect_dict(pickle_item(*root, 1), source, fields[1]);
  const PyValue& speakers = expect_dict(pickle_item(*root, 2), source, fields[2]);
  const PyValue& sentences = expect_dict(pickle_item(*root, 3), source, fields[3]);

  // Partitions in GCNet's iteration order (see the header).
  std::vector<std::string> part_names = layout.cmu ? std::vector<std::string>{"train", "valid", "test"}
                                                   : std::vector<std::string>{"train", "test"};
  std::vector<std::vector<PyRef>> part_vids;
  for (size_t p = 0; p < part_names.size(); ++p) {
    const size_t item = 4 + p;
    part_vids.push_back(
        sorted_vids(collection_items(pickle_item(*root, item), source, fields[item]), source, fields[item]));
  }
  std::vector<PyRef> order;
  std::map<std::string, std::string> owner;  // vid -> split field, to reject a vid in two splits
  for (size_t p = 0; p < part_vids.size(); ++p) {
    for (const PyRef& vid : part_vids[p]) {
      const std::string key = io::key_to_string(*vid);
      if (!ids.get(*vid))
        MERC_FORMAT_ERROR(source, "{} lists video {} which is not in videoIDs", fields[4 + p], key_repr(*vid));
      const auto [it, fresh] = owner.emplace(key, fields[4 + p]);
      if (!fresh) MERC_FORMAT_ERROR(source, "video {} is in both {} and {}", key_repr(*vid), it->second, fields[4 + p]);
      order.push_back(vid);
    }
  }
  if (!layout.cmu) order = sorted_vids(order, source, "trainVid | testVid");  // GCNet: sorted(trainVid | testVid)
  size_t unsplit = 0;
  for (const auto& [vid, _] : ids.dict_items()) {
    if (owner.count(io::key_to_string(*vid))) continue;
    order.push_back(vid);
    ++unsplit;
  }
  if (unsplit > 0)
    add_warning(ds, fmt::format("{}: {} videos of videoIDs are in no split; they are kept but belong to no partition",
                                source, unsplit));

  ds.info.name = layout.name;
  ds.info.task = layout.cmu ? Task::kRegression : Task::kClassification;
  if (layout.cmu) ds.info.class_names = {"negative", "positive"};
  else if (layout.num_classes == 4) ds.info.class_names = {"happy", "sad", "neutral", "angry"};
  else ds.info.class_names = {"happy", "sad", "neutral", "angry", "excited", "frustrated"};
  ds.info.num_speakers = layout.cmu ? 1 : 2;
  ds.info.notes = layout.cmu
                      ? "GCNet/MoMKE/ComP label pickle (list of 7); score = sentiment in [-3, 3], label = score >= 0"
                      : (layout.num_classes == 4 ? "GCNet/MoMKE/ComP label pickle (list of 6), 4-way: happy includes excited; "
                                                   "speakers F=0, M=1"
                                                 : "GCNet/MoMKE/ComP label pickle (list of 6), 6-way; speakers F=0, M=1");

  std::map<std::string, int64_t> index_of_vid;
  for (const PyRef& vid : order) {
    const std::string key = io::key_to_string(*vid);
    const std::string where = "[" + key_repr(*vid) + "]";
    const auto uids = string_list(dict_entry(ids, *vid, source, fields[0]), source, fields[0] + where);
    const auto spk = string_list(dict_entry(speakers, *vid, source, fields[2]), source, fields[2] + where);
    const auto sent = string_list(dict_entry(sentences, *vid, source, fields[3]), source, fields[3] + where);
    const PyValue& lab = dict_entry(labels, *vid, source, fields[1]);
    const size_t L = uids.size();
    const size_t nlab = collection_items(lab, source, fields[1] + where).size();
    if (spk.size() != L || sent.size() != L || nlab != L)
      MERC_FORMAT_ERROR(source, "video {}: {} utterance ids but {} labels, {} speakers and {} sentences",
                        key_repr(*vid), L, nlab, spk.size(), sent.size());
    Dialogue dlg;
    dlg.id = key;
    dlg.utterances.resize(L);
    std::vector<double> scores;
    std::vector<int64_t> classes;
    if (layout.cmu) scores = float_list(lab, source, fields[1] + where);
    else classes = int_list(lab, source, fields[1] + where);
    for (size_t u = 0; u < L; ++u) {
      Utterance& utt = dlg.utterances[u];
      utt.id = uids[u];
      utt.speaker_name = spk[u];
      utt.transcript = sent[u];
      if (layout.cmu) {
        if (!spk[u].empty())
          MERC_FORMAT_ERROR(source, "video {} utterance '{}': speaker '{}' (CMU label pickles have the single speaker '')",
                            key_repr(*vid), uids[u], spk[u]);
        if (!std::isfinite(scores[u]))
          MERC_FORMAT_ERROR(source, "video {} utterance '{}': sentiment score is {}", key_repr(*vid), uids[u], scores[u]);
        utt.score = static_cast<float>(scores[u]);
        utt.label = scores[u] >= 0.0 ? 1 : 0;
        utt.speaker = 0;
      } else {
        if (spk[u] != "F" && spk[u] != "M")
          MERC_FORMAT_ERROR(source, "video {} utterance '{}': speaker '{}' is neither 'F' nor 'M'", key_repr(*vid),
                            uids[u], spk[u]);
        utt.speaker = spk[u] == "F" ? 0 : 1;  // GCNet: speakermap = {'F': 0, 'M': 1}
        if (classes[u] < 0 || classes[u] >= layout.num_classes)
          MERC_FORMAT_ERROR(source, "video {} utterance '{}': label {} outside 0..{}", key_repr(*vid), uids[u],
                            classes[u], layout.num_classes - 1);
        utt.label = classes[u];
      }
    }
    index_of_vid[key] = static_cast<int64_t>(ds.dialogues.size());
    ds.dialogues.push_back(std::move(dlg));
  }

  SplitScheme scheme;
  scheme.name = layout.cmu ? "standard" : "given";
  for (size_t p = 0; p < part_names.size(); ++p) {
    Partition part;
    part.name = part_names[p];
    for (const PyRef& vid : part_vids[p]) part.dialogues.push_back(index_of_vid.at(io::key_to_string(*vid)));
    if (!layout.cmu) std::sort(part.dialogues.begin(), part.dialogues.end());
    scheme.partitions.push_back(std::move(part));
  }
  ds.split_schemes.push_back(std::move(scheme));

  if (!options.feature_dirs.empty()) {
    FeatureFolderOptions fo;
    fo.faces_by_speaker = !layout.cmu;
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

}  // namespace merc::data
