// Training throughput on the embedded CMU-MOSI default (standard split: 52 train videos, 1284
// utterances; text 100 / audio 73 / visual 100), one full training epoch per iteration with each
// model's default config (batch of train.batch_size videos, Adam, regression / MSE), at 1 and 2
// torch threads. Counter `utt/s` = training utterances per second of wall time.
//
// BM_DataPipeline times what the trainer does per epoch outside the model: shuffle, collate
// (padding into DialogueBatch tensors) and the random:0.3 missing-modality mask. Compare its
// time with an epoch's to get the share of a step spent on data (target < 10%).
//
// Run: ./build/benchmarks/merc_bench_train --benchmark_min_time=1 (OPENBLAS_NUM_THREADS=1 for the
// pthread OpenBLAS variant; results in docs/benchmarks.md).

#include "benchmarks/bench_main.h"

#include <torch/torch.h>

#include "merc/app/default_dataset.h"
#include "merc/data/batch.h"
#include "merc/data/dataset_file.h"
#include "merc/data/missing_protocol.h"
#include "merc/data/splits.h"
#include "merc/models/registry.h"
#include "merc/train/evaluate.h"
#include "merc/train/losses.h"
#include "merc/train/optimizers.h"

namespace {

using namespace merc;

const data::Dataset& mosi() {
  static const data::Dataset ds = data::read_dataset_file(app::default_dataset_path().string());
  return ds;
}

std::vector<const data::Dialogue*> train_dialogues() { return mosi().partition("train", "standard"); }

void BM_TrainEpoch(benchmark::State& state, const std::string& model_name) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  torch::manual_seed(1);
  auto config = models::make_model_config(model_name);
  const models::ModelDims dims = models::model_dims(mosi().info, {}, data::Task::kRegression);
  auto model = models::build_model(*config, dims);
  train::TrainConfig tc;
  auto opt = train::make_optimizer(tc, model->parameter_groups(0), nullptr);
  const train::TaskLoss loss = train::find_loss("mse", data::Task::kRegression);
  auto order = train_dialogues();
  data::SplitRng rng(1);
  auto protocol = data::make_missing_protocol("random:0.3", 1);
  int64_t utterances = 0;
  model->train();
  for (auto _ : state) {
    data::shuffle_in_place(order, rng);
    for (const auto& b : train::make_batches(order, tc.batch_size)) {
      data::DialogueBatch batch = data::collate(b, mosi().info);
      data::apply_missing(batch, protocol->draw(batch, {}));
      opt->zero_grad();
      const auto out = model->forward(batch, models::ForwardContext{});
      torch::Tensor l = loss.compute(out.logits, batch);
      for (const auto& [_, aux] : out.aux_losses) l = l + aux;
      l.backward();
      opt->step();
      for (const auto* d : b) utterances += d->length();
    }
  }
  state.counters["utt/s"] = benchmark::Counter(static_cast<double>(utterances), benchmark::Counter::kIsRate);
}

void BM_DataPipeline(benchmark::State& state) {
  auto order = train_dialogues();
  data::SplitRng rng(1);
  auto protocol = data::make_missing_protocol("random:0.3", 1);
  int64_t utterances = 0;
  for (auto _ : state) {
    data::shuffle_in_place(order, rng);
    for (const auto& b : train::make_batches(order, train::TrainConfig().batch_size)) {
      data::DialogueBatch batch = data::collate(b, mosi().info);
      data::apply_missing(batch, protocol->draw(batch, {}));
      benchmark::DoNotOptimize(batch.features[0].data_ptr());
      for (const auto* d : b) utterances += d->length();
    }
  }
  state.counters["utt/s"] = benchmark::Counter(static_cast<double>(utterances), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_TrainEpoch, mlp, std::string("mlp"))->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainEpoch, bc_lstm, std::string("bc_lstm"))->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainEpoch, dialogue_gcn, std::string("dialogue_gcn"))
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_DataPipeline)->Unit(benchmark::kMillisecond)->UseRealTime();

MERC_BENCHMARK_MAIN()
