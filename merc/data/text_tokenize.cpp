#include "merc/data/text_tokenize.h"

#include "merc/core/error.h"

namespace merc::data {
namespace {

bool is_ascii_word_char(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_utf8_continuation_byte(unsigned char c) { return (c & 0xC0) == 0x80; }

// Appends `word` to `out` without its leading/trailing apostrophes (quote marks, not contractions).
void flush_token(std::string& word, std::vector<std::string>& out) {
  size_t b = 0, e = word.size();
  while (b < e && word[b] == '\'') ++b;
  while (e > b && word[e - 1] == '\'') --e;
  if (e > b) out.emplace_back(word, b, e - b);
  word.clear();
}

}  // namespace

std::vector<std::string> tokenize_words(std::string_view text, bool lowercase) {
  std::vector<std::string> out;
  std::string word;
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (is_ascii_word_char(c)) {
        word.push_back(lowercase && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c));
      } else if (c == '\'') {
        word.push_back('\'');
      } else {
        flush_token(word, out);
      }
      ++i;
      continue;
    }
    // U+00A0 no-break space: a separator.
    if (c == 0xC2 && i + 1 < n && static_cast<unsigned char>(text[i + 1]) == 0xA0) {
      flush_token(word, out);
      i += 2;
      continue;
    }
    // U+2000..U+206F (General Punctuation) is E2 80 xx / E2 81 80..AF.
    if (c == 0xE2 && i + 2 < n) {
      const auto b1 = static_cast<unsigned char>(text[i + 1]);
      const auto b2 = static_cast<unsigned char>(text[i + 2]);
      if (is_utf8_continuation_byte(b2) && (b1 == 0x80 || (b1 == 0x81 && b2 <= 0xAF))) {
        if (b1 == 0x80 && (b2 == 0x98 || b2 == 0x99)) {
          word.push_back('\'');  // U+2018 / U+2019
        } else {
          flush_token(word, out);
        }
        i += 3;
        continue;
      }
    }
    word.push_back(static_cast<char>(c));  // any other non-ASCII byte is part of a word
    ++i;
  }
  flush_token(word, out);
  return out;
}

std::vector<std::string> word_ngrams(const std::vector<std::string>& words, int max_n) {
  std::vector<std::string> out;
  const int64_t num_words = static_cast<int64_t>(words.size());
  for (int64_t len = 1; len <= max_n; ++len) {
    for (int64_t start = 0; start + len <= num_words; ++start) {
      std::string gram = words[static_cast<size_t>(start)];
      for (int64_t k = 1; k < len; ++k) {
        gram.push_back(' ');
        gram += words[static_cast<size_t>(start + k)];
      }
      out.push_back(std::move(gram));
    }
  }
  return out;
}

std::vector<std::string> char_wb_ngrams(const std::vector<std::string>& words, int min_n, int max_n) {
  std::vector<std::string> out;
  if (max_n <= 0 || min_n > max_n) return out;
  if (min_n < 1) min_n = 1;
  std::vector<size_t> starts;  // byte offset of each code point, plus the end
  for (const auto& w : words) {
    const std::string padded = " " + w + " ";
    starts.clear();
    for (size_t i = 0; i < padded.size(); ++i)
      if (!is_utf8_continuation_byte(static_cast<unsigned char>(padded[i]))) starts.push_back(i);
    const int64_t num_chars = static_cast<int64_t>(starts.size());
    starts.push_back(padded.size());
    for (int64_t gram_len = min_n; gram_len <= max_n; ++gram_len) {
      if (num_chars <= gram_len) {  // the whole padded word, once, then no longer n-grams
        out.push_back(padded);
        break;
      }
      for (int64_t s = 0; s + gram_len <= num_chars; ++s) {
        const size_t b = starts[static_cast<size_t>(s)];
        const size_t e = starts[static_cast<size_t>(s + gram_len)];
        out.push_back(padded.substr(b, e - b));
      }
    }
  }
  return out;
}

std::vector<std::string> extract_ngrams(std::string_view text, const NgramSpec& spec) {
  const std::vector<std::string> words = tokenize_words(text, spec.lowercase);
  std::vector<std::string> out;
  for (auto& g : word_ngrams(words, spec.word_max_n)) out.push_back("w:" + g);
  for (auto& g : char_wb_ngrams(words, spec.char_min_n, spec.char_max_n)) out.push_back("c:" + g);
  return out;
}

uint64_t hash_ngram(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char ch : bytes) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ULL;
  }
  // murmur3 fmix64: every input bit affects every output bit.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

HashedFeature hash_feature(std::string_view prefixed_ngram, int hash_bits) {
  MERC_CHECK(hash_bits >= 1 && hash_bits <= 62, "hash_bits must be in [1, 62], got {}", hash_bits);
  const uint64_t h = hash_ngram(prefixed_ngram);
  const uint64_t mask = (uint64_t{1} << hash_bits) - 1;
  return {static_cast<int64_t>(h & mask), (h >> 63) ? -1.0 : 1.0};
}

}  // namespace merc::data
