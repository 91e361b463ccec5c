#pragma once
// Pieces shared by the readers of transcript-only conversation datasets (MELD and EmoryNLP CSV
// tables, DailyDialog text files): split naming, per-dialogue speaker numbering and assembling
// per-split dialogue lists into one Dataset with the "given" split scheme.
//
// Split naming convention (all three readers): partitions keep the name the files use, except
// that "validation"/"valid"/"val" become "valid"; "dev" stays "dev". So MELD and EmoryNLP have
// train/dev/test, DailyDialog train/valid/test. A single file whose split cannot be recognised is
// partition "all". Dialogue ids start with "<partition>/" so they are unique across splits.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "merc/data/dataset.h"

namespace merc::data {

// Party indices by order of first appearance, for one dialogue.
class SpeakerOrder {
 public:
  int64_t index_of(const std::string& name);
  int64_t count() const { return static_cast<int64_t>(names_.size()); }

 private:
  std::vector<std::string> names_;  // dialogues have a handful of speakers: a linear scan is fine
};

// "train" -> "train", "dev" -> "dev", "validation"/"valid"/"val" -> "valid", "test" -> "test"
// (case-insensitive); nullopt for anything else.
std::optional<std::string> canonical_split_name(std::string_view token);

// The partition a file's name announces: the first token of its stem (split at '_', '-', '.')
// that canonical_split_name() accepts ("emorynlp_dev_final.csv" -> "dev"), else "all".
std::string partition_from_filename(const std::filesystem::path& path);

// Orders partitions train, valid, dev, test, then others.
int split_rank(std::string_view partition);

struct SplitFile {
  std::string partition;  // canonical name
  std::filesystem::path path;
};
// The files <dir>/<prefix><split><suffix> that exist, for split in `splits` (file spelling),
// in split_rank order.
std::vector<SplitFile> find_split_files(const std::filesystem::path& dir, std::string_view prefix,
                                        std::string_view suffix,
                                        const std::vector<std::string>& splits);

struct SplitDialogues {
  std::string partition;
  std::vector<Dialogue> dialogues;
};

// Concatenates the parts (in split_rank order) into `info`'s dataset with one split scheme
// "given" (one partition per part) and sets info.num_speakers to the largest party count of any
// dialogue (at least 1). Modalities stay absent: these datasets are transcripts only.
Dataset assemble_transcript_dataset(DatasetInfo info, std::vector<SplitDialogues> parts);

// ASCII whitespace trimmed from both ends (UTF-8 bytes are never touched).
std::string_view trim_ascii(std::string_view s);

// True when every name in `required` is in `header`.
bool has_columns(const std::vector<std::string>& header, const std::vector<std::string>& required);

// Index of `value` (ASCII-trimmed, exact case) in `class_names`. Otherwise a FormatError
// "<source>: line <line>: unknown <column> '<value>' (valid: a, b, ...)".
int64_t class_index(const std::vector<std::string>& class_names, std::string_view value,
                    const std::string& source, int64_t line, std::string_view column);

// "a, b, c".
std::string join_names(const std::vector<std::string>& names);

}  // namespace merc::data
