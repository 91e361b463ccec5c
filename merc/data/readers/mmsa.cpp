#include "merc/data/readers/mmsa.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

#include "merc/core/error.h"
#include "merc/data/readers/pickle_layout.h"

namespace merc::data {

using io::NdArray;
using io::PyValue;

// Named (not anonymous) so that unity builds cannot mix these helpers with other readers'.
namespace mmsa_detail {

constexpr const char* kSplits[] = {"train", "valid", "test"};
constexpr const char* kSeparator = "$_$";
// A step is padding when every |x| <= this: MMSA's own test for inferring sequence lengths
// (__infer_lengths_from_feature) uses the same threshold.
constexpr double kPaddingEpsilon = 1e-8;

// Element i of a numeric array as double; float32/float64 read directly (the MOSEI text array has
// ~6e8 elements, so the generic per-element switch is avoided on the common dtypes).
inline double element(const NdArray& a, int64_t i) {
  if (a.dtype == io::DType::kFloat32) {
    float f;
    std::memcpy(&f, a.data.data() + i * 4, 4);
    return f;
  }
  if (a.dtype == io::DType::kFloat64) {
    double d;
    std::memcpy(&d, a.data.data() + i * 8, 8);
    return d;
  }
  return a.get_double(i);
}

const NdArray& array_field(const PyValue& split, const char* key, const std::string& source, const std::string& split_name,
                           int64_t ndim) {
  const io::PyRef v = split.get(key);
  if (!v) MERC_FORMAT_ERROR(source, "split '{}' has no key '{}'", split_name, key);
  if (v->type() != io::PyType::kNdArray)
    MERC_FORMAT_ERROR(source, "{}['{}']: expected a numpy array, got {}", split_name, key, v->type_name());
  const NdArray& a = v->as_array();
  if (a.dtype == io::DType::kObject || (ndim > 0 && a.ndim() != ndim))
    MERC_FORMAT_ERROR(source, "{}['{}']: expected a {}-D numeric array, got shape {} dtype {}", split_name, key, ndim,
                      a.shape_string(), io::dtype_descr(a.dtype));
  return a;
}

struct SplitView {
  std::string name;
  int64_t n = 0;
  const NdArray* seq[3] = {nullptr, nullptr, nullptr};  // text, audio, vision [N, T, D]
  const NdArray* text_bert = nullptr;                   // [N, 3, T] or null
  std::vector<int64_t> lengths[3];                      // per modality, empty = absent
  std::vector<double> scores;
  std::vector<std::string> ids;
  std::vector<std::string> raw_text;  // empty = absent
};

SplitView view_split(const PyValue& root, const char* name, const std::string& source) {
  const io::PyRef sp = root.get(name);
  if (!sp) MERC_FORMAT_ERROR(source, "no '{}' split (an MMSA pickle is a dict with train, valid and test)", name);
  if (!sp->is_dict()) MERC_FORMAT_ERROR(source, "split '{}' should be a dict of arrays, got {}", name, sp->type_name());
  const PyValue& split = *sp;
  SplitView v;
  v.name = name;
  const char* keys[3] = {"text", "audio", "vision"};
  for (int m = 0; m < 3; ++m) v.seq[m] = &array_field(split, keys[m], source, name, 3);
  v.n = v.seq[0]->shape[0];
  for (int m = 0; m < 3; ++m)
    if (v.seq[m]->shape[0] != v.n)
      MERC_FORMAT_ERROR(source, "split '{}': '{}' has {} samples but 'text' has {}", name, keys[m], v.seq[m]->shape[0], v.n);
  const NdArray& reg = array_field(split, "regression_labels", source, name, 0);
  if (reg.numel() != v.n)
    MERC_FORMAT_ERROR(source, "split '{}': 'regression_labels' has shape {} but there are {} samples", name,
                      reg.shape_string(), v.n);
  v.scores = reg.to_float64();
  const io::PyRef id = split.get("id");
  if (!id) MERC_FORMAT_ERROR(source, "split '{}' has no key 'id'", name);
  v.ids = str_list(*id, source, fmt::format("{}['id']", name));
  if (static_cast<int64_t>(v.ids.size()) != v.n)
    MERC_FORMAT_ERROR(source, "split '{}': 'id' has {} entries but there are {} samples", name, v.ids.size(), v.n);
  if (const io::PyRef raw = split.get("raw_text")) {
    v.raw_text = str_list(*raw, source, fmt::format("{}['raw_text']", name));
    if (static_cast<int64_t>(v.raw_text.size()) != v.n)
      MERC_FORMAT_ERROR(source, "split '{}': 'raw_text' has {} entries but there are {} samples", name,
                        v.raw_text.size(), v.n);
  }
  if (split.get("text_bert")) {
    const NdArray& tb = array_field(split, "text_bert", source, name, 3);
    if (tb.shape[0] != v.n || tb.shape[1] != 3)
      MERC_FORMAT_ERROR(source, "split '{}': 'text_bert' has shape {}, expected ({}, 3, T)", name, tb.shape_string(), v.n);
    if (tb.shape[2] == v.seq[0]->shape[1]) v.text_bert = &tb;
  }
  const char* length_keys[3] = {nullptr, "audio_lengths", "vision_lengths"};
  for (int m = 1; m < 3; ++m) {
    const io::PyRef len = split.get(length_keys[m]);
    if (!len) continue;
    v.lengths[m] = int_list(*len, source, fmt::format("{}['{}']", name, length_keys[m]));
    if (static_cast<int64_t>(v.lengths[m].size()) != v.n)
      MERC_FORMAT_ERROR(source, "split '{}': '{}' has {} entries but there are {} samples", name, length_keys[m],
                        v.lengths[m].size(), v.n);
    for (int64_t i = 0; i < v.n; ++i)
      if (v.lengths[m][static_cast<size_t>(i)] < 0 || v.lengths[m][static_cast<size_t>(i)] > v.seq[m]->shape[1])
        MERC_FORMAT_ERROR(source, "split '{}': {}[{}] = {} outside 0..{}", name, length_keys[m], i,
                          v.lengths[m][static_cast<size_t>(i)], v.seq[m]->shape[1]);
  }
  return v;
}

// Mean over the valid steps of sample `n` of modality `m` into `out` (D values). Returns false
// when no step is valid (out is zeroed). Counts non-finite values replaced by 0 (except audio
// -inf, which MMSA itself maps to 0). When `keep` is given, the valid steps (cleaned the same
// way, as float32) are appended to it as the next utterance: the kept sequence and the mean see
// exactly the same rows.
bool mean_valid_steps(const SplitView& v, int m, int64_t n, float* out, int64_t* nonfinite, SequenceFeatures* keep) {
  const NdArray& a = *v.seq[m];
  const int64_t T = a.shape[1], D = a.shape[2];
  std::vector<double> sum(static_cast<size_t>(D), 0.0), row(static_cast<size_t>(D));
  std::vector<float> steps;  // the kept rows, (count, D)
  int64_t count = 0;
  for (int64_t t = 0; t < T; ++t) {
    bool any = false;
    for (int64_t j = 0; j < D; ++j) {
      double x = element(a, (n * T + t) * D + j);
      if (!std::isfinite(x)) {
        if (!(m == 1 && x < 0)) ++*nonfinite;  // audio -inf -> 0 is MMSA's documented behaviour
        x = 0.0;
      }
      row[static_cast<size_t>(j)] = x;
      any = any || std::fabs(x) > kPaddingEpsilon;
    }
    bool valid = any;
    if (m == 0 && v.text_bert) valid = element(*v.text_bert, (n * 3 + 1) * T + t) > 0;
    if (!v.lengths[m].empty()) valid = t < v.lengths[m][static_cast<size_t>(n)];
    if (!valid) continue;
    for (int64_t j = 0; j < D; ++j) sum[static_cast<size_t>(j)] += row[static_cast<size_t>(j)];
    if (keep)
      for (int64_t j = 0; j < D; ++j) steps.push_back(static_cast<float>(row[static_cast<size_t>(j)]));
    ++count;
  }
  if (keep) keep->append(steps.data(), count);
  for (int64_t j = 0; j < D; ++j)
    out[j] = count ? static_cast<float>(sum[static_cast<size_t>(j)] / static_cast<double>(count)) : 0.0f;
  return count > 0;
}

struct Sample {
  const SplitView* split;
  int64_t n;
  std::string clip;
};

std::string dataset_name(const std::string& source) {
  if (std::string cmu = cmu_dataset_name(source); !cmu.empty()) return cmu;
  std::string s = source;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s.find("sims") != std::string::npos ? "CH-SIMS" : "MMSA";
}


bool detect(const Probe& probe) {
  const PyValue* root = probe.pickle.get();
  if (!root || !root->is_dict()) return false;
  for (const char* s : kSplits) {
    const io::PyRef sp = root->get(s);
    if (!sp || !sp->is_dict() || !sp->get("regression_labels")) return false;
  }
  return true;
}

Dataset read(const Probe& probe, const ReadOptions& options) {
  const std::string source = probe.path.string();
  if (!options.feature_dirs.empty())
    throw Error("the mmsa format carries its own features; --features folders apply to gcnet-labels only");
  if (!probe.pickle) MERC_FORMAT_ERROR(source, "not a pickle file (the mmsa layout is a pickled dict)");
  if (!probe.pickle->is_dict())
    MERC_FORMAT_ERROR(source, "expected a dict with train, valid and test splits, got {}", probe.pickle->type_name());
  const PyValue& root = *probe.pickle;
  std::vector<SplitView> splits;
  for (const char* s : kSplits) splits.push_back(view_split(root, s, source));
  const char* keys[3] = {"text", "audio", "vision"};
  for (const SplitView& v : splits)
    for (int m = 0; m < 3; ++m)
      if (v.seq[m]->shape[2] != splits[0].seq[m]->shape[2])
        MERC_FORMAT_ERROR(source, "'{}' has dim {} in split '{}' but {} in split 'train'", keys[m],
                          v.seq[m]->shape[2], v.name, splits[0].seq[m]->shape[2]);

  Dataset ds;
  ds.info.name = dataset_name(source);
  ds.info.task = Task::kRegression;
  ds.info.class_names = {"negative", "positive"};
  ds.info.num_speakers = 1;
  for (int m = 0; m < 3; ++m) {
    ds.info.modality_dims[static_cast<size_t>(m)] = splits[0].seq[m]->shape[2];
    ds.info.modality_sources[static_cast<size_t>(m)] = fmt::format("MMSA {} (mean over valid steps)", keys[m]);
  }
  ds.info.has_sequences = options.keep_sequences;
  ds.info.notes = "MMSA aligned/unaligned pickle; clips grouped by video id; sequences averaged over valid steps";
  if (options.keep_sequences) ds.info.notes += " (the valid steps are also kept as per-utterance sequences)";
  ds.info.notes += "; label = regression score >= 0";

  // Group samples by (split, video) in first-appearance order.
  SplitScheme scheme;
  scheme.name = "standard";
  std::map<std::string, std::string> video_split;  // video -> first split, for cross-split reuse
  int64_t renamed = 0;
  int64_t nonfinite = 0;
  for (const SplitView& v : splits) {
    Partition part;
    part.name = v.name;
    std::vector<std::string> order;
    std::map<std::string, std::vector<Sample>> groups;
    for (int64_t n = 0; n < v.n; ++n) {
      const std::string& id = v.ids[static_cast<size_t>(n)];
      const size_t sep = id.find(kSeparator);
      const std::string video = sep == std::string::npos ? id : id.substr(0, sep);
      const std::string clip = sep == std::string::npos ? "" : id.substr(sep + std::strlen(kSeparator));
      auto [it, fresh] = groups.try_emplace(video);
      if (fresh) order.push_back(video);
      it->second.push_back({&v, n, clip});
    }
    for (const std::string& video : order) {
      std::vector<Sample>& samples = groups[video];
      const bool numeric = std::all_of(samples.begin(), samples.end(), [](const Sample& s) {
        long long x = 0;
        const auto r = std::from_chars(s.clip.data(), s.clip.data() + s.clip.size(), x);
        return !s.clip.empty() && r.ec == std::errc() && r.ptr == s.clip.data() + s.clip.size();
      });
      if (numeric)
        std::stable_sort(samples.begin(), samples.end(),
                         [](const Sample& a, const Sample& b) { return std::stoll(a.clip) < std::stoll(b.clip); });
      Dialogue dlg;
      const auto [seen, first] = video_split.emplace(video, v.name);
      dlg.id = first ? video : video + "@" + v.name;
      if (!first) ++renamed;
      const int64_t L = static_cast<int64_t>(samples.size());
      for (int m = 0; m < 3; ++m) {
        const int64_t dim = ds.info.modality_dims[static_cast<size_t>(m)];
        dlg.features[static_cast<size_t>(m)] = FeatureMatrix(L, dim);
        if (options.keep_sequences) dlg.sequences[static_cast<size_t>(m)] = SequenceFeatures(dim);
      }
      for (int64_t u = 0; u < L; ++u) {
        const Sample& s = samples[static_cast<size_t>(u)];
        Utterance utt;
        utt.id = s.clip.empty() ? v.ids[static_cast<size_t>(s.n)] : video + "_" + s.clip;
        const double score = v.scores[static_cast<size_t>(s.n)];
        if (!std::isfinite(score))
          MERC_FORMAT_ERROR(source, "split '{}' sample {} ('{}'): regression label is {}", v.name, s.n,
                            v.ids[static_cast<size_t>(s.n)], score);
        utt.score = static_cast<float>(score);
        utt.label = binary_label_from_score(score);
        if (!v.raw_text.empty()) utt.transcript = v.raw_text[static_cast<size_t>(s.n)];
        for (int m = 0; m < 3; ++m) {
          SequenceFeatures* keep = options.keep_sequences ? &dlg.sequences[static_cast<size_t>(m)] : nullptr;
          if (mean_valid_steps(v, m, s.n, dlg.features[static_cast<size_t>(m)].row(u), &nonfinite, keep)) continue;
          if (dlg.present.empty()) dlg.present.assign(static_cast<size_t>(L * kNumModalities), 1);
          dlg.present[static_cast<size_t>(u * kNumModalities + m)] = 0;
        }
        dlg.utterances.push_back(std::move(utt));
      }
      part.dialogues.push_back(static_cast<int64_t>(ds.dialogues.size()));
      ds.dialogues.push_back(std::move(dlg));
    }
    scheme.partitions.push_back(std::move(part));
  }
  ds.split_schemes.push_back(std::move(scheme));
  if (renamed > 0)
    add_warning(ds, fmt::format("{}: {} videos have clips in more than one split; their later parts are separate "
                                "dialogues named '<video>@<split>'", source, renamed));
  if (nonfinite > 0)
    add_warning(ds, fmt::format("{}: {} non-finite feature values (other than audio -inf) were set to 0", source, nonfinite));
  return ds;
}

}  // namespace mmsa_detail

bool detect_mmsa(const Probe& probe) { return mmsa_detail::detect(probe); }
Dataset read_mmsa(const Probe& probe, const ReadOptions& options) { return mmsa_detail::read(probe, options); }

}  // namespace merc::data
