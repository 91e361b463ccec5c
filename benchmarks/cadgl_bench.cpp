// CADGL (models/cadgl.h), the cost of its graph neural ODE (issue 15 §5).
//
//   BM_CadglStep/<method>/<threads>: one training step (zero_grad + forward + task loss + aux losses +
//       backward + AdamW step) on a CMU-MOSI batch: the first 32 videos of the embedded dataset
//       (merc's default data, text 100 / audio 73 / visual 100, regression), random:0.3 masks redrawn
//       every iteration, the default cadgl config (hidden 512, 3 stacked ODE blocks) except the
//       solver: method 0 = dopri5 at the model defaults (rtol 1e-3, atol 1e-4), 1 = dopri5 at
//       torchdiffeq's defaults (rtol 1e-7, atol 1e-9, what the draft ran), 2 = rk4 with one step, 3 =
//       rk4 with step 0.25. Counters: nfe = evaluations of the ODE function per forward, summed over
//       the blocks (the backward of plain back-propagation re-traverses the same graph, no new
//       evaluations).
//
//   --memory=backprop|adjoint [--method=dopri5|rk4] (run as its own process, not a benchmark): one
//       training step of the default model on 32 synthetic dialogues of 110 utterances (IEMOCAP-like
//       length) with MOSI's feature dims, printing the peak resident set size (getrusage ru_maxrss)
//       before and after the step. The difference is the step's peak memory; the process is fresh,
//       so allocator caching from other runs does not hide it.
//
// Run: ./build/benchmarks/merc_bench_cadgl and the two --memory commands (docs/benchmarks.md).

#include "benchmarks/bench_main.h"

#include <sys/resource.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <string>

#include <torch/torch.h>

#include "merc/app/default_dataset.h"
#include "merc/data/batch.h"
#include "merc/data/dataset_file.h"
#include "merc/data/missing_protocol.h"
#include "merc/models/cadgl.h"

namespace {

using namespace merc;

const data::Dataset& mosi() {
  static const data::Dataset ds = data::read_dataset_file(app::default_dataset_path().string());
  return ds;
}

models::CadglConfig method_config(int64_t method) {
  models::CadglConfig c;
  c.name = "cadgl";
  if (method == 1) {
    c.rtol = 1e-7;
    c.atol = 1e-9;
  } else if (method >= 2) {
    c.ode_method = "rk4";
    c.step_size = method == 3 ? 0.25 : 0.0;
  }
  return c;
}

torch::Tensor mse(const torch::Tensor& logits, const data::DialogueBatch& b) {
  const torch::Tensor mask = b.utterance_mask & torch::isfinite(b.score);
  return (logits.squeeze(-1) - torch::nan_to_num(b.score)).pow(2).masked_select(mask).mean();
}

// One training step; returns the NFE of the forward.
int64_t train_step(models::CadglModel& model, torch::optim::Optimizer& opt, data::DialogueBatch batch,
                   data::MissingProtocol& protocol) {
  data::apply_missing(batch, protocol.draw(batch, {}));
  opt.zero_grad();
  const models::ModelOutput out = model.forward(batch, {});
  const int64_t nfe = model.ode_stats().nfe;
  torch::Tensor loss = mse(out.logits, batch);
  for (const auto& [_, aux] : out.aux_losses) loss = loss + aux;
  loss.backward();
  opt.step();
  return nfe;
}

void BM_CadglStep(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(1)));
  std::vector<const data::Dialogue*> ptrs;
  for (size_t i = 0; i < 32 && i < mosi().dialogues.size(); ++i) ptrs.push_back(&mosi().dialogues[i]);
  const data::DialogueBatch base = data::collate(ptrs, mosi().info);
  torch::manual_seed(1);
  models::CadglModel model(method_config(state.range(0)), models::model_dims(mosi().info, {}, data::Task::kRegression));
  model.train();
  torch::optim::AdamW opt(model.parameters(), torch::optim::AdamWOptions(1e-4).weight_decay(1e-5));
  auto protocol = data::make_missing_protocol("random:0.3", 1);
  int64_t nfe = 0, steps = 0;
  for (auto _ : state) {
    nfe += train_step(model, opt, base, *protocol);
    ++steps;
  }
  state.counters["nfe"] = static_cast<double>(nfe) / static_cast<double>(steps);
  state.counters["utterances"] = static_cast<double>(base.utterance_mask.sum().item<int64_t>());
}

long max_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// 32 dialogues x 110 utterances, MOSI dims, two alternating speakers, smooth pseudo-random features.
data::Dataset long_dialogues() {
  data::Dataset d;
  d.info = mosi().info;
  d.info.num_speakers = 2;
  torch::manual_seed(3);
  for (int64_t b = 0; b < 32; ++b) {
    data::Dialogue dlg;
    dlg.id = "d" + std::to_string(b);
    for (int m = 0; m < data::kNumModalities; ++m) {
      if (d.info.modality_dims[m] == 0) continue;
      dlg.features[m] = data::FeatureMatrix(110, d.info.modality_dims[m]);
      const auto r = torch::randn({110, d.info.modality_dims[m]});
      std::memcpy(dlg.features[m].values.data(), r.data_ptr<float>(), sizeof(float) * r.numel());
    }
    for (int64_t u = 0; u < 110; ++u) {
      data::Utterance utt;
      utt.id = dlg.id + "_" + std::to_string(u);
      utt.speaker = u % 2;
      utt.score = static_cast<float>(3.0 * std::sin(0.37 * static_cast<double>(b * 110 + u)));
      dlg.utterances.push_back(utt);
    }
    d.dialogues.push_back(std::move(dlg));
  }
  return d;
}

int memory_run(const std::string& mode, const std::string& method) {
  torch::set_num_threads(2);
  const data::Dataset ds = long_dialogues();
  std::vector<const data::Dialogue*> ptrs;
  for (const auto& d : ds.dialogues) ptrs.push_back(&d);
  const data::DialogueBatch batch = data::collate(ptrs, ds.info);
  models::CadglConfig c = method_config(method == "rk4" ? 2 : 0);
  c.adjoint = mode == "adjoint";
  torch::manual_seed(1);
  models::CadglModel model(c, models::model_dims(ds.info, {}, data::Task::kRegression));
  model.train();
  torch::optim::AdamW opt(model.parameters(), torch::optim::AdamWOptions(1e-4).weight_decay(1e-5));
  auto protocol = data::make_missing_protocol("random:0.3", 1);
  const long before = max_rss_kb();
  const int64_t nfe = train_step(model, opt, batch, *protocol);
  const long after = max_rss_kb();
  std::cout << "cadgl memory: mode " << mode << ", method " << method << ", 32 x 110 utterances, nfe " << nfe
            << ", accepted steps " << model.ode_stats().accepted_steps << ": peak RSS before the step "
            << before / 1024 << " MiB, after " << after / 1024 << " MiB, step peak +" << (after - before) / 1024
            << " MiB\n";
  return 0;
}

}  // namespace

BENCHMARK(BM_CadglStep)
    ->ArgNames({"method", "threads"})
    ->Args({0, 1})
    ->Args({0, 2})
    ->Args({1, 2})
    ->Args({2, 2})
    ->Args({3, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->MinWarmUpTime(1.0)
    ->MinTime(3.0);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--memory=", 0) == 0) {
      std::string method = "dopri5";
      for (int j = 1; j < argc; ++j)
        if (std::string(argv[j]).rfind("--method=", 0) == 0) method = std::string(argv[j]).substr(9);
      merc::core::tune_allocator();
      return memory_run(a.substr(9), method);
    }
  }
  merc::core::tune_allocator();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
