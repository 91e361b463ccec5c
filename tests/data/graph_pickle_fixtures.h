#pragma once
// Helpers shared by the graph pickle reader tests (fixtures: tests/fixtures/graph/, written by
// tests/fixtures/make_graph_pickle_fixtures.py).

#include <string>
#include <string_view>
#include <vector>

#include "merc/data/readers/registry.h"

namespace merc::data::testing {

inline std::string graph_fixture(const std::string& rel) { return std::string(MERC_FIXTURE_DIR) + "/graph/" + rel; }

// The fixture script's cell value: m * 1e6 + d * 1e5 + u * 1e4 + j, an integer below 2^24, so
// float32 holds it exactly and tests compare with ==.
inline float fixture_val(int m, int d, int u, int j) {
  return static_cast<float>(m * 1000000 + d * 100000 + u * 10000 + j);
}

inline Dataset read_graph(const std::string& rel, const std::string& format = "") {
  ReadOptions options;
  options.format = format;
  return read_dataset(graph_fixture(rel), options);
}

inline std::vector<std::string> partition_ids(const Dataset& ds, std::string_view partition) {
  std::vector<std::string> ids;
  for (const Dialogue* d : ds.partition(partition)) ids.push_back(d->id);
  return ids;
}

inline bool is_graph_format(std::string_view name) {
  return name.rfind("m3net-", 0) == 0 || name.rfind("graphsmile-", 0) == 0;
}

}  // namespace merc::data::testing
