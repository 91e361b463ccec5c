#include "merc/data/readers/feature_folders.h"

#include <algorithm>
#include <optional>

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

UtteranceFeature load_one(const fs::path& dir, const Utterance& utt, bool faces_by_speaker) {
  // The uid comes from the label pickle: never let it name a path outside `dir`.
  if (utt.id.empty() || utt.id == "." || utt.id == ".." || utt.id.find_first_of("/\\") != std::string::npos ||
      utt.id.find('\0') != std::string::npos)
    MERC_FORMAT_ERROR(dir.string(), "utterance id '{}' cannot name a feature file", utt.id);
  const fs::path file = dir / (utt.id + ".npy");
  const fs::path sub = dir / utt.id;
  std::error_code ec;
  const bool has_file = fs::is_regular_file(file, ec);
  const bool has_dir = fs::is_directory(sub, ec);
  if (has_file && has_dir)
    MERC_FORMAT_ERROR(dir.string(), "utterance '{}' has both {} and a directory {}; expected exactly one", utt.id,
                      file.string(), sub.string());
  if (has_dir) return average_faces(sub, utt.speaker_name, faces_by_speaker);
  if (!has_file)
    MERC_FORMAT_ERROR(dir.string(), "no features for utterance '{}': expected {} (or a face directory {}/)", utt.id,
                      file.string(), sub.string());
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

void load_impl(Dataset& dataset, const std::map<Modality, fs::path>& dirs, const FeatureFolderOptions& options) {
  for (const auto& [modality, dir] : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      MERC_FORMAT_ERROR(dir.string(), "{} feature folder does not exist or is not a directory", modality_name(modality));
    const size_t m = static_cast<size_t>(index_of(modality));

    std::vector<std::vector<UtteranceFeature>> feats(dataset.dialogues.size());
    int64_t dim = 0;
    std::string dim_file;
    for (size_t d = 0; d < dataset.dialogues.size(); ++d) {
      for (const Utterance& utt : dataset.dialogues[d].utterances) {
        UtteranceFeature f = load_one(dir, utt, options.faces_by_speaker);
        if (f.observed) {
          if (dim == 0) {
            dim = static_cast<int64_t>(f.values.size());
            dim_file = f.file;
          } else if (static_cast<int64_t>(f.values.size()) != dim) {
            MERC_FORMAT_ERROR(f.file, "{} feature of utterance '{}' has dim {} but {} has dim {}",
                              modality_name(modality), utt.id, f.values.size(), dim_file, dim);
          }
        }
        feats[d].push_back(std::move(f));
      }
    }
    if (dim == 0 && dataset.num_utterances() > 0)
      MERC_FORMAT_ERROR(dir.string(), "no {} feature was found for any of the {} utterances (all face folders empty)",
                        modality_name(modality), dataset.num_utterances());

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

}  // namespace feature_folders_detail

std::vector<float> squeeze_to_vector(const io::NdArray& array, const std::string& path) {
  return feature_folders_detail::squeeze_impl(array, path);
}
void load_feature_folders(Dataset& dataset, const std::map<Modality, fs::path>& dirs,
                          const FeatureFolderOptions& options) {
  feature_folders_detail::load_impl(dataset, dirs, options);
}

}  // namespace merc::data
