#include "merc/data/dataset_file.h"

#include <gtest/gtest.h>
#include "test_labels.h"
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/data/readers/registry.h"
#include "merc/io/safetensors.h"

namespace merc::data {
namespace {

// Helpers live in a named namespace: test sources are compiled as a unity build.
namespace dataset_file_test {

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("merc_dsfile_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

Utterance utt(std::string id, std::string speaker_name, int64_t speaker, int64_t label, float score,
              std::string transcript) {
  Utterance u;
  u.id = std::move(id);
  u.speaker_name = std::move(speaker_name);
  u.speaker = speaker;
  u.label = label;
  u.score = score;
  u.transcript = std::move(transcript);
  return u;
}

// Three dialogues (one empty), text (dim 3) and visual (dim 2) but no audio, UTF-8 strings, NaN
// scores, an unlabelled utterance, an explicit presence mask on one dialogue, two split schemes.
Dataset tiny_dataset() {
  Dataset ds;
  ds.info.name = "Tiny \xe2\x9c\x93";
  ds.info.source_format = "unit-test";
  ds.info.task = Task::kRegression;
  ds.info.class_names = {"negative", "positive"};
  ds.info.num_speakers = 2;
  ds.info.modality_dims = {3, 0, 2};
  ds.info.modality_sources = {"glove", "", "facet"};
  ds.info.notes = "made by dataset_file_test";

  Dialogue a;
  a.id = "dlg_a";
  a.utterances = {utt("a_1", "M", 0, 1, 2.5f, "Hello \"world\"\n\ttab"), utt("a_2", "F", 1, -1, kNoScore, "")};
  a.features[0] = FeatureMatrix(2, 3);
  a.features[0].values = {0.1f, -0.0f, 3e38f, 1e-45f, -7.25f, 1.0f};
  a.features[2] = FeatureMatrix(2, 2);
  a.features[2].values = {1.0f, 2.0f, 3.0f, 4.0f};
  Dialogue empty;
  empty.id = "dlg_empty";
  empty.features[0] = FeatureMatrix(0, 3);
  empty.features[2] = FeatureMatrix(0, 2);
  Dialogue c;
  c.id = "dlg_\xc3\xa9t\xc3\xa9";
  c.utterances = {utt("c_1", "", 0, 0, -3.0f, "caf\xc3\xa9"), utt("c_2", "", 0, 1, 0.0f, "\xe4\xbd\xa0\xe5\xa5\xbd"),
                  utt("c_3", "", 1, 0, -0.0f, " ")};
  c.features[0] = FeatureMatrix(3, 3);
  for (size_t i = 0; i < 9; ++i) c.features[0].values[i] = static_cast<float>(i) * 0.5f - 1.0f;
  c.features[2] = FeatureMatrix(3, 2);
  c.features[2].values = {6, 5, 4, 3, 2, 1};
  c.present = {1, 0, 1, 1, 0, 0, 0, 0, 1};  // (3, 3): text missing for c_3, visual missing for c_2
  ds.dialogues = {a, empty, c};

  SplitScheme standard{"standard", {{"train", {0, 1}}, {"test", {2}}}};
  SplitScheme other{"other", {{"train", {2}}, {"valid", {}}, {"test", {0}}}};
  ds.split_schemes = {standard, other};
  ds.warnings = {"first warning", "second \xe2\x80\x94 with a dash"};
  return ds;
}

// tiny_dataset with K = 4 semantic vectors (bit patterns that must survive: -0.0, a denormal).
Dataset tiny_with_semantic() {
  Dataset ds = tiny_dataset();
  ds.info.semantic_dim = 4;
  ds.info.semantic_source = "qwen-keywords";
  float next = 0.5f;
  for (Dialogue& d : ds.dialogues) {
    d.semantic = FeatureMatrix(d.length(), 4);
    for (float& v : d.semantic.values) v = (next += 1.0f);
  }
  ds.dialogues[0].semantic.values[1] = -0.0f;
  ds.dialogues[2].semantic.values[5] = 1e-45f;
  return ds;
}

// tiny_dataset with per-utterance sequences (text dim 3, visual dim 2; no audio): text lengths
// a: 2, 0 and c: 1, 3, 0; visual a: 1, 1 and c: 0, 2, 1; the empty dialogue holds none. Values
// count up from 0.25, with bit patterns that must survive (-0.0, a denormal).
Dataset tiny_with_sequences() {
  Dataset ds = tiny_dataset();
  ds.info.has_sequences = true;
  const std::vector<std::vector<int64_t>> text_lengths = {{2, 0}, {}, {1, 3, 0}}, visual_lengths = {{1, 1}, {}, {0, 2, 1}};
  float next = 0.25f;
  for (size_t d = 0; d < ds.dialogues.size(); ++d) {
    for (size_t m : {size_t{0}, size_t{2}}) {
      SequenceFeatures s(ds.info.modality_dims[m]);
      for (int64_t len : (m == 0 ? text_lengths : visual_lengths)[d]) {
        std::vector<float> rows(static_cast<size_t>(len * s.dim));
        for (float& v : rows) v = (next += 1.0f);
        s.append(rows.data(), len);
      }
      ds.dialogues[d].sequences[m] = s;
    }
  }
  ds.dialogues[0].sequences[0].values[1] = -0.0f;
  ds.dialogues[2].sequences[2].values[3] = 1e-45f;
  return ds;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_same_matrix(const FeatureMatrix& want, const FeatureMatrix& got, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.cols, want.cols);
  ASSERT_EQ(got.values.size(), want.values.size());
  for (size_t i = 0; i < want.values.size(); ++i) EXPECT_TRUE(same_bits(got.values[i], want.values[i])) << i;
}

void expect_same_sequences(const SequenceFeatures& want, const SequenceFeatures& got, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(got.empty(), want.empty());
  EXPECT_EQ(got.dim, want.dim);
  EXPECT_EQ(got.offsets, want.offsets);
  ASSERT_EQ(got.values.size(), want.values.size());
  for (size_t i = 0; i < want.values.size(); ++i) EXPECT_TRUE(same_bits(got.values[i], want.values[i])) << i;
}

void expect_same_dataset(const Dataset& want, const Dataset& got) {
  EXPECT_EQ(got.info.name, want.info.name);
  EXPECT_EQ(got.info.source_format, want.info.source_format);
  EXPECT_EQ(got.info.task, want.info.task);
  EXPECT_EQ(got.info.class_names, want.info.class_names);
  EXPECT_EQ(got.info.num_speakers, want.info.num_speakers);
  EXPECT_EQ(got.info.modality_dims, want.info.modality_dims);
  EXPECT_EQ(got.info.modality_sources, want.info.modality_sources);
  EXPECT_EQ(got.info.notes, want.info.notes);
  EXPECT_EQ(got.info.semantic_dim, want.info.semantic_dim);
  EXPECT_EQ(got.info.semantic_source, want.info.semantic_source);
  EXPECT_EQ(got.info.has_sequences, want.info.has_sequences);
  EXPECT_EQ(got.warnings, want.warnings);
  ASSERT_EQ(got.split_schemes.size(), want.split_schemes.size());
  for (size_t s = 0; s < want.split_schemes.size(); ++s) {
    EXPECT_EQ(got.split_schemes[s].name, want.split_schemes[s].name);
    ASSERT_EQ(got.split_schemes[s].partitions.size(), want.split_schemes[s].partitions.size());
    for (size_t p = 0; p < want.split_schemes[s].partitions.size(); ++p) {
      EXPECT_EQ(got.split_schemes[s].partitions[p].name, want.split_schemes[s].partitions[p].name);
      EXPECT_EQ(got.split_schemes[s].partitions[p].dialogues, want.split_schemes[s].partitions[p].dialogues);
    }
  }
  ASSERT_EQ(got.dialogues.size(), want.dialogues.size());
  for (size_t d = 0; d < want.dialogues.size(); ++d) {
    const Dialogue& w = want.dialogues[d];
    const Dialogue& g = got.dialogues[d];
    SCOPED_TRACE(w.id);
    EXPECT_EQ(g.id, w.id);
    EXPECT_EQ(g.present, w.present);
    ASSERT_EQ(g.utterances.size(), w.utterances.size());
    for (size_t u = 0; u < w.utterances.size(); ++u) {
      EXPECT_EQ(g.utterances[u].id, w.utterances[u].id);
      EXPECT_EQ(g.utterances[u].speaker_name, w.utterances[u].speaker_name);
      EXPECT_EQ(g.utterances[u].speaker, w.utterances[u].speaker);
      EXPECT_EQ(g.utterances[u].label, w.utterances[u].label);
      EXPECT_TRUE(same_bits(g.utterances[u].score, w.utterances[u].score)) << u;  // NaN and -0.0 exactly
      EXPECT_EQ(g.utterances[u].transcript, w.utterances[u].transcript);
    }
    for (Modality m : kAllModalities)
      expect_same_matrix(w.features[static_cast<size_t>(index_of(m))], g.features[static_cast<size_t>(index_of(m))],
                         modality_name(m));
    expect_same_matrix(w.semantic, g.semantic, "semantic");
    for (Modality m : kAllModalities)
      expect_same_sequences(w.sequences[static_cast<size_t>(index_of(m))], g.sequences[static_cast<size_t>(index_of(m))],
                            std::string("sequences ") + modality_name(m));
  }
}

// Copies the file at `src` to `dst` through the generic safetensors API, letting `edit` change the
// metadata and the tensor list first. Used to build inconsistent dataset files.
void rewrite(const std::string& src, const std::string& dst,
             const std::function<void(std::map<std::string, std::string>&, std::vector<io::TensorToWrite>&)>& edit) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(src);
  std::map<std::string, std::string> md = f.metadata();
  std::vector<io::TensorToWrite> tensors;
  for (const auto& t : f.tensors()) tensors.push_back({t.name, t.dtype, t.shape, t.data, t.size});
  edit(md, tensors);
  io::write_safetensors_file(dst, tensors, md);
}

void expect_read_error(const std::string& path, const std::string& needle) {
  try {
    read_dataset_file(path);
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace dataset_file_test

using namespace dataset_file_test;

TEST(DatasetFile, RoundTripIsExact) {
  TempDir dir;
  Dataset both = tiny_with_sequences();
  both.info.semantic_dim = 1;
  for (Dialogue& d : both.dialogues) d.semantic = FeatureMatrix(d.length(), 1);
  for (const Dataset& ds : {tiny_dataset(), tiny_with_semantic(), tiny_with_sequences(), both}) {
    SCOPED_TRACE(ds.info.semantic_dim + (ds.info.has_sequences ? 100 : 0));
    const std::string path = dir.file("tiny.safetensors");
    write_dataset_file(ds, path);
    expect_same_dataset(ds, read_dataset_file(path));
  }
}

TEST(DatasetFile, TensorLayoutMatchesTheDocumentation) {
  TempDir dir;
  const std::string path = dir.file("tiny.safetensors");
  write_dataset_file(tiny_dataset(), path);
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  std::map<std::string, std::pair<io::StDType, std::vector<int64_t>>> got;
  for (const auto& t : f.tensors()) got[t.name] = {t.dtype, t.shape};
  const std::map<std::string, std::pair<io::StDType, std::vector<int64_t>>> want = {
      {"features.text", {io::StDType::kF32, {5, 3}}},  {"features.visual", {io::StDType::kF32, {5, 2}}},
      {"present", {io::StDType::kU8, {5, 3}}},         {"speaker", {io::StDType::kI64, {5}}},
      {"label", {io::StDType::kI64, {5}}},             {"score", {io::StDType::kF32, {5}}},
      {"dialogue_offsets", {io::StDType::kI64, {4}}},
  };
  EXPECT_EQ(got, want);  // no features.audio: the dataset has no audio
  std::vector<int64_t> off(4);
  std::memcpy(off.data(), f.tensor("dialogue_offsets").data, 32);
  EXPECT_EQ(off, (std::vector<int64_t>{0, 2, 2, 5}));
  // present: dialogue a had no mask -> written as ones; dialogue c's mask as given.
  const uint8_t* p = f.tensor("present").data;
  EXPECT_EQ(std::vector<uint8_t>(p, p + 15), (std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1}));
  const auto& md = f.metadata();
  EXPECT_EQ(md.at("format"), "merc.dataset");
  EXPECT_EQ(md.at("format_version"), "1");
  for (const char* key : {"info", "dialogue_ids", "utterance_ids", "speaker_names", "transcripts", "splits", "warnings"})
    EXPECT_FALSE(nlohmann::json::parse(md.at(key), nullptr, false).is_discarded()) << key;
  EXPECT_EQ(md.size(), 9u);
  EXPECT_EQ(nlohmann::json::parse(md.at("splits")),
            nlohmann::json::parse(R"([{"name":"standard","partitions":[{"name":"train","dialogues":[0,1]},)"
                                  R"({"name":"test","dialogues":[2]}]},{"name":"other","partitions":[)"
                                  R"({"name":"train","dialogues":[2]},{"name":"valid","dialogues":[]},)"
                                  R"({"name":"test","dialogues":[0]}]}])"));
  EXPECT_EQ(nlohmann::json::parse(md.at("info"))["modality_dims"], nlohmann::json::parse(R"({"text":3,"audio":0,"visual":2})"));
}

// The round trip itself: RoundTripIsExact.
TEST(DatasetFile, SemanticVectorsAreWrittenAsFormatVersion2) {
  TempDir dir;
  const std::string path = dir.file("sem.safetensors");
  write_dataset_file(tiny_with_semantic(), path);
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  EXPECT_EQ(f.metadata().at("format_version"), "2");
  const io::TensorView& t = f.tensor("semantic");
  EXPECT_EQ(t.dtype, io::StDType::kF32);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{5, 4}));
  const auto info = nlohmann::json::parse(f.metadata().at("info"));
  EXPECT_EQ(info["semantic_dim"], 4);
  EXPECT_EQ(info["semantic_source"], "qwen-keywords");
}

// A file without semantic vectors is written exactly as format version 1 was (so merc builds that
// predate version 2 read it), and such a file reads back with none.
TEST(DatasetFile, FilesWithoutSemanticVectorsStayVersion1) {
  TempDir dir;
  write_dataset_file(tiny_dataset(), dir.file("v1.safetensors"));
  const io::SafetensorsFile f = io::SafetensorsFile::open(dir.file("v1.safetensors"));
  EXPECT_EQ(f.metadata().at("format_version"), "1");
  EXPECT_EQ(f.find("semantic"), nullptr);
  const auto info = nlohmann::json::parse(f.metadata().at("info"));
  EXPECT_FALSE(info.contains("semantic_dim"));
  EXPECT_FALSE(info.contains("semantic_source"));
  const Dataset got = read_dataset_file(dir.file("v1.safetensors"));
  EXPECT_EQ(got.info.semantic_dim, 0);
  for (const Dialogue& d : got.dialogues) EXPECT_TRUE(d.semantic.empty()) << d.id;
}

TEST(DatasetFile, SequencesAreWrittenAsFormatVersion3) {
  TempDir dir;
  const std::string path = dir.file("seq.safetensors");
  write_dataset_file(tiny_with_sequences(), path);
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  EXPECT_EQ(f.metadata().at("format_version"), "3");
  EXPECT_EQ(nlohmann::json::parse(f.metadata().at("info"))["has_sequences"], true);
  // Offsets over all 5 utterances in file order: a (2, 0), empty, c (1, 3, 0) -> S = 6 text steps.
  const io::TensorView& off = f.tensor("sequence_offsets.text");
  EXPECT_EQ(off.dtype, io::StDType::kI64);
  std::vector<int64_t> got(6);
  ASSERT_EQ(off.shape, (std::vector<int64_t>{6}));
  std::memcpy(got.data(), off.data, 48);
  EXPECT_EQ(got, (std::vector<int64_t>{0, 2, 2, 3, 6, 6}));
  EXPECT_EQ(f.tensor("sequence.text").shape, (std::vector<int64_t>{6, 3}));
  EXPECT_EQ(f.tensor("sequence.text").dtype, io::StDType::kF32);
  std::memcpy(got.data(), f.tensor("sequence_offsets.visual").data, 48);
  EXPECT_EQ(got, (std::vector<int64_t>{0, 1, 2, 2, 4, 5}));
  EXPECT_EQ(f.tensor("sequence.visual").shape, (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(f.find("sequence.audio"), nullptr);  // the dataset has no audio
  EXPECT_EQ(f.find("sequence_offsets.audio"), nullptr);
}

TEST(DatasetFile, StoredSequencesAreLoadedOnlyWhenAskedFor) {
  TempDir dir;
  const Dataset ds = tiny_with_sequences();
  const std::string path = dir.file("seq.safetensors");
  write_dataset_file(ds, path);
  Dataset without = ds;
  without.info.has_sequences = false;
  for (Dialogue& d : without.dialogues) d.sequences = {};
  expect_same_dataset(without, read_dataset_file(path, /*keep_sequences=*/false));
  expect_same_dataset(without, read_dataset(path));  // ReadOptions::keep_sequences defaults to false
  ReadOptions o;
  o.keep_sequences = true;
  expect_same_dataset(ds, read_dataset(path, o));
}

TEST(DatasetFile, InconsistentSequencesAreRejected) {
  TempDir dir;
  const std::string src = dir.file("seq.safetensors"), bad = dir.file("bad.safetensors");
  write_dataset_file(tiny_with_sequences(), src);
  using Md = std::map<std::string, std::string>;
  using Ts = std::vector<io::TensorToWrite>;
  const std::vector<int64_t> decreasing = {0, 2, 1, 3, 6, 6}, short_end = {0, 2, 2, 3, 5, 5}, bad_start = {1, 2, 2, 3, 6, 6};
  auto set_text_offsets = [](const std::vector<int64_t>& v) {
    return [&v](Md&, Ts& ts) {
      for (auto& t : ts)
        if (t.name == "sequence_offsets.text") t.data = v.data();
    };
  };
  rewrite(src, bad, set_text_offsets(decreasing));
  expect_read_error(bad, "sequence_offsets.text decrease at entry 2 (1 after 2)");
  rewrite(src, bad, set_text_offsets(short_end));
  expect_read_error(bad, "sequence_offsets.text end at 5 but tensor 'sequence.text' has 6 steps");
  rewrite(src, bad, set_text_offsets(bad_start));
  expect_read_error(bad, "sequence_offsets.text[0] is 1, expected 0");
  // Checked even when the sequences are not loaded.
  try {
    read_dataset_file(bad, /*keep_sequences=*/false);
    ADD_FAILURE() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("sequence_offsets.text[0] is 1"), std::string::npos) << e.what();
  }
  rewrite(src, bad, [](Md& md, Ts&) {
    auto j = nlohmann::json::parse(md["info"]);
    j.erase("has_sequences");
    md["info"] = j.dump();
  });
  expect_read_error(bad, "unexpected tensor 'sequence");
  rewrite(src, bad, [](Md&, Ts& ts) {
    ts.erase(std::remove_if(ts.begin(), ts.end(), [](const io::TensorToWrite& t) { return t.name == "sequence.visual"; }),
             ts.end());
  });
  expect_read_error(bad, "no tensor 'sequence.visual'");
  // Version 2 does not define them: a v2 file carrying them is malformed, not silently read.
  rewrite(src, bad, [](Md& md, Ts&) { md["format_version"] = "2"; });
  expect_read_error(bad, "__metadata__.info has an unexpected key 'has_sequences'");
}

TEST(DatasetFile, InconsistentSemanticVectorsAreRejected) {
  TempDir dir;
  const std::string src = dir.file("sem.safetensors"), bad = dir.file("bad.safetensors");
  write_dataset_file(tiny_with_semantic(), src);
  auto edit_info = [](const std::function<void(nlohmann::json&)>& f) {
    return [f](std::map<std::string, std::string>& md, std::vector<io::TensorToWrite>&) {
      auto j = nlohmann::json::parse(md["info"]);
      f(j);
      md["info"] = j.dump();
    };
  };
  rewrite(src, bad, edit_info([](nlohmann::json& j) { j["semantic_dim"] = 3; }));
  expect_read_error(bad, "tensor 'semantic' is F32 [5, 4], expected F32 [5, 3]");
  rewrite(src, bad, edit_info([](nlohmann::json& j) { j.erase("semantic_dim"); }));
  expect_read_error(bad, "unexpected tensor 'semantic'");
  rewrite(src, bad, [](auto& md, auto& ts) {
    ts.erase(std::remove_if(ts.begin(), ts.end(), [](const io::TensorToWrite& t) { return t.name == "semantic"; }),
             ts.end());
    (void)md;
  });
  expect_read_error(bad, "no tensor");
  // Version 1 does not define the fields: a v1 file carrying them is malformed, not silently read.
  rewrite(src, bad, [](auto& md, auto&) { md["format_version"] = "1"; });
  expect_read_error(bad, "__metadata__.info has an unexpected key 'semantic_dim'");
}

TEST(DatasetFile, NoPresentTensorWithoutMasksAndAllOnesMasksReadBackEmpty) {
  TempDir dir;
  Dataset ds = tiny_dataset();
  ds.dialogues[2].present.clear();
  write_dataset_file(ds, dir.file("a.safetensors"));
  EXPECT_EQ(io::SafetensorsFile::open(dir.file("a.safetensors")).find("present"), nullptr);
  expect_same_dataset(ds, read_dataset_file(dir.file("a.safetensors")));

  ds.dialogues[2].present.assign(9, 1);  // explicit "all present" means the same as no mask
  write_dataset_file(ds, dir.file("b.safetensors"));
  EXPECT_TRUE(read_dataset_file(dir.file("b.safetensors")).dialogues[2].present.empty());
}

TEST(DatasetFile, EmptyDatasetRoundTrips) {
  TempDir dir;
  Dataset ds;
  ds.info.name = "nothing";
  write_dataset_file(ds, dir.file("e.safetensors"));
  expect_same_dataset(ds, read_dataset_file(dir.file("e.safetensors")));
}

TEST(DatasetFile, SniffAndRegistryDetection) {
  TempDir dir;
  const Dataset ds = tiny_dataset();
  // A non-.safetensors extension too: detection must not depend on the name.
  for (const char* name : {"d.safetensors", "d.bin"}) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name);
    write_dataset_file(ds, path);
    EXPECT_TRUE(is_merc_dataset_file(path));
    EXPECT_EQ(detect_format(make_probe(path)).name, "merc");
    expect_same_dataset(ds, read_dataset(path));
  }
  EXPECT_EQ(find_format_reader("merc").description, "merc native dataset file (.safetensors, safetensors-compatible)");

