#pragma once
// The tiny T5 reference folders written by tests/fixtures/make_t5_reference.py (an independent
// float64 NumPy T5): tests/fixtures/t5/<variant>/ with config.json, model.safetensors,
// pytorch_model.bin and the inputs / expected outputs as .npy.

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <torch/torch.h>

#include "merc/io/npy.h"

namespace merc::nn::t5::t5_fixtures {

inline std::filesystem::path t5_fixture(const std::string& variant) {
  return std::filesystem::path(MERC_FIXTURE_DIR) / "t5" / variant;
}

// <variant>/<name>.npy as a float64 tensor (the reference's precision).
inline torch::Tensor npy_double(const std::string& variant, const std::string& name) {
  const io::NdArray a = io::read_npy_file((t5_fixture(variant) / (name + ".npy")).string());
  std::vector<double> v = a.to_float64();
  return torch::from_blob(v.data(), a.shape, torch::kDouble).clone();
}

// <variant>/<name>.npy as an int64 tensor (ids, masks, labels, tokens).
inline torch::Tensor npy_long(const std::string& variant, const std::string& name) {
  const io::NdArray a = io::read_npy_file((t5_fixture(variant) / (name + ".npy")).string());
  std::vector<int64_t> v = a.to_int64();
  return torch::from_blob(v.data(), a.shape, torch::kLong).clone();
}

// A scratch folder for one test, removed first.
inline std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("merc_t5_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace merc::nn::t5::t5_fixtures
