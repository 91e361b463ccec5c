#pragma once
// DatasetSummary: the facts `merc data inspect` reports about a dataset (counts per split,
// classes, speakers, modalities, dialogue lengths, warnings), computed once and rendered as a
// human-readable report or as JSON.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "merc/data/dataset.h"

namespace merc::data {

struct PartitionCounts {
  std::string name;
  int64_t dialogues = 0;
  int64_t utterances = 0;
  std::vector<int64_t> class_counts;  // per class index (classification labels)
};

struct SchemeCounts {
  std::string name;
  std::vector<PartitionCounts> partitions;
};

struct LengthStats {
  int64_t min = 0;
  int64_t max = 0;
  double mean = 0.0;
};

// Per-utterance sequence lengths of one modality (Dialogue::sequences), over all utterances.
struct SequenceStats {
  std::string modality;
  int64_t max = 0;
  double mean = 0.0;
  int64_t empty = 0;  // utterances with no step (e.g. an MMSA sample without a valid step)
};

struct ScoreStats {
  int64_t count = 0;  // utterances with a score
  double min = 0.0, max = 0.0, mean = 0.0;
  int64_t zeros = 0;  // score == 0 (dropped by the non-zero Acc-2 protocol)
};

struct DatasetSummary {
  std::string format;         // the reader that read the input (e.g. "merc" for a native file)
  std::string source_format;  // the format the data originally came from
  std::string name;
  Task task = Task::kClassification;
  int64_t num_dialogues = 0;
  int64_t num_utterances = 0;
  std::vector<SchemeCounts> schemes;        // first = default
  std::vector<std::string> class_names;
  std::vector<int64_t> class_counts;        // over all utterances
  int64_t unlabelled = 0;                   // utterances with label -1
  int64_t num_speakers = 0;                 // party slots
  int64_t distinct_speaker_names = 0;
  std::vector<std::pair<std::string, int64_t>> modalities;  // (name, dim) for present modalities
  std::vector<std::pair<std::string, std::string>> modality_sources;
  int64_t missing_modality_entries = 0;     // utterance x modality marked not observed
  int64_t semantic_dim = 0;                 // per-utterance semantic vectors (0 = none)
  std::string semantic_source;
  std::vector<SequenceStats> sequences;     // one per modality; empty = no sequences
  LengthStats dialogue_length;
  ScoreStats scores;
  std::vector<std::string> warnings;
  std::string notes;
};

// `format` = the reader used (see read_dataset); empty = dataset.info.source_format.
DatasetSummary summarize(const Dataset& dataset, const std::string& format = "");

// Stable JSON: keys format, source_format, name, task, num_dialogues, num_utterances, splits (default scheme:
// partition -> {dialogues, utterances}), default_split, split_schemes (scheme -> partition ->
// {dialogues, utterances}), classes (name -> count), modalities (name -> dim), speakers,
// dialogue_length {min, mean, max}, scores (regression only), semantic {dim, source} (only when the
// dataset has semantic vectors), sequences (modality -> {max, mean, empty}; only when the dataset
// has sequences), warnings.
nlohmann::ordered_json summary_to_json(const DatasetSummary& summary);
// Multi-line human-readable report.
std::string summary_to_text(const DatasetSummary& summary);

}  // namespace merc::data