  const float x = 1.0f;
  io::write_safetensors_file(dir.file("other.safetensors"), {{"x", io::StDType::kF32, {1}, &x, 4}}, {{"format", "pt"}});
  EXPECT_FALSE(is_merc_dataset_file(dir.file("other.safetensors")));
  expect_read_error(dir.file("other.safetensors"), "not a merc dataset file (__metadata__.format is 'pt'");
  EXPECT_FALSE(is_merc_dataset_file(dir.file("missing.safetensors")));
  std::ofstream(dir.file("text.txt")) << "hello";
  EXPECT_FALSE(is_merc_dataset_file(dir.file("text.txt")));
}

TEST(DatasetFile, NewerVersionIsAClearError) {
  TempDir dir;
  write_dataset_file(tiny_dataset(), dir.file("a.safetensors"));
  rewrite(dir.file("a.safetensors"), dir.file("v4.safetensors"), [](auto& md, auto&) { md["format_version"] = "4"; });
  expect_read_error(dir.file("v4.safetensors"),
                    "format_version 4 was written by a newer merc (this merc reads up to 3)");
  rewrite(dir.file("a.safetensors"), dir.file("vx.safetensors"), [](auto& md, auto&) { md["format_version"] = "1.0"; });
  expect_read_error(dir.file("vx.safetensors"), "is not a version number");
  rewrite(dir.file("a.safetensors"), dir.file("v0.safetensors"), [](auto& md, auto&) { md["format_version"] = "0"; });
  expect_read_error(dir.file("v0.safetensors"), "not a known version");
}

TEST(DatasetFile, InconsistentFilesAreRejected) {
  TempDir dir;
  const std::string src = dir.file("a.safetensors");
  write_dataset_file(tiny_dataset(), src);
  const std::string bad = dir.file("bad.safetensors");
  using Md = std::map<std::string, std::string>;
  using Ts = std::vector<io::TensorToWrite>;
  auto tensor_named = [](Ts& ts, const std::string& name) -> io::TensorToWrite& {
    for (auto& t : ts)
      if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  };
  const std::vector<int64_t> decreasing = {0, 3, 2, 5}, short_end = {0, 2, 2, 4}, bad_start = {1, 2, 2, 5};
  const std::vector<int32_t> labels32 = {0, 0, 0, 0, 0};
  const std::vector<uint8_t> present2(15, 2);
  const float extra = 0.0f;

  struct Case {
    const char* what;
    std::function<void(Md&, Ts&)> edit;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"ids too short", [](Md& md, Ts&) { md["utterance_ids"] = R"(["a_1"])"; },
       "__metadata__.utterance_ids has 1 entries but the file has 5 utterances"},
      {"dialogue ids", [](Md& md, Ts&) { md["dialogue_ids"] = R"(["x","y"])"; }, "has 2 entries but the file has 3 dialogues"},
      {"transcript type", [](Md& md, Ts&) { md["transcripts"] = R"(["","",1,"",""])"; }, "transcripts entry 2 is not a string"},
      {"not json", [](Md& md, Ts&) { md["speaker_names"] = "[oops"; }, "__metadata__.speaker_names is not valid JSON"},
      {"missing key", [](Md& md, Ts&) { md.erase("splits"); }, "__metadata__ lacks the key 'splits'"},
      {"format missing", [](Md& md, Ts&) { md.erase("format"); }, "__metadata__.format is missing"},
      {"info key", [](Md& md, Ts&) { md["info"] = R"({"name":"x"})"; }, "__metadata__.info lacks 'source_format'"},
      {"info task", [](Md& md, Ts&) {
         auto j = nlohmann::json::parse(md["info"]);
         j["task"] = "ranking";
         md["info"] = j.dump();
       }, "task 'ranking' is neither"},
      {"info extra", [](Md& md, Ts&) {
         auto j = nlohmann::json::parse(md["info"]);
         j["colour"] = "blue";
         md["info"] = j.dump();
       }, "unexpected key 'colour'"},
      {"dims vs tensor", [](Md& md, Ts&) {
         auto j = nlohmann::json::parse(md["info"]);
         j["modality_dims"]["text"] = 4;
         md["info"] = j.dump();
       }, "tensor 'features.text' is F32 [5, 3], expected F32 [5, 4]"},
      {"undeclared modality", [](Md& md, Ts&) {
         auto j = nlohmann::json::parse(md["info"]);
         j["modality_dims"]["visual"] = 0;
         md["info"] = j.dump();
       }, "unexpected tensor 'features.visual'"},
      {"offsets decrease", [&](Md&, Ts& ts) { tensor_named(ts, "dialogue_offsets").data = decreasing.data(); },
       "dialogue_offsets decrease at entry 2"},
      {"offsets end", [&](Md&, Ts& ts) { tensor_named(ts, "dialogue_offsets").data = short_end.data(); },
       "dialogue_offsets end at 4 but the file has 5 utterances"},
      {"offsets start", [&](Md&, Ts& ts) { tensor_named(ts, "dialogue_offsets").data = bad_start.data(); },
       "dialogue_offsets[0] is 1"},
      {"label dtype", [&](Md&, Ts& ts) {
         auto& t = tensor_named(ts, "label");
         t.dtype = io::StDType::kI32;
         t.data = labels32.data();
         t.size = 20;
       }, "tensor 'label' is I32 [5], expected I64 [*]"},
      {"missing tensor", [](Md&, Ts& ts) { ts.erase(ts.begin() + 1); }, "no tensor"},
      {"present values", [&](Md&, Ts& ts) { tensor_named(ts, "present").data = present2.data(); },
       "tensor 'present' holds 2 at element 0"},
      {"extra tensor", [&](Md&, Ts& ts) { ts.push_back({"features.smell", io::StDType::kF32, {1}, &extra, 4}); },
       "unexpected tensor 'features.smell'"},
      {"split out of range", [](Md& md, Ts&) { md["splits"] = R"([{"name":"s","partitions":[{"name":"train","dialogues":[7]}]}])"; },
       "split 's/train' refers to dialogue #7 of 3"},
      {"split negative", [](Md& md, Ts&) { md["splits"] = R"([{"name":"s","partitions":[{"name":"train","dialogues":[-1]}]}])"; },
       "partition dialogue index must be a non-negative integer"},
      {"warnings type", [](Md& md, Ts&) { md["warnings"] = R"({"a":1})"; }, "__metadata__.warnings is not a JSON array"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    rewrite(src, bad, c.edit);
    expect_read_error(bad, c.needle);
  }
}

TEST(DatasetFile, LabelOutOfRangeIsCaughtByValidate) {
  TempDir dir;
  write_dataset_file(tiny_dataset(), dir.file("a.safetensors"));
  const std::vector<int64_t> labels = {0, 0, 9, 0, 0};
  rewrite(dir.file("a.safetensors"), dir.file("b.safetensors"), [&](auto&, auto& ts) {
    for (auto& t : ts)
      if (t.name == "label") t.data = labels.data();
  });
  expect_read_error(dir.file("b.safetensors"), "label 9 outside 0..1");
}

TEST(DatasetFile, WriteIsAtomicAndValidatesFirst) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  write_dataset_file(tiny_dataset(), path);
  Dataset broken = tiny_dataset();
  broken.dialogues[0].features[0].values.pop_back();  // inconsistent: refused before writing
  EXPECT_THROW(write_dataset_file(broken, path), FormatError);
  expect_same_dataset(tiny_dataset(), read_dataset_file(path));  // the old file is intact
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);  // no temporary file left behind
  EXPECT_THROW(write_dataset_file(tiny_dataset(), dir.file("no/such/dir/x.safetensors")), Error);
}

