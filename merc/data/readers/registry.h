#pragma once
// THE table of dataset formats merc reads. Each row names a format, says what file layout it is,
// how to recognise it cheaply and how to read it into a Dataset. Formats are listed in
// registry.cpp; there is no static self-registration.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/io/pickle.h"

namespace merc::data {

struct ReadOptions {
  std::string format;  // registry name; empty = detect
  // Per-utterance feature folders (GCNet / MoMKE / ComP layout: <dir>/<uid>.npy, video as
  // <dir>/<uid>/*.npy), keyed by modality. Empty = labels only.
  std::map<Modality, std::filesystem::path> feature_dirs;
  // Per-utterance semantic vectors (<dir>/<uid>.npy, load_semantic_folder), applied by read_dataset
  // after whichever reader read the input, so every format takes them. Empty = none added.
  std::filesystem::path semantic_dir;
  // Keep per-utterance sequences (Dialogue::sequences) where the input has them: the MMSA reader
  // keeps each sample's valid steps, a native merc file its stored sequences. Off (the default):
  // one averaged vector per utterance only, and a native file's sequences are not loaded. Other
  // formats have no sequences and ignore it.
  bool keep_sequences = false;
};

// What detection and reading get: the input path and, when it is a pickle file, its parsed root
// (parsed once, shared by every pickle layout's detect and read).
struct Probe {
  std::filesystem::path path;
  bool is_directory = false;
  io::PyRef pickle;  // null unless `path` is a pickle file
};

struct FormatReader {
  std::string name;         // e.g. "m3net-iemocap"
  std::string description;  // one line: the file layout and which code bases publish it
  bool (*detect)(const Probe&);
  Dataset (*read)(const Probe&, const ReadOptions&);
};

const std::vector<FormatReader>& format_readers();
// Throws merc::UnknownNameError listing the valid names.
const FormatReader& find_format_reader(std::string_view name);

// Builds the probe for `path` (parsing it when it is a pickle). Throws FormatError for a missing
// path or an unreadable pickle.
Probe make_probe(const std::filesystem::path& path);
// The first registered format whose detect() accepts `probe`; throws FormatError listing the
// formats when none does.
const FormatReader& detect_format(const Probe& probe);

// Reads any supported input: options.format if given, else detection; then loads
// options.semantic_dir when given. The result is validated.
// `format_used`, when given, receives the name of the reader that read it (for a native merc file
// that is "merc", while info.source_format keeps the format the data was converted from).
Dataset read_dataset(const std::filesystem::path& path, const ReadOptions& options = {},
                     std::string* format_used = nullptr);

}  // namespace merc::data
