// data.features / --features entries as read options, and semantic=DIR on every dataset format.
#include "merc/app/data_cmd.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

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

}  // namespace
}  // namespace merc::app
