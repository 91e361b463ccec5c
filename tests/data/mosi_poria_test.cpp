#include "merc/data/readers/mosi_poria.h"

#include <gtest/gtest.h>
#include "test_labels.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "merc/core/error.h"

namespace merc::data {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(MERC_FIXTURE_DIR) / "mosi";

Dataset read_dir(const fs::path& dir) {
  ReadOptions opts;
  opts.format = "mosi-poria";
  return read_dataset(dir, opts);
}

// A scratch copy of the fixture that a test may break.
fs::path scratch_copy(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("merc_mosi_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(kFixture, dir, fs::copy_options::recursive);
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

std::string error_of(const fs::path& dir) {
  try {
    read_dir(dir);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(MosiPoria, FixtureJoinsFeaturesScoresAndBothSplits) {
  ASSERT_TRUE(detect_mosi_poria(make_probe(kFixture)));
  const Dataset ds = read_dir(kFixture);
  EXPECT_EQ(ds.info.task, Task::kRegression);
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{4, 3, 2}));
  ASSERT_EQ(ds.dialogues.size(), 3u);
  EXPECT_EQ(ds.dialogues[1].id, "vidB");
  EXPECT_EQ(ds.num_utterances(), 6);
  // vidB_2 is the 4th utterance in global order (k = 3): audio[j] = 100 + 30 + 0.25 j.
  const Dialogue& b = ds.dialogues[1];
  EXPECT_EQ(b.utterances[1].id, "vidB_2");
  EXPECT_FLOAT_EQ(b.features[1].row(1)[2], 130.5f);
  EXPECT_FLOAT_EQ(b.features[0].row(1)[0], 30.0f);
  EXPECT_FLOAT_EQ(b.features[2].row(2)[1], 240.25f);
  EXPECT_FLOAT_EQ(b.utterances[1].score, 2.8f);
  EXPECT_EQ(b.utterances[1].label, 1);
  EXPECT_EQ(b.utterances[0].label, 1);  // score 0, Poria label 1 kept as given
  EXPECT_EQ(b.utterances[2].label, 0);
  EXPECT_EQ(b.utterances[2].transcript, "utterance vidB_3");  // from the pickle's sentences
  EXPECT_TRUE(ds.warnings.empty());

  const SplitScheme& standard = ds.scheme("standard");
  EXPECT_EQ(&standard, &ds.scheme());  // standard is the default
  EXPECT_EQ(standard.find("train")->dialogues, (std::vector<int64_t>{0}));
  EXPECT_EQ(standard.find("valid")->dialogues, (std::vector<int64_t>{1}));
  EXPECT_EQ(standard.find("test")->dialogues, (std::vector<int64_t>{2}));
  const SplitScheme& poria = ds.scheme("poria");
  EXPECT_EQ(poria.find("train")->dialogues, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(poria.find("test")->dialogues, (std::vector<int64_t>{2}));
}

TEST(MosiPoria, MisalignedLabelIsAnErrorNamingTheFileAndLine) {
  const fs::path dir = scratch_copy("label");
  std::string audio = slurp(dir / "poria" / "audio_train0.csv");
  const auto pos = audio.find("\"1\"\r\n");  // first row's label 1 -> 0
  audio.replace(pos, 3, "\"0\"");
  spit(dir / "poria" / "audio_train0.csv", audio);
  const std::string msg = error_of(dir);
  EXPECT_NE(msg.find("audio_train0.csv: line 1: label 0 disagrees"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(MosiPoria, MissingOrTruncatedFilesAreNamed) {
  const fs::path dir = scratch_copy("missing");
  fs::remove(dir / "poria" / "video_test0.csv");
  std::string msg = error_of(dir);
  EXPECT_NE(msg.find("video_test0.csv"), std::string::npos) << msg;
  fs::copy_file(kFixture / "poria" / "video_test0.csv", dir / "poria" / "video_test0.csv");

  const std::string pkl = slurp(dir / "CMUMOSI_features_raw_2way.pkl");
  spit(dir / "CMUMOSI_features_raw_2way.pkl", pkl.substr(0, pkl.size() / 2));
  msg = error_of(dir);
  EXPECT_NE(msg.find("CMUMOSI_features_raw_2way.pkl"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(MosiPoria, RowCountMismatchAcrossModalitiesIsAnError) {
  const fs::path dir = scratch_copy("rows");
  std::string text = slurp(dir / "poria" / "text_train0.csv");
  text.erase(text.rfind("\r\n", text.size() - 3) + 2);  // drop the last row
  spit(dir / "poria" / "text_train0.csv", text);
  const std::string msg = error_of(dir);
  EXPECT_NE(msg.find("must line up"), std::string::npos) << msg;
  fs::remove_all(dir);
}

// The real data in ../shared/data/mosi: counts from ../shared/data/README.md.
TEST(MosiPoria, RealDataMatchesPublishedCounts) {
  const fs::path dir = fs::path(MERC_SHARED_DATA_DIR) / "mosi";
  MERC_REQUIRE_PREREQUISITE(fs::exists(dir / "transcripts.csv"), dir / "transcripts.csv");
  const Dataset ds = read_dataset(dir);
  EXPECT_EQ(ds.info.source_format, "mosi-poria");
  EXPECT_EQ(ds.dialogues.size(), 93u);
  EXPECT_EQ(ds.num_utterances(), 2199);
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{100, 73, 100}));
  auto count = [&](const std::string& scheme, const std::string& part) {
    int64_t n = 0;
    for (const Dialogue* d : ds.partition(part, scheme)) n += d->length();
    return std::make_pair(static_cast<int64_t>(ds.scheme(scheme).find(part)->dialogues.size()), n);
  };
  EXPECT_EQ(count("standard", "train"), std::make_pair(int64_t{52}, int64_t{1284}));
  EXPECT_EQ(count("standard", "valid"), std::make_pair(int64_t{10}, int64_t{229}));
  EXPECT_EQ(count("standard", "test"), std::make_pair(int64_t{31}, int64_t{686}));
  EXPECT_EQ(count("poria", "train"), std::make_pair(int64_t{62}, int64_t{1447}));
  EXPECT_EQ(count("poria", "test"), std::make_pair(int64_t{31}, int64_t{752}));
  // README: sign(score) agrees with the binary label for every non-zero score.
  EXPECT_TRUE(ds.warnings.empty()) << ds.warnings.front();
  for (const Dialogue& d : ds.dialogues)
    for (const Utterance& u : d.utterances) {
      ASSERT_FALSE(std::isnan(u.score));
      ASSERT_GE(u.score, -3.0f);
      ASSERT_LE(u.score, 3.0f);
      ASSERT_FALSE(u.transcript.empty()) << u.id;
    }
}

}  // namespace
}  // namespace merc::data
