// data.features / --features entries as read options, and semantic=DIR on every dataset format.
#include "merc/app/data_cmd.h"

#include <gtest/gtest.h>
#include "test_labels.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "../data/semantic_test_util.h"
#include "merc/app/train_cmd.h"
#include "merc/core/error.h"
#include "merc/data/dataset_file.h"

namespace merc::app {
namespace {

namespace fs = std::filesystem;
using namespace data::semantic_testing;

// Named: test sources are compiled as a unity build.
namespace data_cmd_test {

std::string data_cmd_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

DataSource data_source_of(const std::string& path, std::vector<std::string> features) {
  DataSource s;
  s.path = path;
  s.features = std::move(features);
  return s;
}

// Reads `path` without semantic vectors, writes a K = 3 folder for its utterance ids, reads it
// again with semantic=DIR and checks that every row is the one written for that utterance.
void expect_semantic_applies(const std::string& path, const ScratchDir& scratch, const std::string& folder) {
  SCOPED_TRACE(path.empty() ? "embedded default dataset" : path);
  const data::Dataset plain = load_dataset(data_source_of(path, {}));
  EXPECT_EQ(plain.info.semantic_dim, 0);
  const fs::path dir = scratch.path() / folder;
  write_semantic_folder(plain, dir, 3);
  const data::Dataset ds = load_dataset(data_source_of(path, {"semantic=" + dir.string()}));
  EXPECT_TRUE(has_written_vectors(ds, 3));
  EXPECT_EQ(ds.info.semantic_source, folder);
  EXPECT_EQ(ds.num_utterances(), plain.num_utterances());
}

}  // namespace data_cmd_test

using namespace data_cmd_test;

TEST(DataCmd, FeaturesEntriesNameModalitiesOrTheSemanticFolder) {
  const data::ReadOptions o =
      read_options(data_source_of("", {"audio=feats/wav2vec", "semantic=feats/llm", "t=feats/txt"}));
  EXPECT_EQ(o.semantic_dir, fs::path("feats/llm"));
  EXPECT_EQ(o.feature_dirs.size(), 2u);
  EXPECT_EQ(o.feature_dirs.at(data::Modality::kAudio), fs::path("feats/wav2vec"));
  EXPECT_TRUE(read_options(data_source_of("", {"audio=a"})).semantic_dir.empty());

  const std::string typo = data_cmd_error_of([] { read_options(data_source_of("", {"semntic=feats/llm"})); });
  for (const char* part : {"unknown modality 'semntic'", "semntic=feats/llm", "text, audio, visual", "semantic"})
    EXPECT_NE(typo.find(part), std::string::npos) << typo << "\nmissing: " << part;
  const std::string twice = data_cmd_error_of([] { read_options(data_source_of("", {"semantic=a", "semantic=b"})); });
  EXPECT_NE(twice.find("names semantic=DIR twice ('a' and 'b')"), std::string::npos) << twice;
  const std::string empty = data_cmd_error_of([] { read_options(data_source_of("", {"semantic="})); });
  EXPECT_NE(empty.find("expects MODALITY=DIR or semantic=DIR"), std::string::npos) << empty;
}

// semantic=DIR is applied by read_dataset after whichever reader read the input.
TEST(DataCmd, SemanticFolderAppliesToEveryFormat) {
  ScratchDir scratch("data_cmd_semantic");
  const std::string mosi = (fs::path(MERC_FIXTURE_DIR) / "mosi").string();  // mosi-poria directory
  expect_semantic_applies(mosi, scratch, "on-mosi-poria");
  const std::string native = (scratch.path() / "mosi.safetensors").string();
  data::write_dataset_file(load_dataset(data_source_of(mosi, {})), native);
  expect_semantic_applies(native, scratch, "on-native");
  expect_semantic_applies("", scratch, "on-default");  // the embedded CMU-MOSI
  const std::string meld = (fs::path(MERC_FIXTURE_DIR) / "tables" / "meld").string();
  expect_semantic_applies(meld, scratch, "on-meld-csv");  // transcript-only CSV tables
}

TEST(DataCmd, SemanticFolderErrorsNameTheUtteranceAndTheFile) {
  ScratchDir scratch("data_cmd_semantic_errors");
  const std::string mosi = (fs::path(MERC_FIXTURE_DIR) / "mosi").string();
  const data::Dataset plain = load_dataset(data_source_of(mosi, {}));
  const fs::path dir = scratch.path() / "sem";
  write_semantic_folder(plain, dir, 3);
  const std::string uid = plain.dialogues.back().utterances.back().id;
  fs::remove(dir / (uid + ".npy"));
  std::string msg = data_cmd_error_of([&] { load_dataset(data_source_of(mosi, {"semantic=" + dir.string()})); });
  EXPECT_NE(msg.find("no semantic vector for utterance '" + uid + "': expected " + (dir / (uid + ".npy")).string()),
            std::string::npos)
      << msg;
  write_vector_file(dir, uid, {4}, {1, 2, 3, 4});
  msg = data_cmd_error_of([&] { load_dataset(data_source_of(mosi, {"semantic=" + dir.string()})); });
  EXPECT_NE(msg.find((dir / (uid + ".npy")).string() + ": semantic vector of utterance '" + uid + "' has dim 4"),
            std::string::npos)
      << msg;
}

// data.features reaches the training, eval and predict data through load_experiment_dataset.
TEST(DataCmd, ExperimentDataTakesTheSemanticEntry) {
  ScratchDir scratch("data_cmd_experiment");
  const std::string mosi = (fs::path(MERC_FIXTURE_DIR) / "mosi").string();
  const fs::path dir = scratch.path() / "sem";
  write_semantic_folder(load_dataset(data_source_of(mosi, {})), dir, 5);
  train::DataConfig config;
  config.path = mosi;
  config.features = {"semantic=" + dir.string()};
  EXPECT_TRUE(has_written_vectors(load_experiment_dataset(config, "", ""), 5));
}

// data.sequences reaches the reader (ReadOptions::keep_sequences) through load_experiment_dataset.
TEST(DataCmd, ExperimentDataKeepsSequencesOnlyWhenAsked) {
  train::DataConfig config;
  config.path = (fs::path(MERC_FIXTURE_DIR) / "imer" / "mmsa" / "MOSI" / "unaligned_50.pkl").string();
  EXPECT_FALSE(config.sequences);  // averaging is the default
  const data::Dataset averaged = load_experiment_dataset(config, "", "");
  EXPECT_FALSE(averaged.info.has_sequences);
  EXPECT_TRUE(averaged.dialogues[0].sequences[0].empty());
  config.sequences = true;
  const data::Dataset kept = load_experiment_dataset(config, "", "");
  EXPECT_TRUE(kept.info.has_sequences);
  EXPECT_EQ(kept.dialogues[0].sequences[1].num_utterances(), kept.dialogues[0].length());
  DataSource src;
  src.sequences = true;
  EXPECT_TRUE(read_options(src).keep_sequences);
}

// scripts/make_semantic_vectors.py reads the ids and transcripts of a merc dataset file (and of a
// CSV) without any model library; --dry-run stops before loading one.
TEST(DataCmd, SemanticVectorScriptReadsNativeFilesAndCsv) {
  MERC_REQUIRE_PREREQUISITE(std::system("/usr/bin/python3 -c 'import json' >/dev/null 2>&1") == 0,
                            "/usr/bin/python3");
  ScratchDir scratch("semantic_script");
  const data::Dataset mosi = load_dataset(data_source_of((fs::path(MERC_FIXTURE_DIR) / "mosi").string(), {}));
  const std::string native = (scratch.path() / "mosi.safetensors").string();
  data::write_dataset_file(mosi, native);
  const std::string csv = (scratch.path() / "t.csv").string();
  std::ofstream(csv) << "utterance_id,transcript\nu1,\"Hello, there\"\nu2,\n";
  auto dry_run = [&](const std::string& input) {
    const std::string out = (scratch.path() / "out.txt").string();
    const std::string cmd = "/usr/bin/python3 " + std::string(MERC_SOURCE_DIR) + "/scripts/make_semantic_vectors.py " +
                            input + " " + (scratch.path() / "vectors").string() + " --dry-run > " + out + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::stringstream text;
    text << std::ifstream(out).rdbuf();
    return text.str();
  };
  const data::Utterance& first = mosi.dialogues.front().utterances.front();
  const std::string a = dry_run(native);
  EXPECT_NE(a.find(native + ": " + std::to_string(mosi.num_utterances()) + " utterances"), std::string::npos) << a;
  EXPECT_NE(a.find("first input: " + first.transcript), std::string::npos) << a;
  EXPECT_NE(a.find("first file: " + (scratch.path() / "vectors" / (first.id + ".npy")).string()), std::string::npos)
      << a;
  const std::string b = dry_run(csv);
  EXPECT_NE(b.find(csv + ": 2 utterances, 1 with an empty transcript"), std::string::npos) << b;
  EXPECT_NE(b.find("first input: Hello, there"), std::string::npos) << b;
  // MELD's utterance ids repeat across splits: the script files them as merc looks them up.
  const data::Dataset meld =
      load_dataset(data_source_of((fs::path(MERC_FIXTURE_DIR) / "tables" / "meld").string(), {}));
  const std::string meld_native = (scratch.path() / "meld.safetensors").string();
  data::write_dataset_file(meld, meld_native);
  const std::string c = dry_run(meld_native);
  const fs::path meld_first =
      scratch.path() / "vectors" / meld.dialogues[0].id / (meld.dialogues[0].utterances[0].id + ".npy");
  EXPECT_NE(c.find("first file: " + meld_first.string()), std::string::npos) << c;
  EXPECT_FALSE(fs::exists(scratch.path() / "vectors"));  // a dry run writes nothing
}

}  // namespace
}  // namespace merc::app
