#include "merc/data/dataset_file.h"

#include <algorithm>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/io/safetensors.h"

namespace merc::data {
namespace dataset_file_internal {
namespace {

using nlohmann::json;
using io::StDType;

std::string feature_tensor_name(Modality m) { return std::string("features.") + modality_name(m); }
std::string sequence_tensor_name(Modality m) { return std::string("sequence.") + modality_name(m); }
std::string sequence_offsets_name(Modality m) { return std::string("sequence_offsets.") + modality_name(m); }

// json::dump with strict UTF-8 checking; names the field whose strings are not valid UTF-8.
std::string dump_json(const json& j, const char* field) {
  try {
    return j.dump();
  } catch (const json::exception& e) {
    throw Error(fmt::format("cannot write dataset file: {} contains a string that is not valid UTF-8 ({})", field,
                            e.what()));
  }
}

template <typename T>
io::TensorToWrite tensor(std::string name, StDType dtype, std::vector<int64_t> shape, const std::vector<T>& v) {
  return {std::move(name), dtype, std::move(shape), v.data(), v.size() * sizeof(T)};
}

json info_to_json(const DatasetInfo& info) {
  json dims = json::object(), sources = json::object();
  for (Modality m : kAllModalities) {
    dims[modality_name(m)] = info.modality_dims[static_cast<size_t>(index_of(m))];
    sources[modality_name(m)] = info.modality_sources[static_cast<size_t>(index_of(m))];
  }
  json j = {{"name", info.name},           {"source_format", info.source_format},
            {"task", task_name(info.task)}, {"class_names", info.class_names},
            {"num_speakers", info.num_speakers}, {"modality_dims", dims},
            {"modality_sources", sources}, {"notes", info.notes}};
  if (info.semantic_dim > 0) {  // format_version 2 only: a version-1 file stays exactly as before
    j["semantic_dim"] = info.semantic_dim;
    j["semantic_source"] = info.semantic_source;
  }
  if (info.has_sequences) j["has_sequences"] = true;  // format_version 3 only
  return j;
}

// The lowest version that holds the dataset, so that files without semantic vectors or sequences
// stay readable by merc builds that predate them.
int file_version_for(const DatasetInfo& info) { return info.has_sequences ? 3 : info.semantic_dim > 0 ? 2 : 1; }

// All sequences of modality m over the file's utterances in file order: offsets (N + 1) and
// values (S, D), each dialogue's offsets shifted by the steps before it.
struct FileSequences {
  std::vector<int64_t> offsets{0};
  std::vector<float> values;
};

FileSequences gather_sequences(const Dataset& ds, Modality m) {
  FileSequences out;
  const auto k = static_cast<size_t>(index_of(m));
  for (const Dialogue& d : ds.dialogues) {
    const SequenceFeatures& s = d.sequences[k];
    const int64_t base = out.offsets.back();
    for (size_t u = 1; u < s.offsets.size(); ++u) out.offsets.push_back(base + s.offsets[u]);
    out.values.insert(out.values.end(), s.values.begin(), s.values.end());
  }
  return out;
}

json splits_to_json(const std::vector<SplitScheme>& schemes) {
  json out = json::array();
  for (const auto& s : schemes) {
    json parts = json::array();
    for (const auto& p : s.partitions) parts.push_back({{"name", p.name}, {"dialogues", p.dialogues}});
    out.push_back({{"name", s.name}, {"partitions", parts}});
  }
  return out;
}

// ---- reading helpers: every type or shape surprise is a FormatError naming the file ----

class MetaReader {
 public:
  MetaReader(const std::map<std::string, std::string>& md, const std::string& path) : md_(md), path_(path) {}

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw_format_error(path_, fmt::format(f, std::forward<Args>(args)...));
  }

