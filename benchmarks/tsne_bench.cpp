// t-SNE, Barnes-Hut, at the size of issue 18's speed requirement: 10 000 points x 512 dims in 10
// Gaussian clusters, perplexity 30, theta 0.5, PCA init, learning rate auto, 1000 iterations (250
// exaggerated), side by side with scikit-learn 1.2's TSNE on the same file and threads
// (scripts/bench_tsne_sklearn.py).
//
//   BM_TsneBarnesHut/<threads>: the whole tsne() call (neighbours, P, init, 1000 iterations);
//                               counters: kl (final Barnes-Hut KL estimate), seconds per phase
//
// Data: /usr/bin/python3 scripts/bench_tsne_sklearn.py make-data /tmp/tsne_bench_x.npy
// (MERC_TSNE_BENCH_DATA names another file). Run:
//   ./build/benchmarks/merc_bench_tsne --benchmark_filter=BM_TsneBarnesHut
// Results and the sklearn commands: docs/analysis/tsne.md.

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "benchmarks/bench_main.h"
#include "merc/analysis/tsne.h"
#include "merc/io/npy.h"

namespace {

using namespace merc;

std::string data_path() {
  const char* env = std::getenv("MERC_TSNE_BENCH_DATA");
  return env ? env : "/tmp/tsne_bench_x.npy";
}

void BM_TsneBarnesHut(benchmark::State& state) {
  const std::string path = data_path();
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("no benchmark data " + path + "; run scripts/bench_tsne_sklearn.py make-data").c_str());
    return;
  }
  const io::NdArray a = io::read_npy_file(path);
  std::vector<float> v = a.to_float32();
  const torch::Tensor x = torch::from_blob(v.data(), {a.shape[0], a.shape[1]}, torch::kFloat32).clone();
  const int saved = at::get_num_threads();
  at::set_num_threads(static_cast<int>(state.range(0)));
  analysis::TsneOptions o;  // sklearn's defaults: perplexity 30, theta 0.5, PCA, lr auto, 1000 iterations
  o.seed = 0;
  analysis::TsneResult r;
  for (auto _ : state) r = analysis::tsne(x, o);
  at::set_num_threads(saved);
  state.counters["kl"] = r.kl_divergence;
  state.counters["iterations"] = static_cast<double>(r.iterations);
  state.counters["neighbors_s"] = r.seconds.neighbors;
  state.counters["affinities_s"] = r.seconds.affinities;
  state.counters["init_s"] = r.seconds.init;
  state.counters["optimize_s"] = r.seconds.exaggerated + r.seconds.final;
}
BENCHMARK(BM_TsneBarnesHut)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kSecond);

}  // namespace

MERC_BENCHMARK_MAIN();
