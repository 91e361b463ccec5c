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
//       in, 8 x 40 out): forward, LM loss, backward, AdamW step.
//   BM_HrgSsaStep/<threads>: one training step of hrg_ssa's generative variant at the published
//       IEMOCAP command's shape: t5-base sizes (random weights), window 8, 1 GAT layer, 6-block node
//       encoders, audio 1582 + visual 342, one dialogue of 9 utterances (5-word transcripts: ~25
//       tokens with the 256-piece test vocabulary, about what a 20-word IEMOCAP utterance is in
//       t5-base's; the last turn's history ~225 tokens): its 9 utterances are the targets, about the
//       release's step (one turn index of 8 dialogues: 8 targets). merc trains whole dialogues, so a
//       batch of 8 IEMOCAP dialogues (~50 turns each) is ~50 such steps' work and memory: at t5-base
//       size that needs a GPU (8 x 9 targets with 20-word transcripts ran out of this machine's 23
//       GB; 9 targets peak at 11 GB). The vocabulary is
//       the test tokenizer's 366 ids (no 32k SentencePiece model can be made here), so the LM head is
//       narrower than t5-base's 32110: BM_T5TrainStep has the full head. Counter utterances_per_s.
//
// Run: ./build/benchmarks/merc_bench_t5 (docs/benchmarks.md).

#include "benchmarks/bench_main.h"

#include <torch/torch.h>

#include <filesystem>

#include "merc/data/batch.h"
#include "merc/models/hrg_ssa_generative.h"
#include "merc/nn/t5/checkpoint.h"
#include "merc/nn/t5/config.h"
#include "merc/nn/t5/generate.h"
#include "merc/nn/t5/model.h"
#include "merc/nn/t5/tokenizer.h"

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

// A t5-base-sized folder with the test tokenizer (written once per process to a temporary folder).
std::string t5_base_dir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    const fs::path d = fs::temp_directory_path() / "merc_bench_t5_base";
    fs::remove_all(d);
    fs::create_directories(d);
    fs::copy_file(fs::path(MERC_SOURCE_DIR) / "tests/fixtures/t5_tokenizer/spiece.model", d / "spiece.model");
    T5Config c = t5_base();
    c.vocab_size = T5Tokenizer(d).size();
    torch::manual_seed(1);
    T5Model m(T5ModelOptions{c, -1});
    save_t5_pretrained(*m, d.string());
    return d.string();
  }();
  return dir;
}

// One dialogue of 9 utterances, two speakers, 5-word transcripts, IEMOCAP's audio/visual widths.
merc::data::Dataset iemocap_like() {
  using namespace merc::data;
  Dataset ds;
  ds.info.name = "iemocap-like";
  ds.info.class_names = {"hap", "sad", "neu", "ang", "exc", "fru"};
  ds.info.num_speakers = 2;
  ds.info.modality_dims = {100, 1582, 342};
  const char* words[] = {"i", "think", "that", "you", "really", "do", "not", "know", "what", "it", "was", "like"};
  torch::manual_seed(2);
  for (int d = 0; d < 1; ++d) {
    Dialogue dlg;
    dlg.id = "d" + std::to_string(d);
    for (int m = 0; m < 3; ++m) dlg.features[m] = FeatureMatrix(9, ds.info.modality_dims[m]);
    for (int u = 0; u < 9; ++u) {
      Utterance utt;
      utt.id = dlg.id + "_" + std::to_string(u);
      utt.speaker = u % 2;
      utt.speaker_name = u % 2 ? "F" : "M";
      utt.label = (d + u) % 6;
      for (int w = 0; w < 5; ++w) utt.transcript += std::string(w ? " " : "") + words[(d * 7 + u * 3 + w) % 12];
      dlg.utterances.push_back(utt);
      for (int m = 0; m < 3; ++m) {
        const torch::Tensor x = torch::randn({ds.info.modality_dims[m]});
        std::copy(x.data_ptr<float>(), x.data_ptr<float>() + x.numel(), dlg.features[m].row(u));
      }
    }
    ds.dialogues.push_back(std::move(dlg));
  }
  return ds;
}

void BM_HrgSsaStep(benchmark::State& state) {
  using namespace merc;
  torch::set_num_threads(static_cast<int>(state.range(0)));
  const data::Dataset ds = iemocap_like();
  models::HrgSsaConfig c;
  c.name = "hrg_ssa";
  c.text_encoder = "t5";
  c.head = "generate";
  c.t5_dir = t5_base_dir();
  c.window = 8;
  c.gat_layers = 1;
  c.node_layers = 6;
  c.speaker_template = "gender";
  c.emotion_words = {"happiness", "sadness", "neutral", "anger", "excitement", "frustration"};
  c.sentiment_map = {2, 0, 1, 0, 2, 0};
  torch::manual_seed(3);
  models::HrgSsaGenerativeModel model(c, models::model_dims(ds.info, {}, data::Task::kClassification));
  model.train();
  torch::optim::AdamW opt(model.parameters(), torch::optim::AdamWOptions(5e-5));
  std::vector<const data::Dialogue*> all;
  for (const auto& d : ds.dialogues) all.push_back(&d);
  const data::DialogueBatch batch = data::collate(all, ds.info);
  for (auto _ : state) {
    opt.zero_grad();
    const models::ModelOutput out = model.forward(batch, {});
    torch::Tensor loss = out.aux_losses.at("lm");
    for (const char* k : {"con_u", "con_c"}) loss = loss + out.aux_losses.at(k);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model.parameters(), 1.0);
    opt.step();
  }
  state.counters["utterances_per_s"] = benchmark::Counter(9.0, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_T5EncoderForward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_T5DecoderForward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_T5Generate)->Args({1, 1})->Args({0, 1})->Args({1, 2})->Args({0, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_T5TrainStep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_HrgSsaStep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

MERC_BENCHMARK_MAIN();
