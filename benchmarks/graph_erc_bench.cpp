// Training-step cost of MoED and M3Net at IEMOCAP-6 shape on synthetic data (the real features
// are not in the repository): 32 dialogues of lengths 8-110 (mean about 49), text 4 x 1024 (one
// 4096-d matrix), audio 1582, visual 342, 2 speakers, 6 classes; each model's IEMOCAP config
// (configs/models/<model>.yaml defaults; M3Net at the same 32-dialogue batch for comparability).
// One step = forward + inverse-frequency weighted cross-entropy + backward + Adam step.
//
// Reports per model and thread count: median wall ms per step and CPU ms per step over --steps
// steps after one warm-up step, the time to build the graphs (edge lists + CSR indices) as a share
// of the step, the edge counts, and the process's peak RSS (getrusage ru_maxrss).
//
// Run: ./build/benchmarks/merc_bench_graph_erc --model moed --threads 2 --steps 3
// (one process per model and thread count so the peak RSS is that configuration's).
// Plain main (not Google Benchmark): steps take seconds and the numbers needed are not rates.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "merc/core/allocator.h"
#include "merc/models/m3net.h"
#include "merc/models/moed.h"
#include "merc/nn/graph/edge_propagate.h"
#include "merc/nn/graph/multimodal_edges.h"
#include "merc/train/losses.h"

namespace {

using namespace merc;

data::DialogueBatch synthetic_iemocap_batch(int64_t B) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int64_t> len_dist(8, 90);
  std::vector<int64_t> lengths(static_cast<size_t>(B));
  for (auto& l : lengths) l = len_dist(rng);
  lengths[0] = 110;  // IEMOCAP's longest dialogue
  const int64_t T = *std::max_element(lengths.begin(), lengths.end());
  data::DialogueBatch b;
  b.lengths = torch::tensor(lengths, torch::kInt64);
  b.utterance_mask = torch::arange(T).unsqueeze(0) < b.lengths.unsqueeze(1);
  const auto mask_f = b.utterance_mask.unsqueeze(-1).to(torch::kFloat);
  torch::manual_seed(2);
  const int64_t dims[3] = {4096, 1582, 342};
  for (int m = 0; m < 3; ++m) b.features[static_cast<size_t>(m)] = torch::randn({B, T, dims[m]}) * mask_f;
  b.modality_mask = b.utterance_mask.unsqueeze(-1).expand({B, T, 3}).contiguous();
  b.speaker = torch::randint(0, 2, {B, T}, torch::kInt64) * b.utterance_mask;
  b.label = torch::where(b.utterance_mask, torch::randint(0, 6, {B, T}, torch::kInt64), torch::full({B, T}, -1L));
  b.score = torch::zeros({B, T});
  for (int64_t i = 0; i < B; ++i) b.dialogue_id.push_back("d" + std::to_string(i));
  return b;
}

models::ModelDims iemocap_dims() {
  models::ModelDims d;
  d.input_dims = {4096, 1582, 342};
  d.use = {true, true, true};
  d.task = data::Task::kClassification;
  d.num_classes = 6;
  d.num_speakers = 2;
  return d;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
  core::tune_allocator();  // as the merc CLI does (MERC_MALLOC=default measures glibc's defaults)
  std::string model = "moed";
  int threads = 1, steps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
  }
  torch::set_num_threads(threads);
  const data::DialogueBatch batch = synthetic_iemocap_batch(32);
  const auto dims = iemocap_dims();
  std::shared_ptr<models::Model> net;
  std::function<void()> build_edges;  // what the forward spends on graph construction
  int64_t edges = 0;
  if (model == "moed") {
    models::MoedConfig c;
    auto m = std::make_shared<models::MoedModel>(c, dims);
    build_edges = [m, &batch, &edges] {
      auto g = m->build_graphs(batch);
      const auto a = nn::make_edge_index(g.ecg.to_tensor(), g.ecg_layout.num_nodes());
      const auto b = nn::make_edge_index(g.eig.to_tensor(), g.eig_layout.num_nodes());
      edges = a.num_edges() + b.num_edges();
      std::printf("  ECGNN %lld edges, EIGNN %lld edges, %lld nodes per graph\n", (long long)a.num_edges(),
                  (long long)b.num_edges(), (long long)g.ecg_layout.num_nodes());
    };
    net = m;
  } else {
    models::M3netConfig c;
    net = std::make_shared<models::M3netModel>(c, dims);
    build_edges = [&batch, &edges] {
      const auto layout = nn::make_block_layout(batch.lengths, 3);
      const auto inc = nn::m3net_hyperedges(layout);
      nn::EdgeList e;
      nn::add_all_pairs_edges(e, layout, {0, 1, 2});
      nn::add_intra_utterance_edges(e, layout, {0, 1, 2}, 1);
      const auto g = nn::make_edge_index(e.to_tensor(), layout.num_nodes());
      edges = g.num_edges();
      std::printf("  %lld graph edges, %lld hyperedges, %lld incidences, %lld nodes\n", (long long)g.num_edges(),
                  (long long)inc.num_hyperedges, (long long)inc.node.size(0), (long long)layout.num_nodes());
    };
  }
  std::printf("%s, %d thread(s), %lld utterances in 32 dialogues, %lld parameters\n", model.c_str(), threads,
              (long long)batch.lengths.sum().item<int64_t>(), [&] {
                int64_t n = 0;
                for (const auto& p : net->parameters()) n += p.numel();
                return (long long)n;
              }());
  build_edges();
  const std::vector<double> weights = {11.527776, 6.92492, 4.388217, 6.227232, 7.830179, 3.957763};
  const auto loss_fn = train::find_loss("cross_entropy", data::Task::kClassification, train::LossOptions{weights});
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-4).weight_decay(3e-5));
  net->train();
  std::vector<double> wall, cpu;
  for (int s = 0; s <= steps; ++s) {
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    opt.zero_grad();
    const auto out = net->forward(batch, {});
    const auto loss = loss_fn.compute(out.logits, batch);
    loss.backward();
    opt.step();
    if (s > 0) {  // step 0 is the warm-up
      wall.push_back(since(t0));
      cpu.push_back(cpu_seconds() - c0);
    }
  }
  std::vector<double> eb;
  for (int s = 0; s < 5; ++s) {
    const auto t0 = Clock::now();
    build_edges();
    eb.push_back(since(t0));
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  std::sort(eb.begin(), eb.end());
  const double step = wall[wall.size() / 2];
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  std::printf("RESULT model=%s threads=%d step_ms=%.0f (min %.0f, max %.0f) cpu_ms=%.0f edge_build_ms=%.1f "
              "edge_share=%.2f%% edges=%lld peak_rss_mb=%.0f\n",
              model.c_str(), threads, 1e3 * step, 1e3 * wall.front(), 1e3 * wall.back(), 1e3 * cpu[cpu.size() / 2],
              1e3 * eb[eb.size() / 2], 100.0 * eb[eb.size() / 2] / step, (long long)edges, u.ru_maxrss / 1024.0);
  return 0;
}
