#pragma once
// The in-memory dataset every reader produces and every model consumes.
//
// A Dataset is a list of dialogues (a video in CMU-MOSI is a one-speaker dialogue), each holding
// its utterances' metadata and one contiguous row-major feature matrix per modality, plus one or
// more named split schemes (MOSI has "standard" 52/10/31 videos and "poria" 62/31). Dataset facts
// (task, classes, speakers, modality dims) live in DatasetInfo; nothing downstream compares names.

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace merc::data {

enum class Modality { kText = 0, kAudio = 1, kVisual = 2 };
inline constexpr int kNumModalities = 3;
inline constexpr std::array<Modality, 3> kAllModalities = {Modality::kText, Modality::kAudio,
                                                           Modality::kVisual};
inline int index_of(Modality m) { return static_cast<int>(m); }
// "text", "audio", "visual".
const char* modality_name(Modality m);
// Accepts "text"/"t", "audio"/"a", "visual"/"video"/"v". nullopt otherwise.
std::optional<Modality> parse_modality(std::string_view name);

enum class Task { kClassification, kRegression };
const char* task_name(Task t);  // "classification" / "regression"

// (rows, cols) float32, row-major. Default-constructed = absent (0 x 0).
struct FeatureMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> values;  // rows * cols

  FeatureMatrix() = default;
  FeatureMatrix(int64_t r, int64_t c) : rows(r), cols(c), values(static_cast<size_t>(r * c), 0.0f) {}
  float* row(int64_t r) { return values.data() + r * cols; }
  const float* row(int64_t r) const { return values.data() + r * cols; }
  bool empty() const { return cols == 0; }
};

// Ragged per-utterance sequences of one modality (e.g. MMSA's word/frame-level features): utterance
// u's steps are rows [offsets[u], offsets[u+1]) of the (offsets.back(), dim) row-major matrix
// `values`. A default-constructed store is absent (no offsets); SequenceFeatures(dim) is present
// and holds no utterance yet (offsets = {0}): append() adds utterances in order.
struct SequenceFeatures {
  int64_t dim = 0;
  std::vector<int64_t> offsets;  // utterances + 1 entries, offsets[0] = 0, non-decreasing
  std::vector<float> values;     // offsets.back() * dim

  SequenceFeatures() = default;
  explicit SequenceFeatures(int64_t d) : dim(d), offsets{0} {}
  bool empty() const { return offsets.empty(); }
  int64_t num_utterances() const { return empty() ? 0 : static_cast<int64_t>(offsets.size()) - 1; }
  int64_t total_steps() const { return empty() ? 0 : offsets.back(); }
  int64_t length(int64_t utt) const {
    return offsets[static_cast<size_t>(utt + 1)] - offsets[static_cast<size_t>(utt)];
  }
  // Row s (0 <= s < length(utt)) of utterance utt: `dim` floats.
  const float* step(int64_t utt, int64_t s) const {
    return values.data() + (offsets[static_cast<size_t>(utt)] + s) * dim;
  }
  // Appends one utterance of `steps` rows (steps * dim floats, row-major) after the last one.
  void append(const float* rows, int64_t steps) {
    values.insert(values.end(), rows, rows + steps * dim);
    offsets.push_back(offsets.back() + steps);
  }
};

inline constexpr float kNoScore = std::numeric_limits<float>::quiet_NaN();

struct Utterance {
  std::string id;            // e.g. "Ses01F_impro01_F000", "dia3_utt2", "03bSnISJMiM_1"
  std::string speaker_name;  // as the source names it ("M", "Chandler"; "" for single-speaker data)
  int64_t speaker = 0;       // party index: the format's own encoding where it has one (IEMOCAP
                             // M/F, MELD's 9-slot one-hot), else order of first appearance in
                             // the dialogue. 0 <= speaker < DatasetInfo::num_speakers.
  int64_t label = -1;        // class index into DatasetInfo::class_names; -1 = unlabelled
  float score = kNoScore;    // continuous score (e.g. MOSI sentiment in [-3, 3]); NaN = none
  std::string transcript;
};

