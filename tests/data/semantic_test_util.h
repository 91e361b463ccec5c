#pragma once
// Semantic-vector folders written by the tests themselves (docs/semantic_vectors.md layout:
// DIR/<uid>.npy, [K] or [T, K] float32), shared by the data and app tests.

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/io/npy.h"

namespace merc::data::semantic_testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("merc_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline io::NdArray float_npy(std::vector<int64_t> shape, const std::vector<float>& values) {
  io::NdArray a;
  a.dtype = io::DType::kFloat32;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

inline void write_vector_file(const std::filesystem::path& dir, const std::string& uid, std::vector<int64_t> shape,
                              const std::vector<float>& values) {
  io::write_npy_file((dir / (uid + ".npy")).string(), float_npy(std::move(shape), values));
}

// The vector the helpers below write for the n-th utterance (dataset order): v[j] = n + j / 8,
// exact in float32, so every row of a loaded matrix says which utterance it belongs to.
inline std::vector<float> expected_vector(int64_t n, int64_t K) {
  std::vector<float> v(static_cast<size_t>(K));
  for (int64_t j = 0; j < K; ++j) v[static_cast<size_t>(j)] = static_cast<float>(n) + static_cast<float>(j) / 8.0f;
  return v;
}

inline bool utterance_ids_are_unique(const Dataset& ds) {
  std::set<std::string> seen;
  for (const Dialogue& d : ds.dialogues)
    for (const Utterance& u : d.utterances)
      if (!seen.insert(u.id).second) return false;
  return true;
}

// One [K] file per utterance of `ds` with expected_vector(n, K), n counting utterances in dialogue
// order: DIR/<uid>.npy, or DIR/<dialogue id>/<uid>.npy when utterance ids repeat (the documented
// layout, docs/semantic_vectors.md).
inline void write_semantic_folder(const Dataset& ds, const std::filesystem::path& dir, int64_t K) {
  const bool flat = utterance_ids_are_unique(ds);
  int64_t n = 0;
  for (const Dialogue& d : ds.dialogues) {
    const std::filesystem::path sub = flat ? dir : dir / d.id;
    std::filesystem::create_directories(sub);
    for (const Utterance& u : d.utterances) write_vector_file(sub, u.id, {K}, expected_vector(n++, K));
  }
}

// True when every dialogue's semantic rows are the vectors write_semantic_folder wrote.
inline bool has_written_vectors(const Dataset& ds, int64_t K) {
  if (ds.info.semantic_dim != K) return false;
  int64_t n = 0;
  for (const Dialogue& d : ds.dialogues) {
    if (d.semantic.rows != d.length() || d.semantic.cols != K) return false;
    for (int64_t u = 0; u < d.length(); ++u)
      if (std::vector<float>(d.semantic.row(u), d.semantic.row(u) + K) != expected_vector(n++, K)) return false;
  }
  return true;
}

}  // namespace merc::data::semantic_testing
