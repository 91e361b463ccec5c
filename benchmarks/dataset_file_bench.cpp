// Reading merc's native dataset file at the size of CMU-MOSI: 93 dialogues, 2199 utterances,
// text 100 / audio 73 / visual 100 dims, ~60-character transcripts. Measures open + validate +
// materialise into a Dataset (read_dataset_file), the cost paid at the start of every run.
// Target: < 50 ms.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "merc/data/dataset_file.h"

namespace {

merc::data::Dataset mosi_sized_dataset() {
  using namespace merc::data;
  constexpr int kDialogues = 93;
  constexpr int kUtterances = 2199;
  Dataset ds;
  ds.info.name = "synthetic MOSI-sized";
  ds.info.source_format = "bench";
  ds.info.task = Task::kRegression;
  ds.info.class_names = {"negative", "positive"};
  ds.info.modality_dims = {100, 73, 100};
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> score(-3.0f, 3.0f);
  const std::string words = "well i think this movie was honestly pretty good but the ending ";
  int utt = 0;
  SplitScheme standard{"standard", {{"train", {}}, {"valid", {}}, {"test", {}}}};
  for (int d = 0; d < kDialogues; ++d) {
    // Spread 2199 utterances over 93 dialogues (23 or 24 each).
    const int len = kUtterances / kDialogues + (d < kUtterances % kDialogues ? 1 : 0);
    Dialogue dlg;
    dlg.id = "video_" + std::to_string(d);
    for (int i = 0; i < len; ++i, ++utt) {
      Utterance u;
      u.id = dlg.id + "_" + std::to_string(i);
      u.score = score(rng);
      u.label = u.score >= 0 ? 1 : 0;
      u.transcript = words.substr(static_cast<size_t>(utt % 5), 60);
      dlg.utterances.push_back(std::move(u));
    }
    for (int m = 0; m < 3; ++m) {
      dlg.features[static_cast<size_t>(m)] = FeatureMatrix(len, ds.info.modality_dims[static_cast<size_t>(m)]);
      for (float& v : dlg.features[static_cast<size_t>(m)].values) v = normal(rng);
    }
    ds.dialogues.push_back(std::move(dlg));
    standard.partitions[static_cast<size_t>(d < 52 ? 0 : d < 62 ? 1 : 2)].dialogues.push_back(d);
  }
  ds.split_schemes = {standard};
  return ds;
}

const std::string& bench_file() {
  static const std::string path = [] {
    const std::string p = (std::filesystem::temp_directory_path() /
                           ("merc_bench_mosi_" + std::to_string(::getpid()) + ".safetensors")).string();
    merc::data::write_dataset_file(mosi_sized_dataset(), p);
    return p;
  }();
  return path;
}

void BM_ReadDatasetFileMosiSized(benchmark::State& state) {
  const std::string& path = bench_file();
  for (auto _ : state) {
    merc::data::Dataset ds = merc::data::read_dataset_file(path);
    benchmark::DoNotOptimize(ds.dialogues.data());
  }
  state.counters["file_MB"] = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
}
BENCHMARK(BM_ReadDatasetFileMosiSized)->Unit(benchmark::kMillisecond);

void BM_WriteDatasetFileMosiSized(benchmark::State& state) {
  const merc::data::Dataset ds = mosi_sized_dataset();
  const std::string path = bench_file() + ".w";
  for (auto _ : state) merc::data::write_dataset_file(ds, path);
  std::filesystem::remove(path);
}
BENCHMARK(BM_WriteDatasetFileMosiSized)->Unit(benchmark::kMillisecond);

// The embedded default itself (data/mosi.safetensors, real CMU-MOSI): what `merc data inspect`
// and every training run on the default pay to open and materialise it.
void BM_ReadEmbeddedDefault(benchmark::State& state) {
  const std::string path = std::string(MERC_SOURCE_DIR) + "/data/mosi.safetensors";
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("data/mosi.safetensors not found");
    return;
  }
  for (auto _ : state) {
    merc::data::Dataset ds = merc::data::read_dataset_file(path);
    benchmark::DoNotOptimize(ds.dialogues.data());
  }
  state.counters["file_MB"] = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
}
BENCHMARK(BM_ReadEmbeddedDefault)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::filesystem::remove(bench_file());
  return 0;
}
