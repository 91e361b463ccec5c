#pragma once
// Transcript featurizer for datasets that only have text (MELD, EmoryNLP, DailyDialog, COSMIC
// pickles without features): hashed TF-IDF over word and character n-grams, reduced by a
// randomized truncated SVD to `dim` dense features per utterance.
//
//   n-grams      text_tokenize.h: words, word 1..2-grams, char_wb 3..5-grams, namespaced
//   hashing      bucket = low hash_bits bits of a 64-bit hash, sign = its top bit
//   tf           signed count c per bucket; sublinear: sign(c) * (1 + ln|c|)
//   idf          ln((1 + n) / (1 + df)) + 1 over the n TRAIN documents (0 where df < min_df)
//   row          tf * idf, then L2-normalised (an empty row stays zero)
//   projection   x -> x * V_k, V_k (2^hash_bits, dim) the top right singular vectors of the
//                train TF-IDF matrix (randomized_svd.h; no centring, like TruncatedSVD)
//
// Fitting sees the train documents only; the fitted state (idf, V_k, options) is all transform()
// needs, and save()/load() round-trip it bitwise, so eval and predict time apply exactly the
// transform fitted at training time. fit() and transform() are deterministic: the same texts,
// options and seed give bitwise-identical output.
//
// State file: safetensors-compatible (8-byte little-endian header length, JSON header, raw
// little-endian tensors) with "idf" F32 [2^hash_bits], "components" F32 [2^hash_bits, dim],
// "singular_values" F32 [dim] and "__metadata__" {"format": "merc.text_featurizer",
// "format_version": "1", "options": <JSON>, "explained_variance_ratio": <decimal>,
// "num_train_documents": <decimal>}. Readable by Python's safetensors.numpy.load_file.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/data/randomized_svd.h"

namespace merc::data {

struct TextFeaturizerOptions {
  // Output features per utterance. 100 is the size of the text features this field publishes
  // for MELD/IEMOCAP baselines (COSMIC/DialogueRNN textCNN vectors are 100-d).
  int64_t dim = 100;
  // 2^16 = 65536 buckets. MELD train has ~10^5 distinct n-grams, so buckets are shared, but
  // signed hashing keeps collision noise zero-mean and the SVD averages it out; the cost that
  // grows with buckets is the state (2^hash_bits * dim * 4 bytes: 26 MB at 16 bits, dim 100) and
  // the (2^hash_bits, dim + oversample) float64 work matrices of the SVD (58 MB). Max 24.
  int hash_bits = 16;
  // Word unigrams and bigrams: bigrams keep negation and short phrases ("not good", "oh my").
  int word_ngram_max = 2;  // 0 = no word n-grams
  // char_wb 3..5-grams: robust to spelling variants, inflection and transcription noise
  // ("sooo", "yeah"/"yea"), the usual range for short informal text. char_ngram_max 0 = none.
  int char_ngram_min = 3;
  int char_ngram_max = 5;
  bool lowercase = true;  // ASCII only (see text_tokenize.h)
  // 1 + ln(tf): a word repeated in one utterance ("no no no no") should not dominate its row.
  bool sublinear_tf = true;
  // Buckets seen in fewer than min_df train documents get idf 0 and are ignored at fit and
  // transform time. 2 drops hapaxes (names, typos), which cannot shape the shared components
  // anyway, and stops n-grams never seen in training from shrinking an eval row's norm. 0 keeps
  // every bucket: one unseen in training then gets the largest idf, ln(1 + n) + 1.
  int64_t min_df = 2;
  // Randomized SVD (Halko et al. 2011): p = 10 extra directions and q = 4 subspace iterations
  // make the top-dim subspace accurate even when the spectrum decays slowly, as TF-IDF's does.
  int64_t oversample = 10;
  int power_iterations = 4;
  uint64_t seed = 0;

  // Throws merc::Error naming the first field out of range.
  void validate() const;
};

class TextFeaturizer {
 public:
  // Fits idf and the projection on `train_texts` (one document per utterance). Throws merc::Error
  // when there are no documents, none has a feature, or dim > min(documents, 2^hash_bits).
  static TextFeaturizer fit(const std::vector<std::string>& train_texts, const TextFeaturizerOptions& options);

  // (texts.size(), dim) float32. Each row depends only on its own text and the fitted state.
  FeatureMatrix transform(const std::vector<std::string>& texts) const;
  // The L2-normalised TF-IDF rows before projection: (texts.size(), 2^hash_bits).
  CsrMatrix tfidf(const std::vector<std::string>& texts) const;

  void save(const std::string& path) const;
  // Throws merc::FormatError naming `path` for a missing, truncated or inconsistent file.
  static TextFeaturizer load(const std::string& path);

  const TextFeaturizerOptions& options() const { return options_; }
  int64_t dim() const { return options_.dim; }
  // sum_i s_i^2 / ||X||_F^2 over the train TF-IDF matrix X: the fraction of its (uncentred)
  // energy the dim components keep. Not scikit-learn's centred explained_variance_ratio_.
  double explained_variance_ratio() const { return explained_variance_ratio_; }
  const std::vector<float>& singular_values() const { return singular_values_; }  // (dim)
  const std::vector<float>& idf() const { return idf_; }                          // (2^hash_bits)
  const std::vector<float>& components() const { return components_; }  // (2^hash_bits, dim)
  int64_t num_train_documents() const { return num_train_documents_; }
  // "tfidf-hash-svd<dim>", for DatasetInfo::modality_sources.
  std::string source_name() const;

 private:
  TextFeaturizer() = default;
  // Signed hashed n-gram counts of `texts`, one CSR row per text, zero entries dropped.
  CsrMatrix hashed_counts(const std::vector<std::string>& texts) const;
  // Applies tf weighting, idf and row normalisation to counts in place.
  void weight_rows(CsrMatrix& counts) const;

  TextFeaturizerOptions options_;
  std::vector<float> idf_;
  std::vector<float> components_;
  std::vector<float> singular_values_;
  double explained_variance_ratio_ = 0.0;
  int64_t num_train_documents_ = 0;
};

// Sets (replacing any there) features[text] of every dialogue to f.transform(its transcripts)
// ((length, dim)), and
// info.modality_dims[text] = dim, info.modality_sources[text] = f.source_name(). Where a dialogue
// has a presence mask, text is marked present exactly for the non-empty transcripts.
void featurize_dataset_text(Dataset& ds, const TextFeaturizer& f);

// Fits on the transcripts of the dialogues in partition `partition` of split scheme `scheme`
// ("" = the default scheme) only, then featurize_dataset_text(ds, ...) and returns the fitted
// featurizer (save it to apply the same transform later). Throws merc::UnknownNameError for an
// unknown scheme/partition and merc::Error when the partition is empty or has no non-empty
// transcript.
TextFeaturizer fit_on_partition(Dataset& ds, const TextFeaturizerOptions& options,
                                std::string_view partition = "train", std::string_view scheme = "");

}  // namespace merc::data
