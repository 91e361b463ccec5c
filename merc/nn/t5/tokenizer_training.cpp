#include "merc/nn/t5/tokenizer_training.h"

#include <unordered_map>

#include <fmt/format.h>
#include <sentencepiece_trainer.h>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"

namespace merc::nn::t5 {

namespace tokenizer_training_detail {

// Hands SentencePiece the sentences one by one (no temporary file).
class SentenceList : public sentencepiece::SentenceIterator {
 public:
  explicit SentenceList(const std::vector<std::string>& sentences) : sentences_(sentences) {}
  bool done() const override { return next_ >= sentences_.size(); }
  void Next() override { ++next_; }
  const std::string& value() const override { return sentences_[next_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& sentences_;
  size_t next_ = 0;
};

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
      {"minloglevel", "1"},  // SentencePiece logs every EM step at INFO
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
  sentencepiece::SetRandomGeneratorSeed(options.seed);
  tokenizer_training_detail::SentenceList list(sentences);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(tokenizer_training_detail::trainer_arguments(options),
                                                                 &list, &model);
  MERC_CHECK(status.ok(), "SentencePiece training on {} sentences (vocab_size {}) failed: {}", sentences.size(),
             options.vocab_size, status.ToString());
  return model;
}

std::filesystem::path train_sentencepiece(const std::vector<std::string>& sentences, const std::filesystem::path& folder,
                                          const SentencePieceTrainingOptions& options) {
  const std::string model = train_sentencepiece_model(sentences, options);
  std::filesystem::create_directories(folder);
  const std::filesystem::path path = folder / "spiece.model";
  io::write_file_atomically(path.string(), model);
  return path;
}

}  // namespace merc::nn::t5
