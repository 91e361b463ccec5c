#include "merc/data/text_featurizer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "merc/core/error.h"
#include "merc/core/log.h"
#include "merc/data/text_tokenize.h"

namespace merc::data {

void TextFeaturizerOptions::validate() const {
  MERC_CHECK(dim >= 1 && dim <= 100000, "text featurizer: dim must be in [1, 100000], got {}", dim);
  MERC_CHECK(hash_bits >= 4 && hash_bits <= 24, "text featurizer: hash_bits must be in [4, 24], got {}", hash_bits);
  MERC_CHECK(word_ngram_max >= 0 && word_ngram_max <= 8,
             "text featurizer: word_ngram_max must be in [0, 8], got {}", word_ngram_max);
  MERC_CHECK(char_ngram_max >= 0 && char_ngram_max <= 16,
             "text featurizer: char_ngram_max must be in [0, 16], got {}", char_ngram_max);
  MERC_CHECK(char_ngram_max == 0 || (char_ngram_min >= 1 && char_ngram_min <= char_ngram_max),
             "text featurizer: char_ngram_min must be in [1, char_ngram_max = {}], got {}",
             char_ngram_max, char_ngram_min);
  MERC_CHECK(word_ngram_max > 0 || char_ngram_max > 0,
             "text featurizer: word_ngram_max and char_ngram_max are both 0: no features");
  MERC_CHECK(min_df >= 0, "text featurizer: min_df must be >= 0, got {}", min_df);
  MERC_CHECK(oversample >= 0 && oversample <= 10000,
             "text featurizer: oversample must be in [0, 10000], got {}", oversample);
  MERC_CHECK(power_iterations >= 0 && power_iterations <= 100,
             "text featurizer: power_iterations must be in [0, 100], got {}", power_iterations);
}

CsrMatrix TextFeaturizer::hashed_counts(const std::vector<std::string>& texts) const {
  const NgramSpec spec{options_.lowercase, options_.word_ngram_max, options_.char_ngram_min,
                       options_.char_ngram_max};
  CsrMatrix m;
  m.rows = static_cast<int64_t>(texts.size());
  m.cols = int64_t{1} << options_.hash_bits;
  m.row_ptr.reserve(texts.size() + 1);
  std::vector<HashedFeature> feats;
  for (const auto& text : texts) {
    feats.clear();
    for (const auto& gram : extract_ngrams(text, spec)) feats.push_back(hash_feature(gram, options_.hash_bits));
    // Sums of +-1 are exact integers in double, so the order within a bucket cannot matter.
    std::sort(feats.begin(), feats.end(),
              [](const HashedFeature& a, const HashedFeature& b) { return a.bucket < b.bucket; });
    for (size_t i = 0; i < feats.size();) {
      double count = 0.0;
      size_t j = i;
      for (; j < feats.size() && feats[j].bucket == feats[i].bucket; ++j) count += feats[j].sign;
      if (count != 0.0) {  // colliding n-grams of opposite sign can cancel
        m.col_index.push_back(feats[i].bucket);
        m.values.push_back(count);
      }
      i = j;
    }
    m.row_ptr.push_back(m.nnz());
  }
  return m;
}

void TextFeaturizer::weight_rows(CsrMatrix& x) const {
  int64_t out = 0;
  int64_t end = 0;  // row_ptr is rewritten as rows are compacted: remember the old row ends
  for (int64_t r = 0; r < x.rows; ++r) {
    const int64_t begin = end;
    end = x.row_ptr[static_cast<size_t>(r + 1)];
    const int64_t row_start = out;
    double sum_sq = 0.0;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t bucket = x.col_index[static_cast<size_t>(k)];
      const double c = x.values[static_cast<size_t>(k)];
      const double tf = options_.sublinear_tf ? std::copysign(1.0 + std::log(std::abs(c)), c) : c;
      const double v = tf * static_cast<double>(idf_[static_cast<size_t>(bucket)]);
      if (v == 0.0) continue;  // idf 0: below min_df
      x.col_index[static_cast<size_t>(out)] = bucket;
      x.values[static_cast<size_t>(out)] = v;
      sum_sq += v * v;
      ++out;
    }
    if (sum_sq > 0.0) {
      const double inv_norm = 1.0 / std::sqrt(sum_sq);
      for (int64_t k = row_start; k < out; ++k) x.values[static_cast<size_t>(k)] *= inv_norm;
    }
    x.row_ptr[static_cast<size_t>(r + 1)] = out;
  }
  x.col_index.resize(static_cast<size_t>(out));
  x.values.resize(static_cast<size_t>(out));
}

CsrMatrix TextFeaturizer::tfidf(const std::vector<std::string>& texts) const {
  CsrMatrix x = hashed_counts(texts);
  weight_rows(x);
  return x;
}

