#include "merc/data/text_featurizer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/data/text_tokenize.h"

// A namespace of its own: the unity build compiles several test files as one translation unit.
namespace merc::data::text_featurizer_test {
namespace {

namespace fs = std::filesystem;

// idf is stored as float32 (relative rounding 2^-24 = 6e-8) and then enters a product, a sum of
// squares and a division in double: 1e-6 relative bounds that with a wide margin and still
// catches any wrong formula (the smallest difference between the hand values below is 2e-2).
constexpr double kFloatIdfTol = 1e-6;

// Words only (no char n-grams), 2^20 buckets so the handful of words below do not collide (checked).
TextFeaturizerOptions words_only(bool sublinear, int64_t min_df) {
  TextFeaturizerOptions o;
  o.dim = 2;
  o.hash_bits = 20;
  o.word_ngram_max = 1;
  o.char_ngram_max = 0;
  o.sublinear_tf = sublinear;
  o.min_df = min_df;
  return o;
}

HashedFeature word_feature(const std::string& w) { return hash_feature("w:" + w, 20); }

// Value of bucket `b` in row `r` (0 when absent).
double entry(const CsrMatrix& m, int64_t r, int64_t b) {
  for (int64_t k = m.row_ptr[static_cast<size_t>(r)]; k < m.row_ptr[static_cast<size_t>(r + 1)]; ++k)
    if (m.col_index[static_cast<size_t>(k)] == b) return m.values[static_cast<size_t>(k)];
  return 0.0;
}

const std::vector<std::string> kToyTrain = {"apple banana", "apple apple cherry", "apple cherry date"};

TEST(TextFeaturizer, TfidfOfToyCorpusByHand) {
  for (const char* w : {"banana", "cherry", "date", "kiwi"})
    ASSERT_NE(word_feature("apple").bucket, word_feature(w).bucket) << "hash collision invalidates the hand values";
  const TextFeaturizer f = TextFeaturizer::fit(kToyTrain, words_only(/*sublinear=*/false, /*min_df=*/0));
  // n = 3 train documents. df: apple 3, cherry 2, banana 1, date 1, kiwi 0 (never in train).
  // idf = ln((1 + n) / (1 + df)) + 1:
  //   apple  ln(4/4) + 1 = 1
  //   cherry ln(4/3) + 1 = 1.2876820724517808
  //   banana ln(4/2) + 1 = 1.6931471805599454 (date the same)
  //   kiwi   ln(4/1) + 1 = 2.386294361119891
  const auto idf = [&](const std::string& w) { return f.idf()[static_cast<size_t>(word_feature(w).bucket)]; };
  EXPECT_NEAR(idf("apple"), 1.0, kFloatIdfTol);
  EXPECT_NEAR(idf("cherry"), 1.2876820724517808, kFloatIdfTol);
  EXPECT_NEAR(idf("banana"), 1.6931471805599454, kFloatIdfTol);
  EXPECT_NEAR(idf("date"), 1.6931471805599454, kFloatIdfTol);
  EXPECT_NEAR(idf("kiwi"), 2.386294361119891, kFloatIdfTol);

  // "apple apple cherry", raw tf: apple 2 * 1 = 2, cherry 1 * 1.28768 = 1.28768;
  // norm sqrt(4 + 1.65812) = 2.378681382554989 -> 0.8408019731721111, 0.5413428136679054.
  // Signed hashing: each value carries its bucket's sign.
  const CsrMatrix x = f.tfidf(kToyTrain);
  const HashedFeature apple = word_feature("apple"), cherry = word_feature("cherry"), date = word_feature("date");
  EXPECT_EQ(x.row_ptr[2] - x.row_ptr[1], 2);
  EXPECT_NEAR(entry(x, 1, apple.bucket), apple.sign * 0.8408019731721111, kFloatIdfTol);
  EXPECT_NEAR(entry(x, 1, cherry.bucket), cherry.sign * 0.5413428136679054, kFloatIdfTol);
  // "apple cherry date": (1, 1.28768, 1.69315) / 2.350504731914362.
  EXPECT_NEAR(entry(x, 2, apple.bucket), apple.sign * 0.4254405389711991, kFloatIdfTol);
  EXPECT_NEAR(entry(x, 2, cherry.bucket), cherry.sign * 0.5478321549274363, kFloatIdfTol);
  EXPECT_NEAR(entry(x, 2, date.bucket), date.sign * 0.7203334490549893, kFloatIdfTol);
}

TEST(TextFeaturizer, SublinearTfByHand) {
  const TextFeaturizer f = TextFeaturizer::fit(kToyTrain, words_only(/*sublinear=*/true, 0));
  // apple tf 2 -> 1 + ln 2 = 1.6931471805599454; cherry 1 -> 1 (times idf 1.28768);
  // norm 2.1271747682670097 -> 0.7959605415681652, 0.6053485081062916.
  const CsrMatrix x = f.tfidf({"apple apple cherry"});
  const HashedFeature apple = word_feature("apple"), cherry = word_feature("cherry");
  EXPECT_NEAR(entry(x, 0, apple.bucket), apple.sign * 0.7959605415681652, kFloatIdfTol);
  EXPECT_NEAR(entry(x, 0, cherry.bucket), cherry.sign * 0.6053485081062916, kFloatIdfTol);
}

TEST(TextFeaturizer, IdfComesFromTrainDocumentsOnly) {
  // "banana kiwi" at eval time: kiwi was never in train, so df = 0 and (min_df 0) its idf is the
  // smooth maximum ln(4/1) + 1 = 2.386294361119891, even though it occurs in the eval batch
  // (twice here: the batch never updates df). Row: (1.69315, 2.38629) / 2.9259439763861983.
  const TextFeaturizer f = TextFeaturizer::fit(kToyTrain, words_only(false, 0));
  const HashedFeature banana = word_feature("banana"), kiwi = word_feature("kiwi");
  const CsrMatrix x = f.tfidf({"banana kiwi", "kiwi"});
  EXPECT_NEAR(entry(x, 0, banana.bucket), banana.sign * 0.5786669855009094, kFloatIdfTol);
  EXPECT_NEAR(entry(x, 0, kiwi.bucket), kiwi.sign * 0.8155639275319199, kFloatIdfTol);
  // With min_df 1 a bucket unseen in training has idf 0 and is ignored: banana alone, norm 1.
  const TextFeaturizer g = TextFeaturizer::fit(kToyTrain, words_only(false, 1));
  const CsrMatrix y = g.tfidf({"banana kiwi", "kiwi", ""});
  EXPECT_NEAR(entry(y, 0, banana.bucket), banana.sign * 1.0, kFloatIdfTol);
  EXPECT_EQ(entry(y, 0, kiwi.bucket), 0.0);
  EXPECT_EQ(y.row_ptr[2] - y.row_ptr[1], 0);  // "kiwi" alone: an empty (zero) row
  EXPECT_EQ(y.row_ptr[3] - y.row_ptr[2], 0);  // "": zero
  // min_df 2 drops banana and date (df 1) from training too.
  const TextFeaturizer h = TextFeaturizer::fit(kToyTrain, words_only(false, 2));
  EXPECT_EQ(h.idf()[static_cast<size_t>(banana.bucket)], 0.0f);
  EXPECT_NEAR(h.idf()[static_cast<size_t>(word_feature("cherry").bucket)], 1.2876820724517808, kFloatIdfTol);
}

// Deterministic pseudo-text: std::mt19937's output sequence is fixed by the C++ standard (unlike
// its distributions), so this corpus is the same everywhere.
std::vector<std::string> synthetic_corpus(int n, uint32_t seed) {
  static const char* kWords[] = {"yeah", "okay", "i", "you", "know", "what", "the", "is", "not", "really",
                                 "oh", "my", "god", "ross", "rachel", "coffee", "wait", "no", "great", "fine",
                                 "why", "would", "we", "go", "there", "today", "sorry", "love", "hate", "this"};
  std::mt19937 gen(seed);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string s;
    const int len = 1 + static_cast<int>(gen() % 12);
    for (int w = 0; w < len; ++w) s += std::string(w ? " " : "") + kWords[gen() % 30];
    out.push_back(s + (gen() % 3 == 0 ? "!" : "."));
  }
  return out;
}

bool bitwise_equal(const FeatureMatrix& a, const FeatureMatrix& b) {
  return a.rows == b.rows && a.cols == b.cols &&
         std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0;
}

TextFeaturizerOptions small_options() {
  TextFeaturizerOptions o;
  o.dim = 16;
  o.hash_bits = 14;
  return o;
}

TEST(TextFeaturizer, SameSeedIsBitwiseDeterministic) {
  const auto train = synthetic_corpus(400, 1);
  const auto eval = synthetic_corpus(50, 2);
  const TextFeaturizer a = TextFeaturizer::fit(train, small_options());
  const TextFeaturizer b = TextFeaturizer::fit(train, small_options());
  EXPECT_EQ(a.components(), b.components());
  EXPECT_EQ(a.idf(), b.idf());
  const FeatureMatrix fa = a.transform(eval);
  EXPECT_EQ(fa.rows, 50);
  EXPECT_EQ(fa.cols, 16);
  EXPECT_TRUE(bitwise_equal(fa, b.transform(eval)));
  EXPECT_GT(a.explained_variance_ratio(), 0.0);
  EXPECT_LT(a.explained_variance_ratio(), 1.0);
}

TEST(TextFeaturizer, OtherSeedFindsTheSameSubspace) {
  // Six distinct utterances repeated 1, 2, 4, 8, 16, 32 times: the TF-IDF matrix has rank <= 6 <=
  // dim + oversample, so every seed recovers its top-4 right singular vectors exactly up to
  // rounding, and the sign convention removes the sign ambiguity. Singular values ~ sqrt of the
  // multiplicities, so they are well separated (asserted) and the vectors unique.
  const std::vector<std::string> base = {"hello there friend", "what is going on", "i love coffee",
                                         "no way that is crazy", "see you tomorrow", "good night everyone"};
  std::vector<std::string> train;
  for (size_t i = 0; i < base.size(); ++i)
    for (int r = 0; r < (1 << i); ++r) train.push_back(base[i]);
  TextFeaturizerOptions o = small_options();
  o.dim = 4;
  o.min_df = 1;
  o.seed = 0;
  const TextFeaturizer a = TextFeaturizer::fit(train, o);
  o.seed = 12345;
  const TextFeaturizer b = TextFeaturizer::fit(train, o);
  for (size_t i = 0; i + 1 < a.singular_values().size(); ++i)
    ASSERT_GT(a.singular_values()[i] - a.singular_values()[i + 1], 0.1 * a.singular_values()[i]);
  const FeatureMatrix fa = a.transform(base), fb = b.transform(base);
  // Equal up to float32 rounding of components and outputs (~1e-7 each over a few hundred terms
  // of a unit-norm row): 1e-5 absolute.
  constexpr double kFloatTol = 1e-5;
  for (size_t i = 0; i < fa.values.size(); ++i) EXPECT_NEAR(fa.values[i], fb.values[i], kFloatTol) << i;
}

TEST(TextFeaturizer, ProjectionIsContractiveAndKeepsReportedEnergy) {
  // Rows are unit vectors and V_k has orthonormal columns, so ||x V_k|| <= 1; over the train rows
  // sum ||x V_k||^2 = sum s_i^2 = ratio * ||X||_F^2 = ratio * (non-empty rows).
  const auto train = synthetic_corpus(300, 5);
  const TextFeaturizer f = TextFeaturizer::fit(train, small_options());
  const FeatureMatrix z = f.transform(train);
  double total = 0.0;
  for (int64_t r = 0; r < z.rows; ++r) {
    double sq = 0.0;
    for (int64_t j = 0; j < z.cols; ++j) sq += double{z.row(r)[j]} * z.row(r)[j];
    EXPECT_LE(sq, 1.0 + 1e-5) << "row " << r;  // float32 rounding
    total += sq;
  }
  const int64_t nonempty = f.tfidf(train).rows;  // every synthetic document has a feature
  // float32 components and outputs: 1e-4 relative on a sum of 300 rows.
  EXPECT_NEAR(total, f.explained_variance_ratio() * static_cast<double>(nonempty), 1e-4 * total);
}

Dataset toy_dataset() {
  Dataset ds;
  ds.info.name = "toy";
  ds.info.class_names = {"a", "b"};
  ds.info.num_speakers = 2;
  const auto corpus = synthetic_corpus(60, 9);
  for (int d = 0; d < 6; ++d) {
    Dialogue dia;
    dia.id = "d" + std::to_string(d);
    for (int u = 0; u < 10; ++u) {
      Utterance utt;
      utt.id = dia.id + "_u" + std::to_string(u);
      utt.transcript = u == 3 ? "" : corpus[static_cast<size_t>(d * 10 + u)];  // one empty per dialogue
      utt.label = u % 2;
      dia.utterances.push_back(utt);
    }
    ds.dialogues.push_back(dia);
  }
  ds.split_schemes.push_back({"given", {{"train", {0, 1, 2, 3}}, {"valid", {4}}, {"test", {5}}}});
  return ds;
}

std::vector<std::string> transcripts(const Dialogue& d) {
  std::vector<std::string> out;
  for (const auto& u : d.utterances) out.push_back(u.transcript);
  return out;
}

TEST(TextFeaturizer, FitOnPartitionSeesTrainOnly) {
  TextFeaturizerOptions o = small_options();
  o.min_df = 1;
  Dataset ds = toy_dataset();
  const TextFeaturizer f = fit_on_partition(ds, o);
  EXPECT_NO_THROW(ds.validate("toy"));
  EXPECT_EQ(ds.info.modality_dims[0], 16);
  EXPECT_EQ(ds.info.modality_sources[0], "tfidf-hash-svd16");
  EXPECT_EQ(f.num_train_documents(), 36);  // 4 train dialogues x 9 non-empty transcripts

  // The same state as fitting on the non-empty train transcripts directly.
  std::vector<std::string> train;
  for (int d = 0; d < 4; ++d)
    for (const auto& t : transcripts(ds.dialogues[static_cast<size_t>(d)]))
      if (!t.empty()) train.push_back(t);
  const TextFeaturizer direct = TextFeaturizer::fit(train, o);
  EXPECT_EQ(direct.idf(), f.idf());
  EXPECT_EQ(direct.components(), f.components());

  // Every dialogue's features are the transform of its transcripts; the empty one is a zero row.
  for (const auto& d : ds.dialogues) {
    EXPECT_TRUE(bitwise_equal(d.features[0], f.transform(transcripts(d)))) << d.id;
    for (int64_t j = 0; j < 16; ++j) EXPECT_EQ(d.features[0].row(3)[j], 0.0f);
  }

  // Changing the valid/test transcripts changes nothing fitted, nor any train row.
  Dataset other = toy_dataset();
  for (int d : {4, 5})
    for (auto& u : other.dialogues[static_cast<size_t>(d)].utterances) u.transcript = "completely different words " + u.id;
  const TextFeaturizer g = fit_on_partition(other, o);
  EXPECT_EQ(g.idf(), f.idf());
  EXPECT_EQ(g.components(), f.components());
  for (int d = 0; d < 4; ++d)
    EXPECT_TRUE(bitwise_equal(other.dialogues[static_cast<size_t>(d)].features[0], ds.dialogues[static_cast<size_t>(d)].features[0]));

  // Rows do not depend on the rest of the batch: train alone == the train rows of train + eval.
  const FeatureMatrix alone = f.transform(train);
  std::vector<std::string> both = train;
  for (int d : {4, 5})
    for (const auto& t : transcripts(ds.dialogues[static_cast<size_t>(d)])) both.push_back(t);
  const FeatureMatrix mixed = f.transform(both);
  EXPECT_EQ(0, std::memcmp(alone.values.data(), mixed.values.data(), alone.values.size() * sizeof(float)));
}

TEST(TextFeaturizer, PresenceMaskFollowsTranscripts) {
  Dataset ds = toy_dataset();
  ds.dialogues[0].present.assign(static_cast<size_t>(10 * kNumModalities), 0);
  TextFeaturizerOptions o = small_options();
  o.min_df = 1;
  fit_on_partition(ds, o);
  EXPECT_FALSE(ds.dialogues[0].is_present(3, Modality::kText));
  EXPECT_TRUE(ds.dialogues[0].is_present(4, Modality::kText));
  EXPECT_FALSE(ds.dialogues[0].is_present(4, Modality::kAudio));  // other modalities untouched
  EXPECT_TRUE(ds.dialogues[1].present.empty());                   // no mask: none created
}

TEST(TextFeaturizer, FitErrors) {
  Dataset ds = toy_dataset();
  EXPECT_THROW(fit_on_partition(ds, small_options(), "nope"), merc::UnknownNameError);
  ds.split_schemes[0].partitions[0].dialogues.clear();
  EXPECT_THROW(fit_on_partition(ds, small_options()), merc::Error);
  ds = toy_dataset();
  for (int d = 0; d < 4; ++d)
    for (auto& u : ds.dialogues[static_cast<size_t>(d)].utterances) u.transcript.clear();
  EXPECT_THROW(fit_on_partition(ds, small_options()), merc::Error);
  EXPECT_EQ(ds.info.modality_dims[0], 0);  // nothing filled on failure

  EXPECT_THROW(TextFeaturizer::fit({}, small_options()), merc::Error);
  EXPECT_THROW(TextFeaturizer::fit({"", "!!"}, small_options()), merc::Error);  // no features at all
  TextFeaturizerOptions keep_all = small_options();
  keep_all.min_df = 0;
  EXPECT_THROW(TextFeaturizer::fit({"a b", "c d"}, keep_all), merc::Error);  // dim 16 > 2 documents
  keep_all.dim = 2;
  EXPECT_NO_THROW(TextFeaturizer::fit({"a b", "c d"}, keep_all));
  TextFeaturizerOptions bad = small_options();
  bad.hash_bits = 30;
  EXPECT_THROW(TextFeaturizer::fit(synthetic_corpus(50, 1), bad), merc::Error);
  bad = small_options();
  bad.char_ngram_min = 6;  // > char_ngram_max 5
  EXPECT_THROW(TextFeaturizer::fit(synthetic_corpus(50, 1), bad), merc::Error);
}

}  // namespace
}  // namespace merc::data::text_featurizer_test
