#pragma once
// Tokenisation, n-gram extraction and feature hashing for the transcript featurizer
// (merc/data/text_featurizer.h). Everything here is a pure function of its input bytes: no locale,
// no standard-library hash, no Unicode tables, so a fitted featurizer gives the same features on
// every platform.
//
// Words. A word is a maximal run of word characters: ASCII letters and digits, the apostrophe, and
// every non-ASCII character (so "café" and "naïve" are single words and multibyte UTF-8 sequences
// are never split). Two exceptions, because the transcripts of this field (MELD, EmoryNLP) are
// English text with typographic punctuation:
//   - U+2018 / U+2019 (curly single quotes) become the ASCII apostrophe, so "don’t" == "don't";
//   - every other character of the General Punctuation block U+2000..U+206F (dashes, "…", curly
//     double quotes, special spaces) and U+00A0 (no-break space) separate words like ASCII
//     punctuation does.
// Apostrophes at the start or end of a word are quote marks, not contractions, and are stripped
// ("'hello'" -> "hello"); a run of only apostrophes is no word. Lowercasing is ASCII-only: without
// ICU there is no correct Unicode case folding, and the English corpora this is for need none.
//
// N-grams. Word n-grams for n = 1..word_ngram_max are the words joined by one space. Character
// n-grams are taken inside each word padded with one space on either side, like scikit-learn's
// analyzer="char_wb": " hi " gives the 3-grams " hi", "hi ". Characters are UTF-8 code points
// (a lead byte and its continuation bytes), never bytes. A padded word shorter than n contributes
// itself once, at the smallest such n in range, instead of nothing, so "a" still yields " a ".
//
// Hashing. Each n-gram is hashed with a namespace prefix ("w:" for word n-grams, "c:" for
// character n-grams, so the word "abc" and the 3-gram "abc" differ) by 64-bit FNV-1a followed by
// the murmur3 fmix64 finaliser (FNV-1a alone mixes its low bits poorly, and the bucket IS the low
// bits). bucket = low hash_bits bits; sign = +1 when bit 63 is 0, -1 otherwise. Signed hashing
// makes the inner-product error from collisions zero-mean (Weinberger et al., ICML 2009).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace merc::data {

// The words of `text` as defined above, in order. Invalid UTF-8 never fails: a stray byte >= 0x80
// is a word character like any other non-ASCII byte.
std::vector<std::string> tokenize_words(std::string_view text, bool lowercase = true);

// Word n-grams, n = 1..max_n, ordered by n then position: {"a", "b", "c", "a b", "b c"}.
std::vector<std::string> word_ngrams(const std::vector<std::string>& words, int max_n);

// Character n-grams of each space-padded word, n = min_n..max_n, ordered by word, then n, then
// position. min_n > max_n (or max_n <= 0) gives none.
std::vector<std::string> char_wb_ngrams(const std::vector<std::string>& words, int min_n, int max_n);

// Every n-gram of `text` with its namespace prefix: "w:..." (word_ngrams) then "c:..."
// (char_wb_ngrams). word_max_n <= 0 disables word n-grams, char_max_n <= 0 character n-grams.
struct NgramSpec {
  bool lowercase = true;
  int word_max_n = 2;
  int char_min_n = 3;
  int char_max_n = 5;
};
std::vector<std::string> extract_ngrams(std::string_view text, const NgramSpec& spec);

// 64-bit FNV-1a of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3) followed by
// murmur3's fmix64.
uint64_t hash_ngram(std::string_view bytes);

struct HashedFeature {
  int64_t bucket;  // in [0, 2^hash_bits)
  double sign;     // +1 or -1
};
// hash_bits in [1, 62].
HashedFeature hash_feature(std::string_view prefixed_ngram, int hash_bits);

}  // namespace merc::data