struct Dialogue {
  std::string id;
  std::vector<Utterance> utterances;
  // features[m] is (length(), DatasetInfo::modality_dims[m]); 0 x 0 when the dataset lacks m.
  std::array<FeatureMatrix, kNumModalities> features;
  // (length(), 3) row-major, 1 = modality m was observed for that utterance in the source data
  // (e.g. no face found in a video). Empty = everything the dataset has is present.
  std::vector<uint8_t> present;
  // Optional per-utterance semantic vectors (length(), DatasetInfo::semantic_dim), e.g. an LLM's
  // embedding of the transcript or of its emotion keywords, computed offline
  // (docs/semantic_vectors.md). Not a modality: no presence bit, and the missing-modality
  // protocols leave it alone. 0 x 0 when the dataset has none.
  FeatureMatrix semantic;
  // Per-utterance sequences (SequenceFeatures above), one store per modality, only when
  // DatasetInfo::has_sequences (then exactly for the modalities the dataset has, each with
  // length() utterances and dim = modality_dims[m]); all absent otherwise. `features` is always
  // filled too (the reader's per-utterance summary, e.g. the mean over the valid steps), so models
  // that read one vector per utterance ignore the sequences.
  std::array<SequenceFeatures, kNumModalities> sequences;

  int64_t length() const { return static_cast<int64_t>(utterances.size()); }
  bool is_present(int64_t utt, Modality m) const {
    return present.empty() || present[static_cast<size_t>(utt * kNumModalities + index_of(m))] != 0;
  }
};

struct Partition {
  std::string name;                // "train", "valid", "test", "dev", ...
  std::vector<int64_t> dialogues;  // indices into Dataset::dialogues
};

struct SplitScheme {
  std::string name;                    // "standard", "poria", "given", "loso-1", ...
  std::vector<Partition> partitions;   // in order train, valid/dev, test where present
  const Partition* find(std::string_view partition) const;  // nullptr when absent
};

struct DatasetInfo {
  std::string name;              // human name, e.g. "CMU-MOSI"
  std::string source_format;     // the reader that produced it, e.g. "mosi-poria"
  Task task = Task::kClassification;
  // Classes for classification; for regression datasets the binary names the score maps to
  // (e.g. {"negative", "positive"}), used for Acc-2 style reports.
  std::vector<std::string> class_names;
  int64_t num_speakers = 1;      // party slots (see Utterance::speaker)
  std::array<int64_t, kNumModalities> modality_dims = {0, 0, 0};  // 0 = modality absent
  std::array<std::string, kNumModalities> modality_sources;        // e.g. "textCNN", "IS10"
  int64_t semantic_dim = 0;      // K of Dialogue::semantic; 0 = the dataset has no semantic vectors
  std::string semantic_source;   // where they came from, e.g. the folder name "qwen2-keywords"
  // Dialogue::sequences are filled (ReadOptions::keep_sequences with a format that has sequences,
  // e.g. MMSA); sequence dims equal modality_dims.
  bool has_sequences = false;
  std::string notes;             // provenance / how it was read

  bool has(Modality m) const { return modality_dims[static_cast<size_t>(index_of(m))] > 0; }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
};

struct Dataset {
  DatasetInfo info;
  std::vector<Dialogue> dialogues;
  std::vector<SplitScheme> split_schemes;  // the first one is the default
  std::vector<std::string> warnings;       // recoverable defects met while reading, for reports

  int64_t num_utterances() const;
  // "" = the default (first) scheme. Throws merc::UnknownNameError listing valid names.
  const SplitScheme& scheme(std::string_view name = "") const;
  // Dialogues of one partition of a scheme. Throws merc::UnknownNameError listing valid names.
  std::vector<const Dialogue*> partition(std::string_view partition, std::string_view scheme = "") const;

  // Checks internal consistency (feature, semantic and sequence shapes vs dims, sequence offsets, label/speaker ranges, split indices in
  // range and disjoint within a scheme, unique dialogue ids). Throws merc::FormatError naming
  // `source` and the first problem found.
  void validate(const std::string& source) const;
};

// Appends `w` to dataset.warnings and logs it.
void add_warning(Dataset& dataset, std::string w);

}  // namespace merc::data