TEST(DatasetFile, TruncatedFilesAreFormatErrors) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  write_dataset_file(tiny_dataset(), path);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t len : {size_t{0}, size_t{7}, size_t{8}, size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(len);
    std::ofstream(dir.file("t.safetensors"), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(len));
    EXPECT_THROW(read_dataset_file(dir.file("t.safetensors")), FormatError);
  }
}

// Runs the json + numpy snippet from docs/dataset_file.md on a written file and compares what
// Python sees with the dataset, value for value (floats as bit patterns).
TEST(DatasetFile, DocumentedNumpySnippetReadsTheFile) {
  MERC_REQUIRE_PREREQUISITE(std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0,
                            "/usr/bin/python3 with numpy (Debian python3-numpy)");
  std::ifstream doc(std::string(MERC_SOURCE_DIR) + "/docs/dataset_file.md");
  ASSERT_TRUE(doc) << "docs/dataset_file.md missing";
  const std::string md((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  const std::string marker = "<!-- tested: dataset_file_test.cpp -->\n```python\n";
  const size_t start = md.find(marker);
  ASSERT_NE(start, std::string::npos) << "snippet marker missing from docs/dataset_file.md";
  const size_t code = start + marker.size();
  const std::string snippet = md.substr(code, md.find("```", code) - code);

  TempDir dir;
  Dataset ds = tiny_with_sequences();  // format version 3 (semantic vectors and sequences): the snippet reads it unchanged
  ds.info.semantic_dim = 4;
  ds.info.semantic_source = "qwen-keywords";
  for (size_t d = 0; d < ds.dialogues.size(); ++d) ds.dialogues[d].semantic = tiny_with_semantic().dialogues[d].semantic;
  write_dataset_file(ds, dir.file("tiny.safetensors"));
  const std::string script = snippet + R"(
import sys
tensors, meta = load_merc_dataset(sys.argv[1])
out = {
    "text_bits": tensors["features.text"].view("<u4").ravel().tolist(),
    "text_shape": list(tensors["features.text"].shape),
    "score_bits": tensors["score"].view("<u4").tolist(),
    "label": tensors["label"].tolist(),
    "offsets": tensors["dialogue_offsets"].tolist(),
    "present": tensors["present"].ravel().tolist(),
    "utterance_ids": meta["utterance_ids"],
    "transcripts": meta["transcripts"],
    "info_name": meta["info"]["name"],
    "format": meta["format"],
    "semantic_bits": tensors["semantic"].view("<u4").ravel().tolist(),
    "semantic_shape": list(tensors["semantic"].shape),
    "semantic_dim": meta["info"]["semantic_dim"],
    "sequence_offsets": tensors["sequence_offsets.visual"].tolist(),
    "sequence_bits": tensors["sequence.visual"].view("<u4").ravel().tolist(),
    "sequence_shape": list(tensors["sequence.visual"].shape),
}
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(out, f)
)";
  std::ofstream(dir.file("check.py")) << script;
  const std::string cmd = "/usr/bin/python3 " + dir.file("check.py") + " " + dir.file("tiny.safetensors") + " " +
                          dir.file("out.json");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << script;
  std::ifstream out(dir.file("out.json"));
  const auto j = nlohmann::json::parse(out);

  std::vector<uint32_t> text_bits, score_bits, semantic_bits, sequence_bits;
  std::vector<int64_t> labels;
  std::vector<std::string> ids, transcripts;
  for (const auto& d : ds.dialogues) {
    auto append_bits = [](const std::vector<float>& values, std::vector<uint32_t>& out) {
      for (float v : values) {
        uint32_t b;
        std::memcpy(&b, &v, 4);
        out.push_back(b);
      }
    };
    append_bits(d.features[0].values, text_bits);
    append_bits(d.semantic.values, semantic_bits);
    append_bits(d.sequences[2].values, sequence_bits);
    for (const auto& u : d.utterances) {
      uint32_t b;
      std::memcpy(&b, &u.score, 4);
      score_bits.push_back(b);
      labels.push_back(u.label);
      ids.push_back(u.id);
      transcripts.push_back(u.transcript);
    }
  }
  EXPECT_EQ(j["text_bits"].get<std::vector<uint32_t>>(), text_bits);
  EXPECT_EQ(j["text_shape"].get<std::vector<int64_t>>(), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(j["score_bits"].get<std::vector<uint32_t>>(), score_bits);
  EXPECT_EQ(j["label"].get<std::vector<int64_t>>(), labels);
  EXPECT_EQ(j["offsets"].get<std::vector<int64_t>>(), (std::vector<int64_t>{0, 2, 2, 5}));
  EXPECT_EQ(j["present"].get<std::vector<int>>(), (std::vector<int>{1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(j["utterance_ids"].get<std::vector<std::string>>(), ids);
  EXPECT_EQ(j["transcripts"].get<std::vector<std::string>>(), transcripts);
  EXPECT_EQ(j["info_name"].get<std::string>(), ds.info.name);
  EXPECT_EQ(j["format"].get<std::string>(), "merc.dataset");
  EXPECT_EQ(j["semantic_bits"].get<std::vector<uint32_t>>(), semantic_bits);
  EXPECT_EQ(j["semantic_shape"].get<std::vector<int64_t>>(), (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(j["semantic_dim"].get<int64_t>(), 4);
  EXPECT_EQ(j["sequence_offsets"].get<std::vector<int64_t>>(), (std::vector<int64_t>{0, 1, 2, 2, 4, 5}));
  EXPECT_EQ(j["sequence_bits"].get<std::vector<uint32_t>>(), sequence_bits);
  EXPECT_EQ(j["sequence_shape"].get<std::vector<int64_t>>(), (std::vector<int64_t>{5, 2}));
}

}  // namespace
}  // namespace merc::data
