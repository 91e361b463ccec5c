// RoHyDR (models/rohydr.h), the cost of diffusion recovery inside training (issue 16 §6).
//
//   BM_RohydrStep/<missing>/<threads>: one stage-1 training step at the published MOSI shape: 32
//       clips (one-utterance dialogues) with MMSA aligned sequences of 50 steps (text 768, audio 5,
//       visual 20, regression), the default rohydr config with `sequences: true` (d 32, kernel 3 so
//       48 steps, 6 DiT blocks, 50 DDIM steps in every forward, RCAN 20 blocks). missing = 2: every
//       clip keeps one modality (an IMDer "two missing" batch: each clip samples two generators);
//       missing = 1: every clip lacks one modality; missing = 0: a complete batch (only the task
//       substep runs). The step is what the trainer does: for each of the four substeps that run,
//       zero_grad, forward, the substep's loss, backward, value clipping where the plan says, and
//       the plan's optimizer step (Adam lr 2e-3, D's Adam with weight decay 1e-5).
//       Counters: sampling_s = seconds spent in the generators' sampling loops per step (forward
//       only; their backward is part of the rest), sampling_share = sampling_s / step time.
//
// Run: ./build/benchmarks/merc_bench_rohydr (docs/benchmarks.md).

#include "benchmarks/bench_main.h"

#include <cmath>

#include <torch/torch.h>

#include "merc/data/batch.h"
#include "merc/data/missing_protocol.h"
#include "merc/models/rohydr.h"
#include "merc/train/stage_optimizers.h"

namespace {

using namespace merc;

// 32 one-clip dialogues with 50-step sequences and MMSA MOSI dims.
const data::Dataset& clips() {
  static const data::Dataset ds = [] {
    data::Dataset d;
    d.info.name = "mmsa-like";
    d.info.task = data::Task::kRegression;
    d.info.class_names = {"negative", "positive"};
    d.info.modality_dims = {768, 5, 20};
    d.info.has_sequences = true;
    torch::manual_seed(1);
    for (int i = 0; i < 32; ++i) {
      data::Dialogue dlg;
      dlg.id = "clip" + std::to_string(i);
      data::Utterance u;
      u.id = dlg.id + "_1";
      u.score = static_cast<float>(std::sin(i));
      u.label = u.score >= 0;
      dlg.utterances.push_back(u);
      for (int m = 0; m < 3; ++m) {
        const int64_t dim = d.info.modality_dims[m];
        const torch::Tensor x = torch::randn({50, dim});
        dlg.sequences[m] = data::SequenceFeatures(dim);
        dlg.sequences[m].append(x.data_ptr<float>(), 50);
        dlg.features[m] = data::FeatureMatrix(1, dim);
        const torch::Tensor mean = x.mean(0);
        std::copy(mean.data_ptr<float>(), mean.data_ptr<float>() + dim, dlg.features[m].row(0));
      }
      d.dialogues.push_back(std::move(dlg));
    }
    return d;
  }();
  return ds;
}

data::DialogueBatch batch_with(int64_t missing) {
  std::vector<const data::Dialogue*> all;
  for (const auto& d : clips().dialogues) all.push_back(&d);
  data::DialogueBatch b = data::collate(all, clips().info);
  torch::Tensor keep = torch::ones_like(b.modality_mask);
  for (int64_t i = 0; i < b.batch_size(); ++i)
    for (int64_t k = 0; k < missing; ++k) keep[i][0][(i + k) % 3] = false;  // every pattern of that size
  data::apply_missing(b, keep);
  return b;
}

void BM_RohydrStep(benchmark::State& state) {
  const int64_t missing = state.range(0);
  torch::set_num_threads(static_cast<int>(state.range(1)));
  torch::manual_seed(2);
  models::RohydrConfig c;
  c.name = "rohydr";
  c.sequences = true;
  const models::ModelDims dims = models::model_dims(clips().info, {}, data::Task::kRegression);
  auto model = std::make_shared<models::RohydrModel>(c, dims);
  model->set_stage(1);
  model->train();
  train::TrainConfig tc;
  tc.optimizer = "adam";
  tc.lr = 2e-3;
  tc.weight_decay = 0;
  train::StageOptimizers opt;
  opt.build(*model, 1, tc);
  const data::DialogueBatch b = batch_with(missing);
  const torch::Tensor target = b.score.reshape({-1});
  double sampling = 0;
  for (auto _ : state) {
    model->reset_sampling_seconds();
    for (int s = 0; s < 4; ++s) {
      const models::ForwardContext ctx{0, 1, s};
      if (!model->run_substep(b, ctx)) continue;
      model->zero_grad();
      const models::ModelOutput out = model->forward(b, ctx);
      torch::Tensor total = out.task_loss_weight * (out.logits.reshape({-1}) - target).abs().mean();
      for (const auto& [name, aux] : out.aux_losses) total = total + aux;
      total.backward();
      if (model->substep_plan(1, s).clip) torch::nn::utils::clip_grad_value_(model->parameters(), 0.6);
      opt.at(static_cast<size_t>(model->substep_plan(1, s).optimizer)).step();
    }
    sampling += model->sampling_seconds();
  }
  state.counters["sampling_s"] = benchmark::Counter(sampling, benchmark::Counter::kAvgIterations);
}

}  // namespace

BENCHMARK(BM_RohydrStep)
    ->ArgsProduct({{2, 1, 0}, {1, 2}})
    ->ArgNames({"missing", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

MERC_BENCHMARK_MAIN();
