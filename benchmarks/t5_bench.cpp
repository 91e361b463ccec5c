// T5 in merc (nn/t5), at t5-base's size with random weights (issue 17 §4). Weights do not change
// the cost of a forward; random ones need no download.
//
//   BM_T5EncoderForward/<threads>: the encoder over a batch of 8 x 256 tokens (HRG-SSA's history
//       input at IEMOCAP's window 8 is ~250 tokens), eval mode, no gradients. Counter tokens_per_s.
//   BM_T5DecoderForward/<threads>: the decoder, teacher forced, over 8 x 40 target tokens (the label
//       sentence is ~35 tokens) cross-attending to 8 x 256 encoder states, plus the tied LM head
//       (32 128 words). Counter tokens_per_s (decoder tokens).
//   BM_T5Generate/<use_cache>/<threads>: greedy generation for ONE utterance (batch 1): encode 256
//       tokens, then 40 decoder steps (random weights never emit EOS before that), with or without
//       the key/value cache. Time per iteration = latency per utterance.
//   BM_T5TrainStep/<threads>: one teacher-forced training step of the whole encoder-decoder (8 x 256
//       in, 8 x 40 out): forward, LM loss, backward, AdamW step. This is the T5 part of an HRG-SSA
//       step; the node encoders and GATs come on top (the HRG-SSA step itself is measured with the
//       generative model).
//
// Run: ./build/benchmarks/merc_bench_t5 (docs/benchmarks.md).

#include "benchmarks/bench_main.h"

#include <torch/torch.h>

#include "merc/nn/t5/config.h"
#include "merc/nn/t5/generate.h"
#include "merc/nn/t5/model.h"

namespace {

using namespace merc::nn::t5;

// google-t5/t5-base's config.json.
T5Config t5_base() {
  T5Config c;
  c.vocab_size = 32128;
  c.d_model = 768;
  c.d_kv = 64;
  c.d_ff = 3072;
  c.num_layers = 12;
  c.num_decoder_layers = 12;
  c.num_heads = 12;
  c.feed_forward_proj = "relu";
  c.tie_word_embeddings = true;
  return c;
}

constexpr int64_t kBatch = 8, kSource = 256, kTarget = 40;

T5Model make_model() {
  torch::manual_seed(1);
  T5Model model(T5ModelOptions{t5_base(), -1});
  return model;
}

torch::Tensor random_ids(int64_t n, int64_t l) { return torch::randint(3, 32000, {n, l}, torch::kLong); }

void BM_T5EncoderForward(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  T5Model model = make_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor ids = random_ids(kBatch, kSource);
  for (auto _ : state) benchmark::DoNotOptimize(model->encode(EncodeInput{ids, {}, {}}));
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(kBatch * kSource), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_T5DecoderForward(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  T5Model model = make_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor memory = model->encode(EncodeInput{random_ids(kBatch, kSource), {}, {}});
  const torch::Tensor target = random_ids(kBatch, kTarget);
  for (auto _ : state) {
    DecodeInput in;
    in.input_ids = target;
    in.memory = memory;
    benchmark::DoNotOptimize(model->logits(model->decode(in).states));
  }
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(kBatch * kTarget), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_T5Generate(benchmark::State& state) {
  const bool use_cache = state.range(0) != 0;
  torch::set_num_threads(static_cast<int>(state.range(1)));
  T5Model model = make_model();
  model->eval();
  const torch::Tensor ids = random_ids(1, kSource);
  int64_t generated = 0;
  for (auto _ : state) {
    GenerateInput in;
    in.encoder = EncodeInput{ids, {}, {}};
    const GenerateOutput out = greedy_generate(*model, in, GenerateOptions{kTarget, use_cache});
    generated = out.tokens.size(1);
  }
  state.counters["generated_tokens"] = static_cast<double>(generated);
}

void BM_T5TrainStep(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  T5Model model = make_model();
  model->train();
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(3e-5));
  const torch::Tensor ids = random_ids(kBatch, kSource);
  const torch::Tensor labels = random_ids(kBatch, kTarget);
  for (auto _ : state) {
    opt.zero_grad();
    Seq2SeqInput in;
    in.encoder = EncodeInput{ids, {}, {}};
    in.labels = labels;
    const Seq2SeqOutput out = model->forward(in);
    out.loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
  }
}

BENCHMARK(BM_T5EncoderForward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_T5DecoderForward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_T5Generate)->Args({1, 1})->Args({0, 1})->Args({1, 2})->Args({0, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_T5TrainStep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

}  // namespace

MERC_BENCHMARK_MAIN();
