#include "merc/data/readers/meld_csv.h"

#include <gtest/gtest.h>
#include "test_labels.h"

#include <filesystem>
#include <fstream>

#include "merc/core/error.h"

namespace merc::data {
namespace {

namespace fs = std::filesystem;

const fs::path kMeldFixture = fs::path(MERC_FIXTURE_DIR) / "tables" / "meld";
const fs::path kMeldReal = fs::path(MERC_SHARED_DATA_DIR) / "meld";

std::string meld_error_of(const fs::path& path) {
  try {
    read_dataset(path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

// A scratch directory holding one MELD table with `body` below the official header.
fs::path write_meld_table(const std::string& test, const std::string& header, const std::string& body) {
  const fs::path dir = fs::temp_directory_path() / ("merc_meld_" + test);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "train_sent_emo.csv", std::ios::binary) << header << body;
  return dir;
}

const std::string kMeldHeader =
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n";

TEST(MeldCsv, FixtureDirectoryGroupsOrdersAndLabels) {
  const Dataset ds = read_dataset(kMeldFixture);
  EXPECT_EQ(ds.info.source_format, "meld-csv");
  EXPECT_EQ(ds.info.class_names, meld_emotion_names());
  EXPECT_EQ(ds.info.num_speakers, 3);  // train dialogue 1: Chandler, Monica, Ross
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{0, 0, 0}));
  ASSERT_EQ(ds.split_schemes.size(), 1u);
  EXPECT_EQ(ds.scheme().name, "given");
  ASSERT_EQ(ds.scheme().partitions.size(), 2u);
  EXPECT_EQ(ds.scheme().partitions[0].name, "train");
  EXPECT_EQ(ds.scheme().partitions[1].name, "dev");

  const auto train = ds.partition("train");
  ASSERT_EQ(train.size(), 2u);
  // Dialogue_ID order, not file order (dialogue 1 comes first in the file).
  EXPECT_EQ(train[0]->id, "train/dia0");
  EXPECT_EQ(train[1]->id, "train/dia1");
  const Dialogue& d1 = *train[1];
  ASSERT_EQ(d1.length(), 4);
  // Utterance_ID order 0..3 although the file lists 1, 0, 2, 3.
  const std::vector<std::string> ids = {"dia1_utt0", "dia1_utt1", "dia1_utt2", "dia1_utt3"};
  const std::vector<std::string> names = {"Chandler", "Monica", "Ross", "Chandler"};
  const std::vector<int64_t> speakers = {0, 1, 2, 0};
  // neutral=0 joy=4 anger=6 surprise=1 in the pickles' order.
  const std::vector<int64_t> labels = {0, 4, 6, 1};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(d1.utterances[i].id, ids[i]);
    EXPECT_EQ(d1.utterances[i].speaker_name, names[i]);
    EXPECT_EQ(d1.utterances[i].speaker, speakers[i]);
    EXPECT_EQ(d1.utterances[i].label, labels[i]);
  }
  EXPECT_EQ(d1.utterances[1].transcript, "Oh, hi!");
  EXPECT_EQ(d1.utterances[2].transcript, "He said \"no\".");
  EXPECT_EQ(d1.utterances[3].transcript, "You\xE2\x80\x99re late.");
  const Dialogue& d0 = *train[0];
  ASSERT_EQ(d0.length(), 3);
  EXPECT_EQ(d0.utterances[1].transcript, "Wait,\r\nwhat?");  // line break inside quotes, verbatim
  EXPECT_EQ((std::vector<int64_t>{d0.utterances[0].label, d0.utterances[1].label, d0.utterances[2].label}),
            (std::vector<int64_t>{3, 2, 5}));  // sadness, fear, disgust
  EXPECT_EQ((std::vector<int64_t>{d0.utterances[0].speaker, d0.utterances[1].speaker, d0.utterances[2].speaker}),
            (std::vector<int64_t>{0, 1, 0}));

