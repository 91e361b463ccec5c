#include "merc/data/readers/feature_folders.h"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "merc/core/error.h"
#include "merc/io/npy.h"

namespace merc::data {

namespace fs = std::filesystem;

// Named (not anonymous) so that unity builds cannot mix these helpers with other readers'.
namespace feature_folders_detail {

std::vector<float> squeeze_impl(const io::NdArray& array, const std::string& path);

// One utterance's vector for one modality. `observed` is false for a face directory without a
// face of the wanted speaker (the vector is then filled with zeros once D is known).
struct UtteranceFeature {
  std::vector<float> values;
  bool observed = false;
  std::string file;  // where `values` came from, for dimension-mismatch messages
};

std::vector<int64_t> squeezed_shape(const std::vector<int64_t>& shape) {
  std::vector<int64_t> out;
  for (int64_t s : shape)
    if (s != 1) out.push_back(s);
  if (out.empty()) out.push_back(1);  // [1, 1] -> [1]: a 1-d feature, not a 0-d scalar
  return out;
}

// Average of the per-face vectors of one directory (GCNet: np.mean over stacked faces).
UtteranceFeature average_faces(const fs::path& dir, const std::string& speaker, bool by_speaker) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2) && it->path().extension() == ".npy") files.push_back(it->path());
  }
  if (ec) MERC_FORMAT_ERROR(dir.string(), "cannot list face directory: {}", ec.message());
  std::sort(files.begin(), files.end());  // GCNet iterates sorted(os.listdir(...))
  std::vector<double> sum;
  int64_t count = 0;
  UtteranceFeature out;
  for (const auto& file : files) {
    const std::string name = file.filename().string();
    if (by_speaker) {
      const bool f = name.find('F') != std::string::npos;
      const bool m = name.find('M') != std::string::npos;
      if (!f && !m)
        MERC_FORMAT_ERROR(file.string(), "face file name contains neither 'F' nor 'M', so its speaker is unknown");
      const std::string owner = f ? "F" : "M";  // GCNet tests 'F' first
      if (owner != speaker) continue;
    }
    const io::NdArray arr = io::read_npy_file(file.string());
    const std::vector<int64_t> shape = squeezed_shape(arr.shape);
    if (arr.numel() == 0 || shape.size() != 1)
      MERC_FORMAT_ERROR(file.string(), "a face feature must squeeze to [D], got shape {}", arr.shape_string());
    const std::vector<float> v = arr.to_float32();
    if (sum.empty()) {
      sum.assign(v.size(), 0.0);
      out.file = file.string();
    } else if (v.size() != sum.size()) {
      MERC_FORMAT_ERROR(file.string(), "face feature has dim {} but {} has dim {}", v.size(), out.file, sum.size());
    }
    for (size_t j = 0; j < v.size(); ++j) sum[j] += v[j];
    ++count;
  }
  if (count == 0) {
    out.file = dir.string();
    return out;  // not observed; zero-filled later
  }
  out.values.resize(sum.size());
  for (size_t j = 0; j < sum.size(); ++j) out.values[j] = static_cast<float>(sum[j] / static_cast<double>(count));
  out.observed = true;
  return out;
}

// How one folder is read: which entries an utterance may have and how they are named in errors.
struct FolderKind {
  std::string what;           // "audio feature", "semantic vector"
  bool face_dirs = false;     // <uid>/ directories of per-face files are accepted (modality folders)
  bool faces_by_speaker = false;
  bool by_dialogue = false;   // files are <dialogue id>/<uid>.npy (semantic vectors of datasets whose
                              // utterance ids repeat across dialogues)
  // Appended to the "no file for utterance" error.
  const char* missing_hint() const {
    return by_dialogue ? " (utterance ids repeat in this dataset, so each file is <dialogue id>/<uid>.npy)" : "";
  }
};

