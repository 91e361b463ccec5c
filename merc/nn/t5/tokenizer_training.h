#pragma once
// Trains a T5-style SentencePiece model (unigram, pad 0, eos 1, unk 2, no bos) from sentences in
// memory, for T5s trained from scratch on a dataset's transcripts (no pretrained spiece.model can
// be obtained here). Deterministic: one thread, no sampling or shuffling of the input, a fixed
// random seed, so the same sentences and options give the same model bytes (tested, and equal to
// what Python's sentencepiece writes with the options of tests/fixtures/make_t5_tokenizer_fixtures.py).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace merc::nn::t5 {

struct SentencePieceTrainingOptions {
  // Pieces including pad, eos and unk; T5Tokenizer adds 100 sentinels on top. SentencePiece refuses
  // a size the sentences cannot fill ("Vocabulary size is too high") unless hard_vocab_limit is off.
  int64_t vocab_size = 8000;
  bool hard_vocab_limit = true;
  std::string normalization = "nmt_nfkc";  // T5's spiece.model rule; "identity" keeps text as is
  double character_coverage = 1.0;         // every character of the sentences gets a piece
  uint32_t seed = 42;                      // SentencePiece's global random generator
};

// The serialized model (the bytes of a spiece.model file). Throws merc::Error with SentencePiece's
// message when training fails.
std::string train_sentencepiece_model(const std::vector<std::string>& sentences,
                                      const SentencePieceTrainingOptions& options = {});

// Trains and writes `folder`/spiece.model (folder created if missing); returns the file's path.
std::filesystem::path train_sentencepiece(const std::vector<std::string>& sentences,
                                          const std::filesystem::path& folder,
                                          const SentencePieceTrainingOptions& options = {});

}  // namespace merc::nn::t5
