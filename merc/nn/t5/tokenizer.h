#pragma once
// T5's tokenizer: a SentencePiece model (`spiece.model`, read with Debian's libsentencepiece through
// the module of sentencepiece_backend.h) with
// Hugging Face's T5Tokenizer rules on top (transformers tokenization_t5.py, the slow tokenizer with
// legacy=True as t5-base uses it, and PreTrainedTokenizer's tokenize/_decode):
//  - ids: the SentencePiece pieces (T5: pad 0, eos 1, unk 2, no bos), then `extra_ids` sentinels
//    placed backwards, <extra_id_n> = vocab_size() - 1 - n, then added tokens in the order they were
//    added (HRG-SSA adds <bos_emotion>, <eos_emotion>, ... : ids vocab_size(), vocab_size() + 1, ...).
//  - encode: the text is cut at every special or added token (the longest one at the earliest
//    position), whitespace next to such a token is stripped on both sides, each remaining part is
//    SentencePiece-encoded on its own (so each gets its own "▁" word prefix), EOS is appended unless
//    the ids already end with it.
//  - decode: added tokens stand alone; runs of other tokens are SentencePiece-decoded with pad,
//    eos, unk and sentinels kept verbatim; the parts are joined with single spaces and
//    clean_up_tokenization's " ." -> "." (and similar) rules applied, so "... is <bos_emotion> happy
//    <eos_emotion>, and ..." decodes to that exact string (HRG-SSA reads the word after
//    "<bos_emotion>" from it).
// tests/fixtures/make_t5_tokenizer_fixtures.py writes these rules out in Python; the tests compare
// ids, pieces and decoded strings with it exactly.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <torch/types.h>

#include "merc/nn/t5/sentencepiece_backend.h"

namespace merc::nn::t5 {

// How decode() renders ids. The defaults suit generated sequences (decoder start pad ... EOS pad
// pad); {false, false, false, true} is Hugging Face's decode(ids) exactly.
struct DecodeOptions {
  bool skip_special_tokens = false;           // drop pad, eos, unk, sentinels and added special tokens
  bool stop_at_eos = true;                    // ignore the first EOS and everything after it
  bool skip_pad = true;                       // drop pad ids (HF keeps them as "<pad>")
  bool clean_up_tokenization_spaces = true;   // HF's default: " ." -> ".", " n't" -> "n't", ...
};

// Which end truncation keeps: kRight drops the end (Hugging Face's default), kLeft the beginning
// (the most recent dialogue history, as HRG-SSA keeps it).
enum class TruncationSide { kRight, kLeft };

struct BatchEncodeOptions {
  bool add_eos = true;
  // 0: no limit. Otherwise longer sequences are cut to max_length ids, EOS included (kept last).
  int64_t max_length = 0;
  TruncationSide truncation_side = TruncationSide::kRight;
  bool pad_to_max_length = false;  // pad every row to max_length instead of to the longest row
};

struct TokenBatch {
  torch::Tensor input_ids;       // (B, L) int64, padded on the right with pad_id()
  torch::Tensor attention_mask;  // (B, L) int64, 1 = token, 0 = padding
};

class T5Tokenizer {
 public:
  static constexpr int64_t kDefaultExtraIds = 100;

  // `path` is a spiece.model file or a Hugging Face tokenizer folder holding one, with optional
  // tokenizer_config.json ("extra_ids"), added_tokens.json ({token: id}, ids must continue the
  // vocabulary in order) and special_tokens_map.json ("additional_special_tokens": which added
  // tokens are special). extra_ids < 0: from tokenizer_config.json, else 100.
  // Throws merc::FormatError naming the file when one is missing, unreadable or inconsistent.
  explicit T5Tokenizer(const std::filesystem::path& path, int64_t extra_ids = -1);

  // Adds tokens the vocabulary does not have as new ids after size(), in order; tokens it already
  // has (pieces, sentinels, earlier additions) keep their id. All of them become special: never
  // split by encode, dropped by decode with skip_special_tokens. Returns how many ids were added.
  int64_t add_special_tokens(const std::vector<std::string>& tokens);

  int64_t size() const;         // every id: pieces + sentinels + added tokens (HF len(tokenizer))
  int64_t vocab_size() const;   // pieces + sentinels (HF vocab_size)
  int64_t piece_count() const;  // SentencePiece pieces
  int64_t extra_ids() const { return extra_ids_; }
  int64_t pad_id() const { return pad_id_; }  // also T5's decoder start token
  int64_t eos_id() const { return eos_id_; }
  int64_t unk_id() const { return unk_id_; }
  int64_t extra_id(int64_t n) const;  // id of <extra_id_n>, 0 <= n < extra_ids()

  // Token strings (pieces such as "▁the", "<bos_emotion>") without EOS.
  std::vector<std::string> tokenize(std::string_view text) const;
  std::vector<int64_t> encode(std::string_view text, bool add_eos = true) const;
  std::string decode(const std::vector<int64_t>& ids, const DecodeOptions& options = {}) const;
  TokenBatch encode_batch(const std::vector<std::string>& texts, const BatchEncodeOptions& options = {}) const;

  // Lookups throw merc::Error for a token the vocabulary does not have / an id outside [0, size()).
  // (Hugging Face silently maps unknown tokens to unk; a typo in a special token name would then
  // train against <unk>.)
  int64_t token_to_id(std::string_view token) const;
  std::string id_to_token(int64_t id) const;
  bool contains(std::string_view token) const;
  bool is_special(int64_t id) const;  // pad, eos, unk, sentinels, tokens added as special
  const std::vector<std::string>& added_tokens() const { return added_; }  // ids vocab_size()...

 private:
  struct Segment {         // a part of the text: a no-split token, or plain text between them
    std::string_view text;
    bool is_token = false;
  };
  std::vector<Segment> split(std::string_view text) const;
  std::optional<int64_t> find(std::string_view token) const;
  void add_token(const std::string& token, bool special);
  void load_folder_files(const std::filesystem::path& folder);
  std::string decode_run(const std::vector<int64_t>& ids) const;

  std::shared_ptr<const SentencePieceModel> sp_;  // const: shared by copies
  std::string model_path_;
  int64_t extra_ids_ = kDefaultExtraIds;
  int64_t pad_id_ = 0, eos_id_ = 1, unk_id_ = 2;
  std::vector<std::string> added_;                       // in id order
  std::unordered_map<std::string, int64_t> added_ids_;
  std::unordered_set<int64_t> special_ids_;              // pad, eos, unk, sentinels, added special
  // Strings encode never splits (pad/eos/unk pieces, sentinels, added tokens), by first byte,
  // longest first: the longest match wins at a position.
  std::unordered_map<char, std::vector<std::string>> no_split_;
};

}  // namespace merc::nn::t5