// `dialogue_id` as a relative path below a folder ("train/dia0" -> train/dia0). Every component
// must be a plain name, so that the id cannot name a path outside the folder.
fs::path dialogue_subpath(const fs::path& dir, const std::string& dialogue_id) {
  fs::path out;
  size_t start = 0;
  while (true) {
    const size_t slash = dialogue_id.find('/', start);
    const std::string part = dialogue_id.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == ".." || part.find_first_of(std::string("\\\0", 2)) != std::string::npos)
      MERC_FORMAT_ERROR(dir.string(), "dialogue id '{}' cannot name a sub-folder", dialogue_id);
    out /= part;
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

UtteranceFeature load_one(const fs::path& dir, const Utterance& utt, const FolderKind& kind) {
  // The uid comes from the label pickle: never let it name a path outside `dir`.
  if (utt.id.empty() || utt.id == "." || utt.id == ".." || utt.id.find_first_of("/\\") != std::string::npos ||
      utt.id.find('\0') != std::string::npos)
    MERC_FORMAT_ERROR(dir.string(), "utterance id '{}' cannot name a feature file", utt.id);
  const fs::path file = dir / (utt.id + ".npy");
  const fs::path sub = dir / utt.id;
  std::error_code ec;
  const bool has_file = fs::is_regular_file(file, ec);
  const bool has_dir = kind.face_dirs && fs::is_directory(sub, ec);
  if (has_file && has_dir)
    MERC_FORMAT_ERROR(dir.string(), "utterance '{}' has both {} and a directory {}; expected exactly one", utt.id,
                      file.string(), sub.string());
  if (has_dir) return average_faces(sub, utt.speaker_name, kind.faces_by_speaker);
  if (!has_file && kind.face_dirs)
    MERC_FORMAT_ERROR(dir.string(), "no features for utterance '{}': expected {} (or a face directory {}/)", utt.id,
                      file.string(), sub.string());
  if (!has_file)
    MERC_FORMAT_ERROR(dir.string(), "no {} for utterance '{}': expected {}{}", kind.what, utt.id, file.string(),
                      kind.missing_hint());
  UtteranceFeature out;
  out.values = squeeze_impl(io::read_npy_file(file.string()), file.string());
  out.observed = true;
  out.file = file.string();
  return out;
}

std::string folder_name(const fs::path& dir) {
  fs::path p = dir.lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "feats/wav2vec/" -> "wav2vec"
  return p.filename().string();
}


std::vector<float> squeeze_impl(const io::NdArray& array, const std::string& path) {
  if (array.dtype == io::DType::kObject) MERC_FORMAT_ERROR(path, "expected a numeric array, got dtype object");
  if (array.numel() == 0) MERC_FORMAT_ERROR(path, "empty feature array of shape {}", array.shape_string());
  const std::vector<int64_t> shape = squeezed_shape(array.shape);
  if (shape.size() > 2)
    MERC_FORMAT_ERROR(path, "expected a feature of shape [D] or [T, D] after squeezing, got {}", array.shape_string());
  std::vector<float> values = array.to_float32();
  if (shape.size() == 1) return values;
  const int64_t T = shape[0], D = shape[1];
  std::vector<double> sum(static_cast<size_t>(D), 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < D; ++j) sum[static_cast<size_t>(j)] += values[static_cast<size_t>(t * D + j)];
  std::vector<float> mean(static_cast<size_t>(D));
  for (int64_t j = 0; j < D; ++j)
    mean[static_cast<size_t>(j)] = static_cast<float>(sum[static_cast<size_t>(j)] / static_cast<double>(T));
  return mean;
}

// Every utterance's entry in `dir` (feats[dialogue][utterance]) and their common dim (0 when no
// utterance has an observed vector).
struct FolderVectors {
  std::vector<std::vector<UtteranceFeature>> feats;
  int64_t dim = 0;
};

FolderVectors read_folder(const Dataset& dataset, const fs::path& dir, const FolderKind& kind) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    MERC_FORMAT_ERROR(dir.string(), "{} folder does not exist or is not a directory", kind.what);
  FolderVectors out;
  out.feats.resize(dataset.dialogues.size());
  std::string dim_file;
  for (size_t d = 0; d < dataset.dialogues.size(); ++d) {
    const Dialogue& dlg = dataset.dialogues[d];
    const fs::path udir = kind.by_dialogue ? dir / dialogue_subpath(dir, dlg.id) : dir;
    for (const Utterance& utt : dlg.utterances) {
      UtteranceFeature f = load_one(udir, utt, kind);
      if (f.observed) {
        if (out.dim == 0) {
          out.dim = static_cast<int64_t>(f.values.size());
          dim_file = f.file;
        } else if (static_cast<int64_t>(f.values.size()) != out.dim) {
          MERC_FORMAT_ERROR(f.file, "{} of utterance '{}' has dim {} but {} has dim {}", kind.what, utt.id,
                            f.values.size(), dim_file, out.dim);
        }
      }
      out.feats[d].push_back(std::move(f));
    }
  }
  if (out.dim == 0 && dataset.num_utterances() > 0)
    MERC_FORMAT_ERROR(dir.string(), "no {} was found for any of the {} utterances (all face folders empty)", kind.what,
                      dataset.num_utterances());
  return out;
}

