// Fit and transform time of the TF-IDF + randomized-SVD text featurizer on real MELD utterances
// (../shared/data/meld/train_sent_emo.csv, 9989 train utterances). Moved here from the tests, where a
// wall-clock bound was flaky on a loaded machine. Results: docs/benchmarks.md.
//
//   build/benchmarks/merc_bench_text_featurizer            (MERC_BENCH_MELD=<csv> for another file)

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "merc/data/text_featurizer.h"
#include "merc/io/csv.h"

namespace {

std::string meld_train_path() {
  const char* env = std::getenv("MERC_BENCH_MELD");
  return env ? env : std::string(MERC_SHARED_DATA_DIR) + "/meld/train_sent_emo.csv";
}

// The Utterance column of MELD train, or empty (and the benchmark reports the missing file).
std::vector<std::string> meld_utterances(benchmark::State& state) {
  const std::string path = meld_train_path();
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("missing " + path).c_str());
    return {};
  }
  const merc::io::CsvTable table = merc::io::read_csv_file(path);
  const int64_t col = table.column("Utterance");
  std::vector<std::string> out;
  for (int64_t r = 0; r < table.num_rows(); ++r) out.push_back(table.cell(r, col));
  return out;
}

// Arguments: utterances used (0 = all), feature dimension.
void BM_TextFeaturizerFit(benchmark::State& state) {
  std::vector<std::string> texts = meld_utterances(state);
  if (texts.empty()) return;
  if (state.range(0) > 0) texts.resize(static_cast<size_t>(state.range(0)));
  merc::data::TextFeaturizerOptions options;
  options.dim = state.range(1);
  for (auto _ : state) {
    const merc::data::TextFeaturizer f = merc::data::TextFeaturizer::fit(texts, options);
    benchmark::DoNotOptimize(f.explained_variance_ratio());
  }
  state.counters["utterances"] = static_cast<double>(texts.size());
}
BENCHMARK(BM_TextFeaturizerFit)->Args({3000, 64})->Args({0, 100})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TextFeaturizerTransform(benchmark::State& state) {
  std::vector<std::string> texts = meld_utterances(state);
  if (texts.empty()) return;
  if (state.range(0) > 0) texts.resize(static_cast<size_t>(state.range(0)));
  merc::data::TextFeaturizerOptions options;
  options.dim = state.range(1);
  const merc::data::TextFeaturizer f = merc::data::TextFeaturizer::fit(texts, options);
  for (auto _ : state) {
    const merc::data::FeatureMatrix z = f.transform(texts);
    benchmark::DoNotOptimize(z.values.data());
  }
  state.counters["utterances"] = static_cast<double>(texts.size());
}
BENCHMARK(BM_TextFeaturizerTransform)->Args({3000, 64})->Args({0, 100})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
