// Overhead pieces: parameter counts with a frozen parameter, the latency statistics on given
// samples, the /proc reader, the dummy batch, and measure_overhead on a model whose FLOPs and
// sample counts are known.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/analysis/overhead.h"
#include "merc/core/error.h"

namespace merc::analysis {
namespace overhead_test_detail {

// logits = Linear(D_text -> C) of the text features: (B, T, C).
class TextLinear final : public models::Model {
 public:
  TextLinear(int64_t in, int64_t classes) : models::Model("text_linear") {
    linear_ = register_module("linear", torch::nn::Linear(in, classes));
  }
  models::ModelOutput forward(const data::DialogueBatch& batch, const models::ForwardContext&) override {
    models::ModelOutput out;
    out.logits = linear_->forward(batch.features[0]);
    return out;
  }

 private:
  torch::nn::Linear linear_{nullptr};
};

models::ModelDims text_dims(int64_t in, int64_t classes) {
  models::ModelDims d;
  d.input_dims = {in, 0, 0};  // text only (Modality order: text, audio, visual)
  d.use = {true, false, false};
  d.num_classes = classes;
  d.num_speakers = 2;
  return d;
}

}  // namespace overhead_test_detail

namespace {

using namespace overhead_test_detail;

TEST(Overhead, CountsTrainableAndFrozenParametersAndBuffers) {
  torch::nn::Sequential net(torch::nn::Linear(3, 2), torch::nn::Linear(2, 1), torch::nn::BatchNorm1d(1));
  // Freeze the second linear: 2 weights + 1 bias.
  for (auto& p : net[1]->parameters()) p.set_requires_grad(false);
  const ParameterCounts c = count_parameters(*net);
  EXPECT_EQ(c.total, 3 * 2 + 2 + 2 * 1 + 1 + 2);  // + BatchNorm's weight and bias
  EXPECT_EQ(c.trainable, 3 * 2 + 2 + 2);
  EXPECT_EQ(c.frozen(), 3);
  EXPECT_EQ(c.buffers, 1 + 1 + 1);  // running mean, running var, num_batches_tracked
}

TEST(Overhead, LatencyMedianAndP95InterpolateBetweenOrderStatistics) {
  // numpy.percentile([1,2,3,4,5], 95) = 4.8; median 3. Sums of a few doubles: exact to 1e-12.
  constexpr double kExact = 1e-12;
  const LatencyStats odd = summarize_latency({5, 1, 4, 2, 3});
  EXPECT_EQ(odd.samples, 5);
  EXPECT_NEAR(odd.median_ms, 3.0, kExact);
  EXPECT_NEAR(odd.p95_ms, 4.8, kExact);
  EXPECT_NEAR(odd.mean_ms, 3.0, kExact);
  EXPECT_EQ(odd.min_ms, 1.0);
  EXPECT_EQ(odd.max_ms, 5.0);
  // numpy.percentile([1,2,3,4], [50, 95]) = 2.5, 3.85.
  const LatencyStats even = summarize_latency({4, 3, 2, 1});
  EXPECT_NEAR(even.median_ms, 2.5, kExact);
  EXPECT_NEAR(even.p95_ms, 3.85, kExact);
  EXPECT_NEAR(summarize_latency({7}).p95_ms, 7.0, kExact);
  EXPECT_THROW(summarize_latency({}), merc::Error);
}

TEST(Overhead, ReadsThisProcesssResidentMemory) {
  const ProcessMemory m = read_process_memory();
  EXPECT_GT(m.rss_bytes, 0);
  EXPECT_GE(m.hwm_bytes, m.rss_bytes);  // the peak is never below the current resident size
}

TEST(Overhead, DummyBatchIsMoEDsShape) {
  const data::DialogueBatch b = dummy_batch(text_dims(6, 3), 40, 1);
  EXPECT_EQ(b.features[0].sizes(), (std::vector<int64_t>{1, 40, 6}));
  EXPECT_FALSE(b.features[1].defined());
  EXPECT_EQ(b.utterance_mask.sum().item<int64_t>(), 40);
  EXPECT_EQ(b.modality_mask.sizes(), (std::vector<int64_t>{1, 40, 3}));
  EXPECT_EQ(b.modality_mask.select(2, 0).sum().item<int64_t>(), 40);
  EXPECT_EQ(b.modality_mask.select(2, 1).sum().item<int64_t>(), 0);
  EXPECT_EQ(b.speaker.max().item<int64_t>(), 1);
  EXPECT_EQ(b.max_length(), 40);
}

TEST(Overhead, MeasuresSamplesAndFlopsOfEveryInput) {
  TextLinear model(6, 3);
  std::vector<OverheadInput> inputs;
  for (int64_t t : {4, 10}) inputs.push_back({dummy_batch(text_dims(6, 3), t, 2), t});
  OverheadSettings s;
  s.warmup = 1;
  s.repeats = 3;
  const OverheadReport r = measure_overhead(model, inputs, models::ForwardContext{}, s);
  EXPECT_EQ(r.per_dialogue.samples, 3 * 2);
  EXPECT_EQ(r.per_utterance.samples, 3 * 2);
  EXPECT_GT(r.per_dialogue.median_ms, 0.0);
  EXPECT_LE(r.per_utterance.median_ms, r.per_dialogue.median_ms);  // divided by >= 4 utterances
  EXPECT_EQ(r.dialogues, 2);
  EXPECT_EQ(r.utterances, 14);
  EXPECT_EQ(r.max_length, 10);
  EXPECT_EQ(r.batch_size, 1);
  EXPECT_EQ(r.params.total, 6 * 3 + 3);
  // One counted forward per input: (4 + 10) rows of a 6 -> 3 linear.
  EXPECT_EQ(r.flops.macs, 14 * 6 * 3);
  EXPECT_NEAR(r.macs_per_utterance(), 6.0 * 3.0, 1e-12);
  EXPECT_EQ(r.memory.source, "process_rss");
  EXPECT_GT(r.memory.baseline_bytes, 0);
  EXPECT_GT(r.threads, 0);
  EXPECT_EQ(r.device, "cpu");
  EXPECT_THROW(measure_overhead(model, {}, models::ForwardContext{}, s), merc::Error);
}

}  // namespace
}  // namespace merc::analysis
