#include "merc/data/readers/mosi_poria.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "merc/core/error.h"
#include "merc/data/readers/gcnet_labels.h"
#include "merc/io/csv.h"

namespace merc::data {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLabelPickle = "CMUMOSI_features_raw_2way.pkl";
constexpr const char* kSplits[] = {"train", "test"};
// Poria's file names per merc modality (text, audio, visual).
constexpr const char* kPoriaNames[] = {"text", "audio", "video"};

struct TranscriptRow {
  std::string uid;
  std::string text;
  int64_t binary_label = 0;
};

// One utterance's row in the Poria CSVs.
struct JoinedRow {
  std::array<std::vector<float>, kNumModalities> features;
  int64_t label = 0;
  std::string split;  // "train" / "test" (the Poria split)
  bool used = false;
};

io::CsvOptions no_header() {
  io::CsvOptions o;
  o.has_header = false;
  return o;
}

std::vector<TranscriptRow> read_transcripts(const fs::path& dir) {
  const std::string path = (dir / "transcripts.csv").string();
  const io::CsvTable t = io::read_csv_file(path, no_header());
  if (!t.rows.empty() && t.rows[0].size() != 4)
    MERC_FORMAT_ERROR(path, "expected 4 columns (uid, transcript, video_index, binary_label), got {}", t.rows[0].size());
  std::vector<TranscriptRow> out;
  out.reserve(t.rows.size());
  for (int64_t r = 0; r < t.num_rows(); ++r) {
    TranscriptRow row{t.cell(r, 0), t.cell(r, 1), t.integer(r, 3)};
    if (row.binary_label != 0 && row.binary_label != 1)
      MERC_FORMAT_ERROR(path, "line {}: binary label must be 0 or 1, got {}", t.line_numbers[static_cast<size_t>(r)],
                        row.binary_label);
    out.push_back(std::move(row));
  }
  return out;
}

// Joins one Poria split: row r of poria/<m>_<split>0.csv is the utterance whose transcript row
// is column 0 of row r of text_<split>.csv.
void join_split(const fs::path& dir, const std::string& split, const std::vector<TranscriptRow>& transcripts,
                std::unordered_map<std::string, JoinedRow>& joined) {
  const std::string key_path = (dir / ("text_" + split + ".csv")).string();
  const io::CsvTable keys = io::read_csv_file(key_path, no_header());
  std::array<io::CsvTable, kNumModalities> feats;
  for (int m = 0; m < kNumModalities; ++m) {
    const std::string p = (dir / "poria" / (std::string(kPoriaNames[m]) + "_" + split + "0.csv")).string();
    feats[static_cast<size_t>(m)] = io::read_csv_file(p, no_header());
    if (feats[static_cast<size_t>(m)].num_rows() != keys.num_rows())
      MERC_FORMAT_ERROR(p, "{} rows, but {} has {} rows (the files must line up row by row)",
                        feats[static_cast<size_t>(m)].num_rows(), key_path, keys.num_rows());
  }
  const io::CsvTable& text = feats[0];
  if (keys.num_rows() > 0 && keys.rows[0].size() != text.rows[0].size())
    MERC_FORMAT_ERROR(key_path, "{} columns, expected 1 + {} text features", keys.rows[0].size(), text.rows[0].size() - 1);

  for (int64_t r = 0; r < keys.num_rows(); ++r) {
    const int64_t line = keys.line_numbers[static_cast<size_t>(r)];
    const int64_t t_index = keys.integer(r, 0);
    if (t_index < 0 || t_index >= static_cast<int64_t>(transcripts.size()))
      MERC_FORMAT_ERROR(key_path, "line {}: transcript row {} outside 0..{}", line, t_index, transcripts.size() - 1);
    const TranscriptRow& tr = transcripts[static_cast<size_t>(t_index)];
    JoinedRow row;
    row.split = split;
    row.label = tr.binary_label;
    for (int m = 0; m < kNumModalities; ++m) {
      const io::CsvTable& f = feats[static_cast<size_t>(m)];
      const int64_t ncols = static_cast<int64_t>(f.rows[static_cast<size_t>(r)].size());
      auto& v = row.features[static_cast<size_t>(m)];
      v.reserve(static_cast<size_t>(ncols - 1));
      for (int64_t c = 0; c + 1 < ncols; ++c) v.push_back(static_cast<float>(f.number(r, c)));
      const int64_t label = f.integer(r, ncols - 1);
      if (label != tr.binary_label)
        MERC_FORMAT_ERROR(f.source, "line {}: label {} disagrees with transcripts.csv label {} for {} (rows misaligned?)",
                          f.line_numbers[static_cast<size_t>(r)], label, tr.binary_label, tr.uid);
    }
    // The key file repeats the text features (printed with fewer digits): they must match the
    // Poria text row as float32, or the join is wrong. 1e-5 relative covers the 6-digit printing.
    for (int64_t c = 1; c < static_cast<int64_t>(keys.rows[static_cast<size_t>(r)].size()); ++c) {
      const double a = keys.number(r, c), b = row.features[0][static_cast<size_t>(c - 1)];
      if (std::abs(a - b) > 1e-5 * std::max(1.0, std::abs(b)))
        MERC_FORMAT_ERROR(key_path, "line {}: text feature {} is {} but {} has {} (rows misaligned?)", line, c - 1, a,
                          text.source, b);
    }
    if (!joined.emplace(tr.uid, std::move(row)).second)
      MERC_FORMAT_ERROR(key_path, "line {}: utterance {} appears twice in the Poria CSVs", line, tr.uid);
  }
}

}  // namespace