TextFeaturizer TextFeaturizer::fit(const std::vector<std::string>& train_texts, const TextFeaturizerOptions& options) {
  options.validate();
  MERC_CHECK(!train_texts.empty(), "text featurizer: no training documents");
  TextFeaturizer f;
  f.options_ = options;
  const int64_t num_buckets = int64_t{1} << options.hash_bits;
  const int64_t n = static_cast<int64_t>(train_texts.size());
  f.num_train_documents_ = n;

  // 1. Document frequencies over the train documents only -> smooth idf.
  CsrMatrix x = f.hashed_counts(train_texts);
  std::vector<int64_t> df(static_cast<size_t>(num_buckets), 0);
  for (int64_t b : x.col_index) ++df[static_cast<size_t>(b)];
  f.idf_.assign(static_cast<size_t>(num_buckets), 0.0f);
  for (int64_t b = 0; b < num_buckets; ++b) {
    const int64_t d = df[static_cast<size_t>(b)];
    if (d >= options.min_df)
      f.idf_[static_cast<size_t>(b)] =
          static_cast<float>(std::log((1.0 + static_cast<double>(n)) / (1.0 + static_cast<double>(d))) + 1.0);
  }

  // 2. TF-IDF rows of the train documents, with the float32 idf that transform() will use.
  f.weight_rows(x);
  MERC_CHECK(x.nnz() > 0,
             "text featurizer: none of the {} training documents has an n-gram that occurs in at "
             "least min_df = {} of them",
             n, options.min_df);
  std::vector<bool> in_use(static_cast<size_t>(num_buckets), false);
  for (int64_t b : x.col_index) in_use[static_cast<size_t>(b)] = true;
  const int64_t buckets_used = std::count(in_use.begin(), in_use.end(), true);
  MERC_CHECK(options.dim <= std::min(n, buckets_used),
             "text featurizer: dim {} exceeds min(training documents = {}, buckets in use = {})", options.dim, n,
             buckets_used);

  // 3. Top-dim right singular vectors.
  const TruncatedSvd svd = randomized_svd(
      x, RandomizedSvdOptions{options.dim, options.oversample, options.power_iterations, options.seed});
  const torch::Tensor v = svd.components.to(torch::kFloat32).contiguous();
  f.components_.assign(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
  const torch::Tensor s = svd.singular_values.contiguous();
  double kept = 0.0;
  for (int64_t i = 0; i < s.numel(); ++i) {
    const double si = s.data_ptr<double>()[i];
    kept += si * si;
    f.singular_values_.push_back(static_cast<float>(si));
  }
  f.explained_variance_ratio_ = kept / x.squared_norm();
  spdlog::info("text featurizer: fitted on {} documents, {} of {} buckets in use, dim {} keeps {:.3f} of the energy",
                n, buckets_used, num_buckets, options.dim, f.explained_variance_ratio_);
  return f;
}

FeatureMatrix TextFeaturizer::transform(const std::vector<std::string>& texts) const {
  const CsrMatrix x = tfidf(texts);
  const int64_t dim = options_.dim;
  FeatureMatrix out(x.rows, dim);
  std::vector<double> acc(static_cast<size_t>(dim));
  for (int64_t r = 0; r < x.rows; ++r) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t k = x.row_ptr[static_cast<size_t>(r)]; k < x.row_ptr[static_cast<size_t>(r + 1)]; ++k) {
      const double v = x.values[static_cast<size_t>(k)];
      const float* comp = components_.data() + x.col_index[static_cast<size_t>(k)] * dim;
      for (int64_t j = 0; j < dim; ++j) acc[static_cast<size_t>(j)] += v * static_cast<double>(comp[j]);
    }
    float* row = out.row(r);
    for (int64_t j = 0; j < dim; ++j) row[j] = static_cast<float>(acc[static_cast<size_t>(j)]);
  }
  return out;
}

std::string TextFeaturizer::source_name() const { return fmt::format("tfidf-hash-svd{}", options_.dim); }

void featurize_dataset_text(Dataset& ds, const TextFeaturizer& f) {
  const size_t t = static_cast<size_t>(index_of(Modality::kText));
  std::vector<std::string> texts;
  for (auto& d : ds.dialogues) {
    texts.clear();
    for (const auto& u : d.utterances) texts.push_back(u.transcript);
    d.features[t] = f.transform(texts);
    if (!d.present.empty())
      for (int64_t i = 0; i < d.length(); ++i)
        d.present[static_cast<size_t>(i * kNumModalities) + t] = texts[static_cast<size_t>(i)].empty() ? 0 : 1;
  }
  ds.info.modality_dims[t] = f.dim();
  ds.info.modality_sources[t] = f.source_name();
}

TextFeaturizer fit_on_partition(Dataset& ds, const TextFeaturizerOptions& options, std::string_view partition,
                                std::string_view scheme) {
  const std::vector<const Dialogue*> dialogues = ds.partition(partition, scheme);
  MERC_CHECK(!dialogues.empty(), "text featurizer: partition '{}' of dataset '{}' has no dialogues", partition,
             ds.info.name);
  // Empty transcripts are not documents: they would only inflate n in the idf.
  std::vector<std::string> texts;
  for (const Dialogue* d : dialogues)
    for (const auto& u : d->utterances)
      if (!u.transcript.empty()) texts.push_back(u.transcript);
  MERC_CHECK(!texts.empty(), "text featurizer: partition '{}' of dataset '{}' has no non-empty transcript",
             partition, ds.info.name);
  TextFeaturizer f = TextFeaturizer::fit(texts, options);
  featurize_dataset_text(ds, f);
  return f;
}

}  // namespace merc::data