  const auto dev = ds.partition("dev");  // the dev table has a BOM: Sr No. must still parse
  ASSERT_EQ(dev.size(), 2u);
  EXPECT_EQ(dev[0]->id, "dev/dia0");
  EXPECT_EQ(dev[1]->id, "dev/dia3");
  EXPECT_EQ(dev[0]->utterances[1].speaker, 0);  // Phoebe twice
  EXPECT_TRUE(ds.warnings.empty());
}

TEST(MeldCsv, SingleTableIsOneNamedPartition) {
  const Dataset ds = read_dataset(kMeldFixture / "dev_sent_emo.csv");
  EXPECT_EQ(ds.info.source_format, "meld-csv");
  ASSERT_EQ(ds.scheme().partitions.size(), 1u);
  EXPECT_EQ(ds.scheme().partitions[0].name, "dev");
  EXPECT_EQ(ds.num_utterances(), 3);
  EXPECT_EQ(ds.info.num_speakers, 1);
}

TEST(MeldCsv, UnrecognisedFileNameIsPartitionAllAndDetectedByHeader) {
  const fs::path dir = write_meld_table("all", kMeldHeader, "1,Hi.,A,joy,positive,5,0,1,1,x,y\n");
  fs::rename(dir / "train_sent_emo.csv", dir / "friends.csv");
  const Probe probe = make_probe(dir / "friends.csv");
  EXPECT_EQ(detect_format(probe).name, "meld-csv");
  const Dataset ds = read_dataset(dir / "friends.csv");
  EXPECT_EQ(ds.scheme().partitions[0].name, "all");
  EXPECT_EQ(ds.dialogues[0].id, "all/dia5");
  fs::remove_all(dir);
}

TEST(MeldCsv, UnknownEmotionNamesFileLineAndValue) {
  const fs::path dir = write_meld_table("unknown", kMeldHeader,
                                        "1,Hi.,A,joy,positive,0,0,1,1,x,y\n2,Ho.,B,happy,positive,0,1,1,1,x,y\n");
  EXPECT_EQ(meld_error_of(dir),
            (dir / "train_sent_emo.csv").string() +
                ": line 3: unknown Emotion 'happy' (valid: neutral, surprise, fear, sadness, joy, disgust, anger)");
  fs::remove_all(dir);
}

TEST(MeldCsv, MissingColumnNamesIt) {
  const fs::path dir = write_meld_table("column", "Sr No.,Utterance,Speaker,Emotion,Sentiment,Utterance_ID\n",
                                        "1,Hi.,A,joy,positive,0\n");
  const std::string msg = meld_error_of(dir);
  EXPECT_NE(msg.find("no column 'Dialogue_ID'"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(MeldCsv, DuplicateUtteranceIdAndBadIntegerAreErrors) {
  fs::path dir = write_meld_table("dup", kMeldHeader,
                                  "1,Hi.,A,joy,positive,0,0,1,1,x,y\n2,Ho.,B,joy,positive,0,0,1,1,x,y\n");
  EXPECT_EQ(meld_error_of(dir), (dir / "train_sent_emo.csv").string() +
                                    ": line 3: Dialogue_ID 0 has Utterance_ID 0 twice (also line 2)");
  dir = write_meld_table("int", kMeldHeader, "1,Hi.,A,joy,positive,zero,0,1,1,x,y\n");
  EXPECT_EQ(meld_error_of(dir), (dir / "train_sent_emo.csv").string() +
                                    ": line 2: column 'Dialogue_ID': 'zero' is not an integer");
  fs::remove_all(dir);
}

TEST(MeldCsv, MissingFileAndEmptyDirectory) {
  const fs::path missing = kMeldFixture / "test_sent_emo.csv";
  EXPECT_EQ(meld_error_of(missing), missing.string() + ": no such file or directory");
  const fs::path empty = fs::temp_directory_path() / "merc_meld_empty";
  fs::create_directories(empty);
  ReadOptions options;
  options.format = "meld-csv";
  try {
    read_dataset(empty, options);
    FAIL() << "expected a FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("no MELD table"), std::string::npos) << e.what();
  }
  fs::remove_all(empty);
}

// Real tables (declare-lab/MELD @ 2d2011b4). Expected counts from /work/shared/data/README.md;
// class counts computed once, independently of merc, with
//   /usr/bin/python3 -c "import csv,collections; print(collections.Counter(r['Emotion'] for r in
//   csv.DictReader(open('train_sent_emo.csv', encoding='utf-8'))))"
TEST(MeldCsv, RealTrainAndDevTables) {
  MERC_REQUIRE_PREREQUISITE(fs::exists(kMeldReal / "train_sent_emo.csv") && fs::exists(kMeldReal / "dev_sent_emo.csv"),
                            "the MELD tables under " << kMeldReal);
  const Dataset ds = read_dataset(kMeldReal);
  const auto train = ds.partition("train");
  const auto dev = ds.partition("dev");
  int64_t train_utts = 0, dev_utts = 0;
  std::vector<int64_t> counts(7, 0);
  for (const Dialogue* d : train) {
    train_utts += d->length();
    for (const auto& u : d->utterances) ++counts[static_cast<size_t>(u.label)];
  }
  for (const Dialogue* d : dev) dev_utts += d->length();
  EXPECT_EQ(train.size(), 1038u);
  EXPECT_EQ(train_utts, 9989);
  EXPECT_EQ(dev.size(), 114u);
  EXPECT_EQ(dev_utts, 1109);
  // neutral, surprise, fear, sadness, joy, disgust, anger
  EXPECT_EQ(counts, (std::vector<int64_t>{4710, 1205, 268, 683, 1743, 271, 1109}));
  EXPECT_EQ(ds.info.num_speakers, 9);  // the largest train dialogue has 9 distinct speakers
  EXPECT_FALSE(ds.scheme().find("test"));
  // Dialogue_ID 60 does not exist in train (README).
  for (const Dialogue* d : train) EXPECT_NE(d->id, "train/dia60");
  EXPECT_EQ(train[0]->utterances[0].speaker_name, "Chandler");
  EXPECT_EQ(train[0]->utterances[1].speaker_name, "The Interviewer");
  EXPECT_EQ(train[0]->utterances[1].speaker, 1);
}

}  // namespace
}  // namespace merc::data