void load_impl(Dataset& dataset, const std::map<Modality, fs::path>& dirs, const FeatureFolderOptions& options) {
  for (const auto& [modality, dir] : dirs) {
    const size_t m = static_cast<size_t>(index_of(modality));
    const FolderKind kind{std::string(modality_name(modality)) + " feature", true, options.faces_by_speaker};
    const FolderVectors read = read_folder(dataset, dir, kind);
    const int64_t dim = read.dim;
    const auto& feats = read.feats;
    for (size_t d = 0; d < dataset.dialogues.size(); ++d) {
      Dialogue& dlg = dataset.dialogues[d];
      const int64_t L = dlg.length();
      FeatureMatrix mat(L, dim);
      for (int64_t u = 0; u < L; ++u) {
        const UtteranceFeature& f = feats[d][static_cast<size_t>(u)];
        if (f.observed) {
          std::copy(f.values.begin(), f.values.end(), mat.row(u));
          continue;
        }
        if (dlg.present.empty()) dlg.present.assign(static_cast<size_t>(L * kNumModalities), 1);
        dlg.present[static_cast<size_t>(u * kNumModalities) + m] = 0;
      }
      dlg.features[m] = std::move(mat);
    }
    dataset.info.modality_dims[m] = dim;
    dataset.info.modality_sources[m] = folder_name(dir);
  }
}

// True when some utterance id occurs twice (MELD and DailyDialog tables number dialogues per split
// file, so 'dia0_utt0' is in train and in dev).
bool utterance_ids_repeat(const Dataset& dataset) {
  std::unordered_set<std::string> seen;
  for (const Dialogue& d : dataset.dialogues)
    for (const Utterance& u : d.utterances)
      if (!seen.insert(u.id).second) return true;
  return false;
}

void load_semantic_impl(Dataset& dataset, const fs::path& dir) {
  const FolderKind kind{"semantic vector", false, false, utterance_ids_repeat(dataset)};
  const FolderVectors read = read_folder(dataset, dir, kind);
  for (size_t d = 0; d < dataset.dialogues.size(); ++d) {
    Dialogue& dlg = dataset.dialogues[d];
    FeatureMatrix mat(dlg.length(), read.dim);
    for (int64_t u = 0; u < dlg.length(); ++u) {
      const std::vector<float>& v = read.feats[d][static_cast<size_t>(u)].values;
      std::copy(v.begin(), v.end(), mat.row(u));
    }
    dlg.semantic = std::move(mat);
  }
  dataset.info.semantic_dim = read.dim;
  dataset.info.semantic_source = folder_name(dir);
}

}  // namespace feature_folders_detail

std::vector<float> squeeze_to_vector(const io::NdArray& array, const std::string& path) {
  return feature_folders_detail::squeeze_impl(array, path);
}
void load_feature_folders(Dataset& dataset, const std::map<Modality, fs::path>& dirs,
                          const FeatureFolderOptions& options) {
  feature_folders_detail::load_impl(dataset, dirs, options);
}
void load_semantic_folder(Dataset& dataset, const fs::path& dir) {
  feature_folders_detail::load_semantic_impl(dataset, dir);
}

}  // namespace merc::data