  const std::string& raw(const char* key) const {
    const auto it = md_.find(key);
    if (it == md_.end()) fail("__metadata__ lacks the key '{}'", key);
    return it->second;
  }
  json parse(const char* key) const {
    json j = json::parse(raw(key), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) MERC_FORMAT_ERROR(path_, "__metadata__.{} is not valid JSON", key);
    return j;
  }
  std::vector<std::string> strings(const char* key, size_t expected_len, const char* len_what) const {
    const json j = parse(key);
    if (!j.is_array()) MERC_FORMAT_ERROR(path_, "__metadata__.{} is not a JSON array", key);
    if (j.size() != expected_len)
      MERC_FORMAT_ERROR(path_, "__metadata__.{} has {} entries but the file has {} {}", key, j.size(), expected_len,
                        len_what);
    std::vector<std::string> out;
    out.reserve(j.size());
    for (const auto& v : j) {
      if (!v.is_string()) MERC_FORMAT_ERROR(path_, "__metadata__.{} entry {} is not a string", key, out.size());
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  // Field `key` of JSON object `obj` (found at `where`), of the given kind.
  const json& field(const json& obj, const char* where, const char* key, json::value_t kind) const {
    const auto it = obj.find(key);
    if (it == obj.end()) MERC_FORMAT_ERROR(path_, "{} lacks '{}'", where, key);
    const bool ok = kind == json::value_t::number_unsigned ? it->is_number_unsigned() : it->type() == kind;
    if (!ok) MERC_FORMAT_ERROR(path_, "{}.{} has the wrong type ({})", where, key, it->type_name());
    return *it;
  }
  std::string str(const json& obj, const char* where, const char* key) const {
    return field(obj, where, key, json::value_t::string).get<std::string>();
  }
  int64_t count(const json& v, const char* where) const {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > (uint64_t{1} << 62))
      MERC_FORMAT_ERROR(path_, "{} must be a non-negative integer, got {}", where, v.dump());
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  void only_keys(const json& obj, const char* where, std::initializer_list<const char*> keys) const {
    for (const auto& [k, _] : obj.items()) {
      bool known = false;
      for (const char* key : keys) known = known || k == key;
      if (!known) MERC_FORMAT_ERROR(path_, "{} has an unexpected key '{}'", where, k);
    }
  }

 private:
  const std::map<std::string, std::string>& md_;
  const std::string& path_;
};

DatasetInfo info_from_json(const MetaReader& r, const json& j, int version) {
  const char* w = "__metadata__.info";
  if (!j.is_object()) r.fail("{} is not a JSON object", w);
  if (version >= 3)
    r.only_keys(j, w, {"name", "source_format", "task", "class_names", "num_speakers", "modality_dims",
                       "modality_sources", "notes", "semantic_dim", "semantic_source", "has_sequences"});
  else if (version == 2)
    r.only_keys(j, w, {"name", "source_format", "task", "class_names", "num_speakers", "modality_dims",
                       "modality_sources", "notes", "semantic_dim", "semantic_source"});
  else
    r.only_keys(j, w, {"name", "source_format", "task", "class_names", "num_speakers", "modality_dims",
                       "modality_sources", "notes"});
  DatasetInfo info;
  info.name = r.str(j, w, "name");
  info.source_format = r.str(j, w, "source_format");
  const std::string task = r.str(j, w, "task");
  if (task == task_name(Task::kClassification)) info.task = Task::kClassification;
  else if (task == task_name(Task::kRegression)) info.task = Task::kRegression;
  else r.fail("{}.task '{}' is neither 'classification' nor 'regression'", w, task);
  for (const auto& c : r.field(j, w, "class_names", json::value_t::array)) {
    if (!c.is_string()) r.fail("{}.class_names entry {} is not a string", w, info.class_names.size());
    info.class_names.push_back(c.get<std::string>());
  }
  info.num_speakers = r.count(r.field(j, w, "num_speakers", json::value_t::number_unsigned), "info.num_speakers");
  const json& dims = r.field(j, w, "modality_dims", json::value_t::object);
  const json& sources = r.field(j, w, "modality_sources", json::value_t::object);
  r.only_keys(dims, "info.modality_dims", {"text", "audio", "visual"});
  r.only_keys(sources, "info.modality_sources", {"text", "audio", "visual"});
  for (Modality m : kAllModalities) {
    const auto i = static_cast<size_t>(index_of(m));
    info.modality_dims[i] = r.count(r.field(dims, "info.modality_dims", modality_name(m), json::value_t::number_unsigned),
                                    "info.modality_dims entry");
    info.modality_sources[i] = r.str(sources, "info.modality_sources", modality_name(m));
  }
  info.notes = r.str(j, w, "notes");
  // Version 2: both optional (absent = no semantic vectors).
  if (j.contains("semantic_dim"))
    info.semantic_dim = r.count(r.field(j, w, "semantic_dim", json::value_t::number_unsigned), "info.semantic_dim");
  if (j.contains("semantic_source")) info.semantic_source = r.str(j, w, "semantic_source");
  // Version 3: optional (absent = false).
  if (j.contains("has_sequences")) info.has_sequences = r.field(j, w, "has_sequences", json::value_t::boolean).get<bool>();
  return info;
}

std::vector<SplitScheme> splits_from_json(const MetaReader& r, const json& j) {
  if (!j.is_array()) r.fail("__metadata__.splits is not a JSON array");
  std::vector<SplitScheme> out;
  for (const auto& s : j) {
    const char* w = "__metadata__.splits entry";
    if (!s.is_object()) r.fail("{} {} is not a JSON object", w, out.size());
    r.only_keys(s, w, {"name", "partitions"});
    SplitScheme scheme;
    scheme.name = r.str(s, w, "name");
    for (const auto& p : r.field(s, w, "partitions", json::value_t::array)) {
      if (!p.is_object()) r.fail("split scheme '{}': a partition is not a JSON object", scheme.name);
      r.only_keys(p, "partition", {"name", "dialogues"});
      Partition part;
      part.name = r.str(p, "partition", "name");
      for (const auto& d : r.field(p, "partition", "dialogues", json::value_t::array))
        part.dialogues.push_back(r.count(d, "partition dialogue index"));
      scheme.partitions.push_back(std::move(part));
    }
    out.push_back(std::move(scheme));
  }
  return out;
}

// The tensor `name` with the expected dtype and shape (-1 = any extent), else a FormatError.
const io::TensorView& expect_tensor(const io::SafetensorsFile& f, const std::string& name, StDType dtype,
                                    const std::vector<int64_t>& shape) {
  const io::TensorView& t = f.tensor(name);
  bool ok = t.dtype == dtype && t.shape.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || shape[i] == t.shape[i];
  if (!ok) {
    std::string want;
    for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + (shape[i] < 0 ? std::string("*") : std::to_string(shape[i]));
    MERC_FORMAT_ERROR(f.source(), "tensor '{}' is {} {}, expected {} [{}]", name, io::st_dtype_name(t.dtype),
                      t.shape_string(), io::st_dtype_name(dtype), want);
  }
  return t;
}

template <typename T>
std::vector<T> copy_out(const io::TensorView& t) {
  std::vector<T> v(static_cast<size_t>(t.size / sizeof(T)));
  if (t.size) std::memcpy(v.data(), t.data, static_cast<size_t>(t.size));  // data may be unaligned
  return v;
}

// Rows [begin, end) of an (N, dim) F32 tensor (already shape-checked) as a FeatureMatrix.
FeatureMatrix rows_of(const io::TensorView& t, size_t begin, size_t end, int64_t dim) {
  FeatureMatrix out(static_cast<int64_t>(end - begin), dim);
  const size_t row_bytes = static_cast<size_t>(dim) * sizeof(float);
  if (end > begin && dim > 0) std::memcpy(out.values.data(), t.data + begin * row_bytes, (end - begin) * row_bytes);
  return out;
}

// The sequence tensors of modality m (info.has_sequences): offsets (n + 1) I64 starting at 0,
// non-decreasing, ending at the rows of the (S, dim) F32 values.
struct SequenceTensors {
  std::vector<int64_t> offsets;
  const io::TensorView* values = nullptr;
};

SequenceTensors expect_sequences(const io::SafetensorsFile& f, const MetaReader& r, Modality m, int64_t n,
                                 int64_t dim) {
  SequenceTensors out;
  const std::string off_name = sequence_offsets_name(m), name = sequence_tensor_name(m);
  out.offsets = copy_out<int64_t>(expect_tensor(f, off_name, StDType::kI64, {n + 1}));
  out.values = &expect_tensor(f, name, StDType::kF32, {-1, dim});
  if (out.offsets.front() != 0) r.fail("{}[0] is {}, expected 0", off_name, out.offsets.front());
  for (size_t i = 1; i < out.offsets.size(); ++i)
    if (out.offsets[i] < out.offsets[i - 1])
      r.fail("{} decrease at entry {} ({} after {})", off_name, i, out.offsets[i], out.offsets[i - 1]);
  if (out.offsets.back() != out.values->shape[0])
    r.fail("{} end at {} but tensor '{}' has {} steps", off_name, out.offsets.back(), name, out.values->shape[0]);
  return out;
}

// Utterances [begin, end) of one modality's file-wide sequence tensors as a dialogue's store.
SequenceFeatures sequences_of(const SequenceTensors& t, size_t begin, size_t end, int64_t dim) {
  SequenceFeatures out(dim);
  const int64_t first = t.offsets[begin];
  for (size_t k = begin + 1; k <= end; ++k) out.offsets.push_back(t.offsets[k] - first);
  FeatureMatrix rows = rows_of(*t.values, static_cast<size_t>(first), static_cast<size_t>(t.offsets[end]), dim);
  out.values = std::move(rows.values);
  return out;
}

}  // namespace
}  // namespace dataset_file_internal

void write_dataset_file(const Dataset& ds, const std::string& path) {
  using namespace dataset_file_internal;
  ds.validate(path);
  const int64_t n = ds.num_utterances();
  const auto un = static_cast<size_t>(n);
  std::array<std::vector<float>, kNumModalities> features;
  std::vector<int64_t> speaker, label, offsets{0};
  std::vector<float> score;
  std::vector<uint8_t> present;
  bool any_present = false;
  for (const auto& d : ds.dialogues) any_present = any_present || !d.present.empty();
  if (any_present) present.assign(un * kNumModalities, 1);
  speaker.reserve(un);
  label.reserve(un);
  score.reserve(un);
  json dialogue_ids = json::array(), utterance_ids = json::array(), speaker_names = json::array(),
       transcripts = json::array();
  std::vector<float> semantic;
  semantic.reserve(un * static_cast<size_t>(ds.info.semantic_dim));
  for (Modality m : kAllModalities)
    if (ds.info.has(m)) features[static_cast<size_t>(index_of(m))].reserve(un * static_cast<size_t>(ds.info.modality_dims[static_cast<size_t>(index_of(m))]));
  for (const auto& d : ds.dialogues) {
    dialogue_ids.push_back(d.id);
    if (!d.present.empty())
      std::memcpy(present.data() + static_cast<size_t>(offsets.back()) * kNumModalities, d.present.data(), d.present.size());
    for (const auto& u : d.utterances) {
      utterance_ids.push_back(u.id);
      speaker_names.push_back(u.speaker_name);
      transcripts.push_back(u.transcript);
      speaker.push_back(u.speaker);
      label.push_back(u.label);
      score.push_back(u.score);
    }
    for (Modality m : kAllModalities) {
      const auto i = static_cast<size_t>(index_of(m));
      if (ds.info.has(m)) features[i].insert(features[i].end(), d.features[i].values.begin(), d.features[i].values.end());
    }
    semantic.insert(semantic.end(), d.semantic.values.begin(), d.semantic.values.end());
    offsets.push_back(offsets.back() + d.length());
  }

  std::vector<io::TensorToWrite> tensors;
  for (Modality m : kAllModalities) {
    const auto i = static_cast<size_t>(index_of(m));
    if (ds.info.has(m)) tensors.push_back(tensor(feature_tensor_name(m), StDType::kF32, {n, ds.info.modality_dims[i]}, features[i]));
  }
  if (ds.info.semantic_dim > 0)
    tensors.push_back(tensor("semantic", StDType::kF32, {n, ds.info.semantic_dim}, semantic));
  if (any_present) tensors.push_back(tensor("present", StDType::kU8, {n, kNumModalities}, present));
  tensors.push_back(tensor("speaker", StDType::kI64, {n}, speaker));
  tensors.push_back(tensor("label", StDType::kI64, {n}, label));
  tensors.push_back(tensor("score", StDType::kF32, {n}, score));
  tensors.push_back(tensor("dialogue_offsets", StDType::kI64, {static_cast<int64_t>(offsets.size())}, offsets));
  // Gathered here, written by write_safetensors_file below: the tensors point into them.
  std::array<FileSequences, kNumModalities> sequences;
  for (Modality m : kAllModalities) {
    const auto i = static_cast<size_t>(index_of(m));
    if (!ds.info.has_sequences || !ds.info.has(m)) continue;
    sequences[i] = gather_sequences(ds, m);
    tensors.push_back(tensor(sequence_offsets_name(m), StDType::kI64, {n + 1}, sequences[i].offsets));
    tensors.push_back(tensor(sequence_tensor_name(m), StDType::kF32,
                             {sequences[i].offsets.back(), ds.info.modality_dims[i]}, sequences[i].values));
  }

  const std::map<std::string, std::string> metadata = {
      {"format", kDatasetFileFormat},
      {"format_version", std::to_string(file_version_for(ds.info))},
      {"info", dump_json(info_to_json(ds.info), "info")},
      {"dialogue_ids", dump_json(dialogue_ids, "dialogue_ids")},
      {"utterance_ids", dump_json(utterance_ids, "utterance_ids")},
      {"speaker_names", dump_json(speaker_names, "speaker_names")},
      {"transcripts", dump_json(transcripts, "transcripts")},
      {"splits", dump_json(splits_to_json(ds.split_schemes), "splits")},
      {"warnings", dump_json(json(ds.warnings), "warnings")},
  };
  io::write_safetensors_file(path, tensors, metadata);
}

Dataset read_dataset_file(const std::string& path, bool keep_sequences) {
  using namespace dataset_file_internal;
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  const MetaReader r(f.metadata(), path);

  // 1. Format and version.
  const auto fmt_it = f.metadata().find("format");
  if (fmt_it == f.metadata().end() || fmt_it->second != kDatasetFileFormat)
    MERC_FORMAT_ERROR(path, "not a merc dataset file (__metadata__.format is {}, expected '{}')",
                      fmt_it == f.metadata().end() ? "missing" : "'" + fmt_it->second + "'", kDatasetFileFormat);
  const std::string& version = r.raw("format_version");
  if (version.empty() || version.size() > 9 || version.find_first_not_of("0123456789") != std::string::npos)
    MERC_FORMAT_ERROR(path, "__metadata__.format_version '{}' is not a version number", version);
  const int v = std::stoi(version);
  if (v > kDatasetFileVersion)
    MERC_FORMAT_ERROR(path, "dataset file format_version {} was written by a newer merc (this merc reads up to {})",
                      v, kDatasetFileVersion);
  if (v < 1) MERC_FORMAT_ERROR(path, "__metadata__.format_version {} is not a known version", v);

  // 2. Tensors: dialogue_offsets fixes the dialogue count, label the utterance count N; every
  //    other per-utterance tensor and metadata array must agree with them.
  Dataset ds;
  ds.info = info_from_json(r, r.parse("info"), v);
  const io::TensorView& off_t = expect_tensor(f, "dialogue_offsets", StDType::kI64, {-1});
  if (off_t.shape[0] < 1) r.fail("tensor 'dialogue_offsets' is empty (needs num_dialogues + 1 entries)");
  const std::vector<int64_t> offsets = copy_out<int64_t>(off_t);
  const int64_t n = expect_tensor(f, "label", StDType::kI64, {-1}).shape[0];
  if (offsets.front() != 0) r.fail("dialogue_offsets[0] is {}, expected 0", offsets.front());
  for (size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1]) r.fail("dialogue_offsets decrease at entry {} ({} after {})", i, offsets[i], offsets[i - 1]);
  if (offsets.back() != n) r.fail("dialogue_offsets end at {} but the file has {} utterances", offsets.back(), n);
  const auto nd = offsets.size() - 1;
  const auto un = static_cast<size_t>(n);

