#include "merc/data/readers/bclstm_2way.h"

#include "merc/core/error.h"

namespace merc::data {

namespace {

using io::PyType;
using io::PyValue;

bool is_array_of_rank(const io::PyRef& v, int64_t rank) {
  return v && v->type() == PyType::kNdArray && v->as_array().ndim() == rank && v->as_array().dtype != io::DType::kObject;
}

// Which modality a 2way file holds, from its name ("audio_2way.pickle" -> audio).
std::optional<Modality> modality_from_name(const std::string& filename) {
  for (const auto& [prefix, m] : {std::pair<const char*, Modality>{"text", Modality::kText},
                                  {"audio", Modality::kAudio},
                                  {"video", Modality::kVisual},
                                  {"visual", Modality::kVisual}})
    if (filename.rfind(prefix, 0) == 0) return m;
  return std::nullopt;
}

std::vector<int64_t> lengths_of(const PyValue& v, const std::string& path, const char* what) {
  if (!v.is_sequence()) MERC_FORMAT_ERROR(path, "{} must be a list of ints, got {}", what, v.type_name());
  std::vector<int64_t> out;
  for (const auto& x : v.items()) {
    if (x->type() != PyType::kInt && !x->is_array()) MERC_FORMAT_ERROR(path, "{} must hold ints, got {}", what, x->type_name());
    out.push_back(x->as_int());
  }
  return out;
}

}  // namespace

bool detect_bclstm_2way(const Probe& probe) {
  if (!probe.pickle || !probe.pickle->is_sequence() || probe.pickle->size() != 7) return false;
  const auto& it = probe.pickle->items();
  return is_array_of_rank(it[0], 3) && is_array_of_rank(it[1], 2) && is_array_of_rank(it[2], 3) &&
         is_array_of_rank(it[3], 2) && it[4]->type() == PyType::kInt && it[5]->is_sequence() && it[6]->is_sequence();
}

Dataset read_bclstm_2way(const Probe& probe, const ReadOptions& /*options*/) {
  const std::string path = probe.path.string();
  if (!detect_bclstm_2way(probe))
    MERC_FORMAT_ERROR(path, "expected a 7-tuple (train_data (V, maxlen, D), train_label (V, maxlen), test_data, "
                            "test_label, maxlen, train_length, test_length)");
  const auto& it = probe.pickle->items();
  const auto modality = modality_from_name(probe.path.filename().string());
  if (!modality)
    MERC_FORMAT_ERROR(path, "cannot tell the modality: the file name must start with text_, audio_ or video_ "
                            "as in the bc-LSTM release");
  const int64_t maxlen = it[4]->as_int();

  Dataset ds;
  ds.info.name = "CMU-MOSI (bc-LSTM 2way, " + std::string(modality_name(*modality)) + ")";
  ds.info.class_names = {"negative", "positive"};
  ds.info.num_speakers = 1;
  ds.info.notes = "bc-LSTM 2way pickle: one modality, binary labels, no utterance ids";
  ds.info.modality_sources[static_cast<size_t>(index_of(*modality))] = "bc-LSTM 2way features";
  SplitScheme scheme{"poria", {}};

  const char* split_names[] = {"train", "test"};
  for (int s = 0; s < 2; ++s) {
    const io::NdArray& data = it[static_cast<size_t>(2 * s)]->as_array();
    const io::NdArray& labels = it[static_cast<size_t>(2 * s + 1)]->as_array();
    const std::vector<int64_t> lengths = lengths_of(*it[static_cast<size_t>(5 + s)], path,
                                                    s == 0 ? "train_length" : "test_length");
    const int64_t V = data.shape[0], T = data.shape[1], D = data.shape[2];
    if (labels.shape[0] != V || labels.shape[1] != T || static_cast<int64_t>(lengths.size()) != V)
      MERC_FORMAT_ERROR(path, "{} split: data {}, labels {} and {} lengths disagree", split_names[s],
                        data.shape_string(), labels.shape_string(), lengths.size());
    if (T != maxlen) MERC_FORMAT_ERROR(path, "{} data is padded to {} utterances but maxlen is {}", split_names[s], T, maxlen);
    auto& dim = ds.info.modality_dims[static_cast<size_t>(index_of(*modality))];
    if (dim != 0 && dim != D) MERC_FORMAT_ERROR(path, "train features are {}-d but test features are {}-d", dim, D);
    dim = D;
    const std::vector<float> values = data.to_float32();
    Partition part{split_names[s], {}};
    for (int64_t v = 0; v < V; ++v) {
      const int64_t L = lengths[static_cast<size_t>(v)];
      if (L < 1 || L > T) MERC_FORMAT_ERROR(path, "{} video {}: length {} outside 1..{}", split_names[s], v, L, T);
      Dialogue d;
      d.id = std::string(split_names[s]) + "/" + std::to_string(v);
      FeatureMatrix& f = d.features[static_cast<size_t>(index_of(*modality))];
      f = FeatureMatrix(L, D);
      std::copy(values.begin() + v * T * D, values.begin() + (v * T + L) * D, f.values.begin());
      for (int64_t t = 0; t < L; ++t) {
        const double y = labels.get_double(v * T + t);
        if (y != 0.0 && y != 1.0)
          MERC_FORMAT_ERROR(path, "{} video {} utterance {}: label {} is not 0 or 1", split_names[s], v, t, y);
        Utterance u;
        u.id = d.id + "_" + std::to_string(t);
        u.label = static_cast<int64_t>(y);
        d.utterances.push_back(std::move(u));
      }
      part.dialogues.push_back(static_cast<int64_t>(ds.dialogues.size()));
      ds.dialogues.push_back(std::move(d));
    }
    scheme.partitions.push_back(std::move(part));
  }
  ds.split_schemes.push_back(std::move(scheme));
  return ds;
}

}  // namespace merc::data
