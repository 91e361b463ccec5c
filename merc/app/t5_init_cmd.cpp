#include "merc/app/t5_init_cmd.h"

#include <filesystem>
#include <fstream>
#include <ostream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/models/hrg_ssa.h"
#include "merc/models/hrg_ssa_samples.h"
#include "merc/nn/t5/checkpoint.h"
#include "merc/nn/t5/init.h"
#include "merc/nn/t5/model.h"
#include "merc/nn/t5/tokenizer.h"
#include "merc/nn/t5/tokenizer_training.h"
#include "merc/train/run_data.h"

namespace merc::app {

namespace fs = std::filesystem;

nn::t5::T5Config t5_size_preset(const std::string& size, int64_t vocab_size) {
  struct Preset {
    const char* name;
    int64_t d_model, layers, heads, d_kv, d_ff;
  };
  static const Preset presets[] = {
      {"tiny", 64, 2, 4, 16, 256}, {"small", 256, 4, 4, 64, 1024}, {"base", 768, 12, 12, 64, 3072}};
  for (const Preset& p : presets) {
    if (size != p.name) continue;
    nn::t5::T5Config c;
    c.vocab_size = vocab_size;
    c.d_model = p.d_model;
    c.num_layers = c.num_decoder_layers = p.layers;
    c.num_heads = p.heads;
    c.d_kv = p.d_kv;
    c.d_ff = p.d_ff;
    c.feed_forward_proj = "relu";
    c.tie_word_embeddings = true;
    return c;
  }
  throw UnknownNameError(fmt::format("unknown T5 size '{}'; known: tiny, small, base", size));
}

std::vector<std::string> dialogue_transcripts(const std::vector<const data::Dialogue*>& dialogues) {
  std::vector<std::string> out;
  for (const data::Dialogue* d : dialogues)
    for (const data::Utterance& u : d->utterances)
      if (!u.transcript.empty()) out.push_back(u.transcript);
  return out;
}

namespace t5_init_detail {

void check_out_dir(const fs::path& dir, bool force) {
  MERC_CHECK(!dir.empty(), "merc t5 init: --out DIR is required");
  if (fs::exists(dir)) {
    MERC_CHECK(fs::is_directory(dir), "merc t5 init: --out '{}' exists and is not a folder", dir.string());
    MERC_CHECK(force || fs::is_empty(dir), "merc t5 init: '{}' is not empty (pass --force to write into it)",
               dir.string());
  }
  fs::create_directories(dir);
}

void write_readme(const fs::path& dir, const T5InitArgs& args, const data::Dataset& dataset,
                  const std::string& partition, size_t sentences, size_t label_sentences, const nn::t5::T5Config& c) {
  std::ofstream f(dir / "README.txt");
  f << "A T5 made by `merc t5 init` for training FROM SCRATCH. NOT a pretrained model.\n\n"
    << "experiment: " << (args.config.config_file.empty() ? "(defaults)" : args.config.config_file) << "\n"
    << "dataset: " << dataset.info.name << " (" << dataset.info.source_format << ")\n"
    << "vocabulary: SentencePiece unigram trained on the " << sentences << " transcripts of the '" << partition
    << "' partition only"
    << (label_sentences > 0
            ? fmt::format(", with the {} label sentences and emotion forecasts of its labelled utterances (hrg_ssa)",
                          label_sentences)
            : std::string())
    << "\n"
    << fmt::format("size: {} (d_model {}, {} + {} layers, {} heads, d_kv {}, d_ff {}), vocab_size {}\n", args.size,
                   c.d_model, c.num_layers, c.num_decoder_layers, c.num_heads, c.d_kv, c.d_ff, c.vocab_size)
    << "weights: Hugging Face's T5 initialisation, seed " << args.seed << "\n";
}

}  // namespace t5_init_detail

std::vector<std::string> generative_label_sentences(const train::ExperimentConfig& config, const data::Dataset& dataset,
                                                    const train::RunData& rd) {
  const auto* hrg = dynamic_cast<const models::HrgSsaConfig*>(config.model.get());
  if (hrg == nullptr || hrg->head != "generate" || rd.task != data::Task::kClassification) return {};
  const models::hrg_ssa::LabelWords words =
      models::hrg_ssa::make_label_words(dataset.info.class_names, hrg->emotion_words, hrg->sentiment_map);
  models::hrg_ssa::SampleOptions options;
  options.emotion_first = hrg->emotion_first;
  options.speaker_template = models::hrg_ssa::parse_speaker_template(hrg->speaker_template);
  std::vector<models::hrg_ssa::TurnText> turns;
  for (const data::Dialogue* d : rd.train)
    for (const data::Utterance& u : d->utterances)
      if (u.label >= 0)
        turns.push_back({u.speaker_name, "", words.emotion[static_cast<size_t>(u.label)],
                         words.sentiment[static_cast<size_t>(u.label)]});
  return models::hrg_ssa::label_corpus(turns, options);
}

int run_t5_init(const T5InitArgs& args, std::ostream& out) {
  using namespace t5_init_detail;
  const train::ExperimentConfig config = resolve_experiment(args.config, nullptr);
  t5_size_preset(args.size, 1);  // an unknown size fails before any work
  MERC_CHECK(args.vocab >= 8, "merc t5 init: --vocab must be at least 8, got {}", args.vocab);
  const data::Dataset dataset = load_experiment_dataset(config.data, "", "");
  const train::RunData rd = train::select_partitions(dataset, config, false);
  std::vector<std::string> sentences = dialogue_transcripts(rd.train);
  MERC_CHECK(!sentences.empty(),
             "merc t5 init: dataset '{}' has no transcripts in its training partition (a T5 vocabulary is learnt "
             "from text)",
             dataset.info.name);
  const size_t transcripts = sentences.size();
  const std::vector<std::string> labels = generative_label_sentences(config, dataset, rd);
  sentences.insert(sentences.end(), labels.begin(), labels.end());
  const fs::path dir(args.out);
  check_out_dir(dir, args.force);

  nn::t5::SentencePieceTrainingOptions so;
  so.vocab_size = args.vocab;
  so.hard_vocab_limit = false;  // a small corpus supports fewer pieces: take what it gives
  nn::t5::train_sentencepiece(sentences, dir, so);
  const nn::t5::T5Tokenizer tokenizer(dir);
  const nn::t5::T5Config c = t5_size_preset(args.size, tokenizer.size());

  torch::manual_seed(args.seed);
  nn::t5::T5Model model(nn::t5::T5ModelOptions{c, -1});
  nn::t5::init_t5_weights(*model);
  nn::t5::save_t5_pretrained(*model, dir.string());
  write_readme(dir, args, dataset, "train", transcripts, labels.size(), c);

  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  out << fmt::format("wrote {}: spiece.model ({} pieces{}, from {} training transcripts), config.json ({}: {} "
                     "parameters), model.safetensors (seed {}), README.txt\n",
                     dir.string(), tokenizer.piece_count(),
                     tokenizer.piece_count() < args.vocab ? fmt::format("; {} asked, the text supports fewer", args.vocab)
                                                          : "",
                     transcripts, args.size, params, args.seed);
  return 0;
}

}  // namespace merc::app