  const auto label = copy_out<int64_t>(f.tensor("label"));
  const auto speaker = copy_out<int64_t>(expect_tensor(f, "speaker", StDType::kI64, {n}));
  const auto score = copy_out<float>(expect_tensor(f, "score", StDType::kF32, {n}));
  std::vector<std::string> known = {"dialogue_offsets", "label", "speaker", "score"};
  std::array<const io::TensorView*, kNumModalities> feats{};
  for (Modality m : kAllModalities) {
    const auto i = static_cast<size_t>(index_of(m));
    const std::string name = feature_tensor_name(m);
    if (ds.info.has(m)) {
      feats[i] = &expect_tensor(f, name, StDType::kF32, {n, ds.info.modality_dims[i]});
      known.push_back(name);
    }
  }
  const io::TensorView* semantic =
      ds.info.semantic_dim > 0 ? &expect_tensor(f, "semantic", StDType::kF32, {n, ds.info.semantic_dim}) : nullptr;
  if (semantic) known.push_back("semantic");
  std::array<SequenceTensors, kNumModalities> sequences;
  for (Modality m : kAllModalities) {
    const auto i = static_cast<size_t>(index_of(m));
    if (!ds.info.has_sequences || !ds.info.has(m)) continue;
    sequences[i] = expect_sequences(f, r, m, n, ds.info.modality_dims[i]);
    known.push_back(sequence_offsets_name(m));
    known.push_back(sequence_tensor_name(m));
  }
  const io::TensorView* present = f.find("present");
  if (present) {
    expect_tensor(f, "present", StDType::kU8, {n, kNumModalities});
    for (uint64_t i = 0; i < present->size; ++i)
      if (present->data[i] > 1) r.fail("tensor 'present' holds {} at element {} (expected 0 or 1)", present->data[i], i);
    known.push_back("present");
  }
  for (const auto& t : f.tensors())
    if (std::find(known.begin(), known.end(), t.name) == known.end())
      r.fail("unexpected tensor '{}' (a modality, semantic vectors or sequences the info does not declare, or not "
             "part of format version {})", t.name, v);

