#include "merc/data/text_tokenize.h"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "merc/core/error.h"

// A namespace of its own: the unity build compiles several test files as one translation unit.
namespace merc::data::text_tokenize_test {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using Strings = std::vector<std::string>;

TEST(TextTokenize, WordsAreAlphanumericRunsWithApostrophes) {
  EXPECT_THAT(tokenize_words("Hello, World! It's 3pm."), ElementsAre("hello", "world", "it's", "3pm"));
  EXPECT_THAT(tokenize_words("AbC dEf", /*lowercase=*/false), ElementsAre("AbC", "dEf"));
  EXPECT_THAT(tokenize_words(""), IsEmpty());
  EXPECT_THAT(tokenize_words(" ,;!? "), IsEmpty());
  EXPECT_THAT(tokenize_words("a_b-c"), ElementsAre("a", "b", "c"));
}

TEST(TextTokenize, QuoteApostrophesAreStrippedContractionsKept) {
  EXPECT_THAT(tokenize_words("'Hello' he said'' ' rock'n'roll"), ElementsAre("hello", "he", "said", "rock'n'roll"));
}

TEST(TextTokenize, TypographicPunctuation) {
  // U+2019 is an apostrophe (MELD writes "Don’t"); U+2014 em dash, U+2026 ellipsis, U+201C/D
  // curly double quotes and U+00A0 no-break space separate words.
  EXPECT_THAT(tokenize_words("Don\u2019t go\u2014now\u2026 \u201Cyes\u201D a\u00A0b"),
              ElementsAre("don't", "go", "now", "yes", "a", "b"));
  // U+2018 ... U+2019 used as quotes are stripped like ASCII ones.
  EXPECT_THAT(tokenize_words("\u2018fine\u2019"), ElementsAre("fine"));
}

TEST(TextTokenize, NonAsciiIsPartOfWordsAndOnlyAsciiIsLowercased) {
  // "é" (C3 A9) and "Ï" (C3 8F) are word characters; Ï stays upper case (no Unicode folding).
  EXPECT_THAT(tokenize_words("Café NAÏVE"), ElementsAre("café", "naÏve"));
  // U+2070 (superscript zero, E2 81 B0) is outside General Punctuation: a word character.
  EXPECT_THAT(tokenize_words("x\u2070"), ElementsAre("x\u2070"));
}

TEST(TextTokenize, InvalidUtf8NeverFails) {
  // Stray bytes >= 0x80 are word characters; a truncated E2 sequence at the end too.
  EXPECT_THAT(tokenize_words("\xff\xfe ab"), ElementsAre("\xff\xfe", "ab"));
  EXPECT_THAT(tokenize_words("ab\xE2"), ElementsAre("ab\xE2"));
  EXPECT_THAT(tokenize_words("ab\xE2\x80"), ElementsAre("ab\xE2\x80"));
}

TEST(TextTokenize, WordNgrams) {
  const Strings words = {"a", "b", "c"};
  EXPECT_THAT(word_ngrams(words, 1), ElementsAre("a", "b", "c"));
  EXPECT_THAT(word_ngrams(words, 2), ElementsAre("a", "b", "c", "a b", "b c"));
  EXPECT_THAT(word_ngrams(words, 4), ElementsAre("a", "b", "c", "a b", "b c", "a b c"));
  EXPECT_THAT(word_ngrams(words, 0), IsEmpty());
  EXPECT_THAT(word_ngrams({}, 2), IsEmpty());
}

TEST(TextTokenize, CharWbNgramsOfPaddedWords) {
  // " hello " has 7 characters: 5 trigrams, 4 four-grams, 3 five-grams.
  EXPECT_THAT(char_wb_ngrams({"hello"}, 3, 5),
              ElementsAreArray({" he", "hel", "ell", "llo", "lo ", " hel", "hell", "ello", "llo ", " hell",
                                "hello", "ello "}));
  // " hi " (4 characters): its trigrams, then the whole padded word once at n = 4, nothing at 5.
  EXPECT_THAT(char_wb_ngrams({"hi"}, 3, 5), ElementsAre(" hi", "hi ", " hi "));
  // " a " is shorter than every n: it contributes itself once.
  EXPECT_THAT(char_wb_ngrams({"a"}, 4, 5), ElementsAre(" a "));
  // Words are padded separately: no n-gram spans two words.
  EXPECT_THAT(char_wb_ngrams({"ab", "c"}, 3, 3), ElementsAre(" ab", "ab ", " c "));
  EXPECT_THAT(char_wb_ngrams({"abc"}, 3, 0), IsEmpty());
}

TEST(TextTokenize, CharNgramsNeverSplitMultibyteCharacters) {
  // " café " is 6 code points (é = C3 A9): 4 trigrams, each a whole number of characters.
  EXPECT_THAT(char_wb_ngrams({"café"}, 3, 3), ElementsAre(" ca", "caf", "afé", "fé "));
  // U+1F600 (4 bytes) counts as one character.
  EXPECT_THAT(char_wb_ngrams({"\U0001F600"}, 3, 3), ElementsAre(" \U0001F600 "));
}

TEST(TextTokenize, ExtractNgramsPrefixesNamespaces) {
  const NgramSpec spec{/*lowercase=*/true, /*word_max_n=*/2, /*char_min_n=*/3, /*char_max_n=*/3};
  EXPECT_THAT(extract_ngrams("Hi, hi", spec),
              ElementsAre("w:hi", "w:hi", "w:hi hi", "c: hi", "c:hi ", "c: hi", "c:hi "));
  EXPECT_THAT(extract_ngrams("Hi", NgramSpec{true, 0, 3, 3}), ElementsAre("c: hi", "c:hi "));
  EXPECT_THAT(extract_ngrams("Hi", NgramSpec{true, 1, 3, 0}), ElementsAre("w:hi"));
}

TEST(TextTokenize, HashIsFnv1aThenFmix64) {
  // Expected values from an independent Python implementation. FNV-1a 64 alone gives the
  // published test vectors 0xcbf29ce484222325 ("") and 0xaf63dc4c8601ec8c ("a"); these are
  // those values after murmur3's fmix64.
  EXPECT_EQ(hash_ngram(""), 0xefd01f60ba992926ULL);
  EXPECT_EQ(hash_ngram("a"), 0x82a2a958a9bece5bULL);
  EXPECT_EQ(hash_ngram("w:hello"), 0x68259af81b273ac3ULL);
  EXPECT_EQ(hash_ngram("c: he"), 0xb8f15d4abcbe99b9ULL);
  // bucket = low bits, sign = bit 63.
  const HashedFeature hello = hash_feature("w:hello", 16);
  EXPECT_EQ(hello.bucket, 0x3ac3);
  EXPECT_EQ(hello.sign, 1.0);  // 0x6... = 0110...: bit 63 clear
  const HashedFeature he = hash_feature("c: he", 12);
  EXPECT_EQ(he.bucket, 0x9b9);
  EXPECT_EQ(he.sign, -1.0);  // 0xb... = 1011...: bit 63 set
}

TEST(TextTokenize, HashSignsAndBucketsAreBalanced) {
  // 20000 distinct strings: negatives ~ Binomial(20000, 1/2), sd 71 -> within 5 sd of 10000;
  // each of 16 buckets ~ 1250 +- 34 -> within 5 sd. A hash that ignored the input's tail or
  // never set the top bit fails.
  int negative = 0;
  std::vector<int> per_bucket(16, 0);
  for (int i = 0; i < 20000; ++i) {
    const HashedFeature f = hash_feature("w:token" + std::to_string(i), 4);
    negative += f.sign < 0;
    ++per_bucket[static_cast<size_t>(f.bucket)];
  }
  EXPECT_NEAR(negative, 10000, 5 * 71);
  for (int b = 0; b < 16; ++b) EXPECT_NEAR(per_bucket[static_cast<size_t>(b)], 1250, 5 * 34) << "bucket " << b;
  EXPECT_THROW(hash_feature("x", 0), merc::Error);
}

}  // namespace
}  // namespace merc::data::text_tokenize_test
