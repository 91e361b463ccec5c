// Pickle parse throughput on a large IEMOCAP-layout Python 2 pickle (scripts/make_bench_pickle.py;
// the file is not in the repository). Reports bytes/s of pickle input. Run with the file already
// in the page cache (the first iteration warms it) so the number is the parser, not the disk:
//
//   /usr/bin/python3 scripts/make_bench_pickle.py /tmp/merc_bench_iemocap.pkl
//   MERC_BENCH_PICKLE=/tmp/merc_bench_iemocap.pkl build/benchmarks/merc_bench_pickle

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "merc/io/pickle.h"

namespace {

std::string bench_path() {
  const char* env = std::getenv("MERC_BENCH_PICKLE");
  return env ? env : "/tmp/merc_bench_iemocap.pkl";
}

// load_pickle_file: mmap + parse + tree teardown, what a reader pays per file.
void BM_LoadPickleFile(benchmark::State& state) {
  const std::string path = bench_path();
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("missing " + path + ": run scripts/make_bench_pickle.py").c_str());
    return;
  }
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  for (auto _ : state) {
    merc::io::PyRef root = merc::io::load_pickle_file(path);
    benchmark::DoNotOptimize(root.get());
  }
  state.SetBytesProcessed(state.iterations() * size);
}
BENCHMARK(BM_LoadPickleFile)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

// parse_pickle on bytes already in memory: the VM alone.
void BM_ParsePickleInMemory(benchmark::State& state) {
  const std::string path = bench_path();
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    state.SkipWithError(("missing " + path).c_str());
    return;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string bytes = ss.str();
  for (auto _ : state) {
    merc::io::PyRef root = merc::io::parse_pickle(bytes, path);
    benchmark::DoNotOptimize(root.get());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_ParsePickleInMemory)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();