  const auto dialogue_ids = r.strings("dialogue_ids", nd, "dialogues");
  const auto utterance_ids = r.strings("utterance_ids", un, "utterances");
  const auto speaker_names = r.strings("speaker_names", un, "utterances");
  const auto transcripts = r.strings("transcripts", un, "utterances");
  ds.split_schemes = splits_from_json(r, r.parse("splits"));
  const json warnings = r.parse("warnings");
  if (!warnings.is_array()) r.fail("__metadata__.warnings is not a JSON array");
  for (const auto& w : warnings) {
    if (!w.is_string()) r.fail("__metadata__.warnings entry {} is not a string", ds.warnings.size());
    ds.warnings.push_back(w.get<std::string>());
  }

  // 3. Materialise the dialogues.
  ds.dialogues.resize(nd);
  for (size_t di = 0; di < nd; ++di) {
    Dialogue& d = ds.dialogues[di];
    const auto begin = static_cast<size_t>(offsets[di]), end = static_cast<size_t>(offsets[di + 1]);
    d.id = dialogue_ids[di];
    d.utterances.resize(end - begin);
    for (size_t k = begin; k < end; ++k) {
      Utterance& u = d.utterances[k - begin];
      u.id = utterance_ids[k];
      u.speaker_name = speaker_names[k];
      u.transcript = transcripts[k];
      u.speaker = speaker[k];
      u.label = label[k];
      u.score = score[k];
    }
    for (Modality m : kAllModalities) {
      const auto i = static_cast<size_t>(index_of(m));
      if (feats[i]) d.features[i] = rows_of(*feats[i], begin, end, ds.info.modality_dims[i]);
    }
    if (semantic) d.semantic = rows_of(*semantic, begin, end, ds.info.semantic_dim);
    for (Modality m : kAllModalities) {
      const auto i = static_cast<size_t>(index_of(m));
      if (keep_sequences && sequences[i].values) d.sequences[i] = sequences_of(sequences[i], begin, end, ds.info.modality_dims[i]);
    }
    if (present) {
      const uint8_t* p = present->data + begin * kNumModalities;
      const size_t cells = (end - begin) * kNumModalities;
      // All ones means "everything present", which an empty mask already says.
      if (std::any_of(p, p + cells, [](uint8_t x) { return x == 0; })) d.present.assign(p, p + cells);
    }
  }
  if (!keep_sequences) ds.info.has_sequences = false;  // checked above, not loaded
  ds.validate(path);
  return ds;
}

bool is_merc_dataset_file(const std::string& path) {
  const auto md = io::sniff_safetensors_metadata(path);
  if (!md) return false;
  const auto it = md->find("format");
  return it != md->end() && it->second == kDatasetFileFormat;
}

}  // namespace merc::data
