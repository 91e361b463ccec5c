#pragma once
// Loading reference-module fixtures written by tests/fixtures/make_*_fixtures.py: one .npy per
// state_dict tensor under <dir>/params/<key>.npy and the full key list (buffers included) in
// <dir>/keys.txt. merc modules whose parameter names equal the reference keys load them by name.

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/io/npy.h"

namespace merc::nn::testing {

inline std::filesystem::path fixture_path(const std::string& relative) {
  return std::filesystem::path(MERC_FIXTURE_DIR) / relative;
}

// An .npy file as a float32 tensor of its shape.
inline torch::Tensor load_npy(const std::filesystem::path& path) {
  const io::NdArray a = io::read_npy_file(path.string());
  std::vector<float> v = a.to_float32();
  return torch::from_blob(v.data(), a.shape, torch::kFloat).clone();
}

inline std::vector<std::string> read_keys(const std::filesystem::path& dir) {
  std::ifstream in(dir / "keys.txt");
  std::vector<std::string> keys;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) keys.push_back(line);
  return keys;
}

// Every reference key is a parameter of `module` except those in `ignored`, and every parameter is
// a reference key: the name mapping is the identity.
inline void expect_same_names(const torch::nn::Module& module, const std::filesystem::path& dir,
                              const std::set<std::string>& ignored) {
  std::set<std::string> reference;
  for (const auto& k : read_keys(dir))
    if (!ignored.count(k)) reference.insert(k);
  std::set<std::string> ours;
  for (const auto& p : module.named_parameters()) ours.insert(p.key());
  ASSERT_FALSE(reference.empty()) << "no keys.txt in " << dir;
  EXPECT_EQ(ours, reference);
}

// Copies <dir>/params/<name>.npy into each parameter of `module`.
inline void load_params(torch::nn::Module& module, const std::filesystem::path& dir) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    const torch::Tensor t = load_npy(dir / "params" / (p.key() + ".npy"));
    ASSERT_EQ(t.sizes(), p.value().sizes()) << p.key();
    p.value().copy_(t);
  }
}

}  // namespace merc::nn::testing