bool detect_mosi_poria(const Probe& probe) {
  if (!probe.is_directory) return false;
  std::error_code ec;
  return fs::is_regular_file(probe.path / "transcripts.csv", ec) &&
         fs::is_regular_file(probe.path / "poria" / "text_train0.csv", ec) &&
         fs::is_regular_file(probe.path / kLabelPickle, ec);
}

Dataset read_mosi_poria(const Probe& probe, const ReadOptions& /*options*/) {
  const fs::path dir = probe.path;
  const std::vector<TranscriptRow> transcripts = read_transcripts(dir);
  std::unordered_map<std::string, JoinedRow> joined;
  for (const char* split : kSplits) join_split(dir, split, transcripts, joined);

  // 1. Videos, utterance ids, scores, sentences and the standard split: GCNet's label pickle, read
  //    by the gcnet-labels reader (dialogues in sorted train, valid, test order as GCNet has them).
  const std::string pkl_path = (dir / kLabelPickle).string();
  Dataset ds = read_gcnet_label_pickle(make_probe(dir / kLabelPickle));
  if (ds.info.task != Task::kRegression)
    MERC_FORMAT_ERROR(pkl_path, "expected the CMU-MOSI label pickle (a list of 7 with float scores)");
  ds.info.name = "CMU-MOSI";
  ds.info.notes = "Poria et al. (ACL 2017) utterance features joined to GCNet's CMU-MOSI label pickle; "
                  "label = Poria binary label, score = sentiment in [-3, 3]";
  ds.info.modality_sources = {"text CNN (Poria et al. 2017)", "openSMILE (Poria et al. 2017)",
                              "3D-CNN (Poria et al. 2017)"};

  // 2. Join the Poria features and binary labels by utterance id.
  std::unordered_map<std::string, const TranscriptRow*> by_uid;
  for (const auto& t : transcripts) by_uid[t.uid] = &t;
  int64_t sign_disagreements = 0;
  for (Dialogue& d : ds.dialogues) {
    const int64_t L = d.length();
    if (L == 0) MERC_FORMAT_ERROR(pkl_path, "video {} lists no utterances", d.id);
    std::array<std::vector<float>, kNumModalities> rows;
    for (Utterance& u : d.utterances) {
      auto it = joined.find(u.id);
      if (it == joined.end())
        MERC_FORMAT_ERROR(pkl_path, "video {}: utterance {} has no row in the Poria feature CSVs", d.id, u.id);
      JoinedRow& row = it->second;
      row.used = true;
      if (!std::isfinite(u.score) || std::abs(u.score) > 3.0f)
        MERC_FORMAT_ERROR(pkl_path, "video {} utterance {}: score {} is not a finite value in [-3, 3]", d.id, u.id,
                          u.score);
      u.label = row.label;
      if (u.score != 0.0f && (u.score > 0.0f) != (u.label == 1)) ++sign_disagreements;
      // Some releases leave the pickle's sentences empty; transcripts.csv has them all.
      if (u.transcript.empty())
        if (auto t = by_uid.find(u.id); t != by_uid.end()) u.transcript = t->second->text;
      for (int m = 0; m < kNumModalities; ++m) {
        const auto& f = row.features[static_cast<size_t>(m)];
        auto& dim = ds.info.modality_dims[static_cast<size_t>(m)];
        if (dim == 0) dim = static_cast<int64_t>(f.size());
        if (static_cast<int64_t>(f.size()) != dim)
          MERC_FORMAT_ERROR((dir / "poria").string(), "utterance {}: {} features have {} values, others {}", u.id,
                            kPoriaNames[m], f.size(), dim);
        rows[static_cast<size_t>(m)].insert(rows[static_cast<size_t>(m)].end(), f.begin(), f.end());
      }
    }
    for (int m = 0; m < kNumModalities; ++m) {
      FeatureMatrix& fm = d.features[static_cast<size_t>(m)];
      fm.rows = L;
      fm.cols = ds.info.modality_dims[static_cast<size_t>(m)];
      fm.values = std::move(rows[static_cast<size_t>(m)]);
    }
  }

  int64_t unused = 0;
  for (const auto& [uid, row] : joined) unused += row.used ? 0 : 1;
  if (unused > 0)
    add_warning(ds, fmt::format("{}: {} utterance(s) of the Poria CSVs are not in the label pickle and were left out",
                                dir.string(), unused));
  if (sign_disagreements > 0)
    add_warning(ds, fmt::format("{}: {} non-zero score(s) disagree in sign with the Poria binary label",
                                dir.string(), sign_disagreements));

  // 3. Poria split: a video belongs where its utterances' CSV rows are.
  SplitScheme poria{"poria", {{"train", {}}, {"test", {}}}};
  for (size_t i = 0; i < ds.dialogues.size(); ++i) {
    const Dialogue& d = ds.dialogues[i];
    const std::string& split = joined.at(d.utterances.front().id).split;
    for (const auto& u : d.utterances)
      if (joined.at(u.id).split != split)
        MERC_FORMAT_ERROR(dir.string(), "video {} has utterances in both Poria train and test CSVs", d.id);
    poria.partitions[split == "train" ? 0 : 1].dialogues.push_back(static_cast<int64_t>(i));
  }
  ds.split_schemes.push_back(std::move(poria));
  return ds;
}

}  // namespace merc::data
