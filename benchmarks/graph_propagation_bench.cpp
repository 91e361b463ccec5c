// Normalised-adjacency propagation at IEMOCAP sizes, forward + backward of one propagation: sparse
// (gather, scale, index_add_), the public codes' whole dense (M, M) matrix product, and merc's
// block-diagonal form (one dense block per dialogue, batched matmul, padded to the longest).
// 16 dialogues with lengths spread over IEMOCAP's range 8..110 (mean 48). GraphSmile: 2 blocks,
// window 17/17, H = 512. MMGCN: 3 blocks, intra-modal fully connected, H = 100.

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "merc/nn/graph/heter_window_edges.h"
#include "merc/nn/graph/mmgcn_graph.h"
#include "merc/nn/graph/normalized_adjacency.h"

namespace {

struct Case {
  merc::nn::NormalizedAdjacency adj;
  torch::Tensor dense;
  merc::nn::NodeGroups groups;
  int64_t hidden;
};

Case make_case(bool mmgcn) {
  torch::manual_seed(0);
  const torch::Tensor lengths =
      torch::tensor({110, 95, 80, 70, 60, 55, 50, 45, 40, 35, 30, 25, 20, 15, 10, 8}, torch::kInt64);
  const int64_t N = lengths.sum().item<int64_t>();
  Case c;
  c.groups = merc::nn::dialogue_groups(lengths, mmgcn ? 3 : 2);
  if (mmgcn) {
    std::vector<torch::Tensor> blocks = {torch::randn({N, 200}), torch::randn({N, 200}), torch::randn({N, 200})};
    c.adj = merc::nn::mmgcn_adjacency(blocks, lengths);
    c.hidden = 100;
  } else {
    c.adj = merc::nn::normalize_adjacency(merc::nn::heter_window_edges(lengths, 2, 17, 17), {}, 2 * N);
    c.hidden = 512;
  }
  c.dense = merc::nn::dense_matrix(c.adj);
  return c;
}

void run(benchmark::State& state, bool mmgcn, int kind) {
  torch::set_num_threads(1);
  const Case c = make_case(mmgcn);
  const int64_t M = c.adj.num_nodes;
  merc::nn::NormalizedAdjacency sparse = c.adj;
  sparse.blocks = torch::Tensor();
  const merc::nn::NormalizedAdjacency blocks = merc::nn::block_diagonal(sparse, c.groups);
  for (auto _ : state) {
    torch::Tensor x = torch::randn({M, c.hidden}, torch::requires_grad());
    torch::Tensor y;
    if (kind == 0) y = merc::nn::propagate(sparse, x);
    if (kind == 1) y = c.dense.mm(x);
    if (kind == 2) y = merc::nn::propagate(blocks, x);
    y.sum().backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
  }
}

void BM_GraphSmileSparse(benchmark::State& s) { run(s, false, 0); }
void BM_GraphSmileDense(benchmark::State& s) { run(s, false, 1); }
void BM_GraphSmileBlockDiagonal(benchmark::State& s) { run(s, false, 2); }
void BM_MmgcnSparse(benchmark::State& s) { run(s, true, 0); }
void BM_MmgcnDense(benchmark::State& s) { run(s, true, 1); }
void BM_MmgcnBlockDiagonal(benchmark::State& s) { run(s, true, 2); }
BENCHMARK(BM_GraphSmileSparse)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraphSmileDense)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraphSmileBlockDiagonal)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MmgcnSparse)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MmgcnDense)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MmgcnBlockDiagonal)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
