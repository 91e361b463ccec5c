// ComP at the published CMU-MOSI shape (method_reference §5.4, perf_reference.md): batch of 32
// dialogues padded to seq_len 65 (all 65 utterances real), hidden 256, depth 4, 2 heads, dropout
// 0.5, feature dims audio 512 / text 1024 / visual 1024 (wav2vec / DeBERTa / MANet), regression,
// random:0.7 masks redrawn every iteration, Adam(lr 1e-4, weight decay 1e-5).
//
//   BM_CompStep/<threads>/<stage>: zero_grad + forward + loss (task * weight + aux) + backward +
//                                  after_backward (gradient modulator, stage 1) + Adam step
//   BM_CompEval/<threads>:         eval forward of the stage-1 path under NoGradGuard
//
// Times are wall (UseRealTime) with process CPU time alongside. Reference (the authors' Python
// code, same machine kind): stage-1 step 2347 ms, stage-0 step 2822 ms, eval 478 ms at the best
// 2-core setting. Run: ./build/benchmarks/merc_bench_comp (results in docs/benchmarks.md).

#include "benchmarks/bench_main.h"

#include <cmath>

#include <torch/torch.h>

#include "merc/data/batch.h"
#include "merc/data/missing_protocol.h"
#include "merc/models/comp.h"

namespace {

using namespace merc;

constexpr int64_t kBatch = 32, kLen = 65;

const data::Dataset& synthetic() {
  static const data::Dataset ds = [] {
    data::Dataset d;
    d.info.name = "comp_bench";
    d.info.source_format = "synthetic";
    d.info.task = data::Task::kRegression;
    d.info.num_speakers = 1;
    d.info.modality_dims = {1024, 512, 1024};  // text, audio, visual
    torch::manual_seed(7);
    for (int64_t b = 0; b < kBatch; ++b) {
      data::Dialogue dlg;
      dlg.id = "d" + std::to_string(b);
      for (int m = 0; m < data::kNumModalities; ++m) {
        dlg.features[m] = data::FeatureMatrix(kLen, d.info.modality_dims[m]);
        const auto r = torch::randn({kLen, d.info.modality_dims[m]});
        std::copy(r.data_ptr<float>(), r.data_ptr<float>() + r.numel(), dlg.features[m].values.begin());
      }
      for (int64_t u = 0; u < kLen; ++u) {
        data::Utterance utt;
        utt.id = dlg.id + "_" + std::to_string(u);
        utt.score = static_cast<float>(3.0 * std::sin(0.7 * static_cast<double>(b * kLen + u)));
        dlg.utterances.push_back(utt);
      }
      d.dialogues.push_back(std::move(dlg));
    }
    return d;
  }();
  return ds;
}

std::shared_ptr<models::CompModel> published_model() {
  models::CompConfig c;
  c.name = "comp";  // every other value is the published preset's default
  torch::manual_seed(66);
  return std::make_shared<models::CompModel>(c, models::model_dims(synthetic().info, {}, data::Task::kRegression));
}

data::DialogueBatch base_batch() {
  std::vector<const data::Dialogue*> ptrs;
  for (const auto& d : synthetic().dialogues) ptrs.push_back(&d);
  return data::collate(ptrs, synthetic().info);
}

torch::Tensor mse(const torch::Tensor& logits, const data::DialogueBatch& b) {
  return (logits.squeeze(-1) - b.score).pow(2).masked_select(b.utterance_mask).mean();
}

void BM_CompStep(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  const int stage = static_cast<int>(state.range(1));
  auto model = published_model();
  model->set_stage(stage);
  model->train();
  std::vector<torch::Tensor> params;
  for (const auto& g : model->parameter_groups(stage))
    params.insert(params.end(), g.params.begin(), g.params.end());
  torch::optim::Adam opt(params, torch::optim::AdamOptions(1e-4).weight_decay(1e-5));
  const data::DialogueBatch base = base_batch();
  auto protocol = data::make_missing_protocol("random:0.7", 66);
  const models::ForwardContext ctx{0, stage, 0};
  for (auto _ : state) {
    data::DialogueBatch batch = base;
    data::apply_missing(batch, protocol->draw(batch, {}));
    opt.zero_grad();
    const auto out = model->forward(batch, ctx);
    torch::Tensor loss = mse(out.logits, batch) * out.task_loss_weight;
    for (const auto& [_, aux] : out.aux_losses) loss = loss + aux;
    loss.backward();
    model->after_backward(ctx, out);
    opt.step();
  }
}

void BM_CompEval(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  auto model = published_model();
  model->set_stage(1);
  model->eval();
  const data::DialogueBatch base = base_batch();
  auto protocol = data::make_missing_protocol("random:0.7", 66);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    data::DialogueBatch batch = base;
    data::apply_missing(batch, protocol->draw(batch, {}));
    benchmark::DoNotOptimize(model->forward(batch, models::ForwardContext{0, 1, 0}).logits.data_ptr());
  }
}

}  // namespace

BENCHMARK(BM_CompStep)
    ->ArgNames({"threads", "stage"})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->MinWarmUpTime(2.0)
    ->MinTime(4.0);
BENCHMARK(BM_CompEval)
    ->ArgNames({"threads"})
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->MinWarmUpTime(1.0)
    ->MinTime(2.0);

MERC_BENCHMARK_MAIN()
