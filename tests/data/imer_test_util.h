#pragma once
// Helpers for the IMER / MMSA / COSMIC reader tests (fixtures from
// tests/fixtures/make_imer_fixtures.py under tests/fixtures/imer/).

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "merc/core/error.h"
#include "merc/data/dataset.h"

namespace merc::data::testing {

inline std::filesystem::path imer_fixture(const std::string& rel) {
  return std::filesystem::path(MERC_FIXTURE_DIR) / "imer" / rel;
}

// Runs `fn`, expects a merc::FormatError whose message contains every string of `parts`.
inline void expect_format_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
    return;
  }
  ADD_FAILURE() << "no FormatError thrown";
}

inline const Dialogue& dialogue_by_id(const Dataset& ds, const std::string& id) {
  for (const auto& d : ds.dialogues)
    if (d.id == id) return d;
  throw std::runtime_error("no dialogue " + id);
}

inline std::vector<float> row_of(const Dialogue& d, Modality m, int64_t u) {
  const FeatureMatrix& f = d.features[static_cast<size_t>(index_of(m))];
  return std::vector<float>(f.row(u), f.row(u) + f.cols);
}

inline std::vector<std::string> dialogue_ids(const Dataset& ds, const std::string& partition) {
  std::vector<std::string> out;
  for (const Dialogue* d : ds.partition(partition)) out.push_back(d->id);
  return out;
}

}  // namespace merc::data::testing
