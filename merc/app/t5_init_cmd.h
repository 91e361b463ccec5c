#pragma once
// `merc t5 init`: a T5 folder for training FROM SCRATCH on a dataset (no pretrained T5 weights can
// be obtained in this field's offline setting): a SentencePiece vocabulary trained on the
// transcripts of the experiment's TRAINING partition (never validation or test), a config.json of
// a size preset, and model.safetensors with Hugging Face's T5 initialisation (nn/t5/init.h) from a
// seed. The folder is an ordinary Hugging Face T5 folder (model.t5_dir of hrg_ssa's generative
// variant reads it); its README.txt says it is not a pretrained model.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "merc/app/train_cmd.h"
#include "merc/data/dataset.h"
#include "merc/nn/t5/config.h"
#include "merc/train/run_data.h"

namespace merc::app {

struct T5InitArgs {
  ConfigArgs config;          // --config / --set / --data ...: the experiment whose data is read
  std::string out;            // --out DIR (required)
  std::string size = "tiny";  // --size tiny | small | base
  int64_t vocab = 4000;       // --vocab N: SentencePiece pieces wanted (capped by what the text supports)
  uint64_t seed = 1;          // --seed S: weights
  bool force = false;         // --force: write into a non-empty DIR
};

// Size presets (relu feed-forward, tied embeddings, dropout 0.1, 32 buckets / max distance 128):
//   tiny  d_model 64,  2 + 2 layers, 4 heads, d_kv 16, d_ff 256
//   small d_model 256, 4 + 4 layers, 4 heads, d_kv 64, d_ff 1024
//   base  google-t5/t5-base: d_model 768, 12 + 12 layers, 12 heads, d_kv 64, d_ff 3072
// Unknown size -> merc::UnknownNameError listing them.
nn::t5::T5Config t5_size_preset(const std::string& size, int64_t vocab_size);

// The non-empty transcripts of `dialogues`, utterance by utterance, in order.
std::vector<std::string> dialogue_transcripts(const std::vector<const data::Dialogue*>& dialogues);

// For an hrg_ssa generative experiment on a classification task: the label sentences and emotion
// forecasts of the training partition's labelled utterances (hrg_ssa::label_corpus), which the
// vocabulary must cover; empty for other experiments.
std::vector<std::string> generative_label_sentences(const train::ExperimentConfig& config, const data::Dataset& dataset,
                                                    const train::RunData& rd);

int run_t5_init(const T5InitArgs& args, std::ostream& out);

}  // namespace merc::app
