#include "merc/nn/t5/tokenizer_training.h"

#include <unordered_map>

#include <fmt/format.h>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/nn/t5/sentencepiece_backend.h"

namespace merc::nn::t5 {

namespace tokenizer_training_detail {

std::unordered_map<std::string, std::string> trainer_arguments(const SentencePieceTrainingOptions& o) {
  return {
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"hard_vocab_limit", o.hard_vocab_limit ? "true" : "false"},
      {"character_coverage", fmt::format("{}", o.character_coverage)},
      {"normalization_rule_name", o.normalization},
      // T5's special pieces and ids; no bos.
      {"pad_id", "0"}, {"eos_id", "1"}, {"unk_id", "2"}, {"bos_id", "-1"},
      {"pad_piece", "<pad>"}, {"eos_piece", "</s>"}, {"unk_piece", "<unk>"},
      // Determinism: one thread (the EM sums would otherwise be accumulated in a varying order),
      // every sentence in input order (no sampling, no shuffling).
      {"num_threads", "1"}, {"input_sentence_size", "0"}, {"shuffle_input_sentence", "false"},
      {"minloglevel", "1"},  // SentencePiece logs every EM step at INFO otherwise
  };
}

}  // namespace tokenizer_training_detail

std::string train_sentencepiece_model(const std::vector<std::string>& sentences,
                                      const SentencePieceTrainingOptions& options) {
  MERC_CHECK(options.vocab_size > 3, "SentencePiece vocab_size must exceed the 3 special pieces, got {}",
             options.vocab_size);
  bool any_text = false;
  for (const auto& s : sentences) any_text = any_text || !s.empty();
  MERC_CHECK(any_text, "cannot train a SentencePiece model on {} empty sentences", sentences.size());
  std::string model, error;
  const bool ok = sentencepiece_plugin().train(tokenizer_training_detail::trainer_arguments(options), options.seed,
                                               sentences, &model, &error);
  MERC_CHECK(ok, "SentencePiece training on {} sentences (vocab_size {}) failed: {}", sentences.size(),
             options.vocab_size, error);
  return model;
}

std::filesystem::path train_sentencepiece(const std::vector<std::string>& sentences,
                                          const std::filesystem::path& folder,
                                          const SentencePieceTrainingOptions& options) {
  const std::string model = train_sentencepiece_model(sentences, options);
  std::filesystem::create_directories(folder);
  const std::filesystem::path path = folder / "spiece.model";
  io::write_file_atomically(path.string(), model);
  return path;
}

}  // namespace merc::nn::t5
