#include "merc/data/readers/dailydialog.h"

#include <gtest/gtest.h>
#include "test_labels.h"

#include <filesystem>
#include <fstream>

#include "merc/core/error.h"

namespace merc::data {
namespace {

namespace fs = std::filesystem;

const fs::path kDailyFixture = fs::path(MERC_FIXTURE_DIR) / "tables" / "dailydialog";
const fs::path kDailyFlatFixture = fs::path(MERC_FIXTURE_DIR) / "tables" / "dailydialog_flat";
const fs::path kDailyReal = fs::path(MERC_SHARED_DATA_DIR) / "dailydialog";

std::string daily_error_of(const fs::path& path) {
  try {
    read_dataset(path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

// A scratch train/ split with the given text and emotion files.
fs::path write_daily_split(const std::string& test, const std::string& text, const std::string& emotion) {
  const fs::path dir = fs::temp_directory_path() / ("merc_daily_" + test);
  fs::remove_all(dir);
  fs::create_directories(dir / "train");
  std::ofstream(dir / "train" / "dialogues_train.txt", std::ios::binary) << text;
  std::ofstream(dir / "train" / "dialogues_emotion_train.txt", std::ios::binary) << emotion;
  return dir;
}

TEST(DailyDialog, FixtureSplitsSpeakersLabelsAndSkippedLine) {
  const Dataset ds = read_dataset(kDailyFixture);
  EXPECT_EQ(ds.info.source_format, "dailydialog");
  EXPECT_EQ(ds.info.class_names, (std::vector<std::string>{"no_emotion", "anger", "disgust", "fear",
                                                           "happiness", "sadness", "surprise"}));
  EXPECT_EQ(ds.info.num_speakers, 2);
  ASSERT_EQ(ds.scheme().partitions.size(), 2u);
  EXPECT_EQ(ds.scheme().partitions[0].name, "train");
  EXPECT_EQ(ds.scheme().partitions[1].name, "valid");  // the folder is "validation"

  const auto train = ds.partition("train");
  // Line 2 has 3 utterances but 2 labels: skipped, ids keep the source line index.
  ASSERT_EQ(train.size(), 2u);
  EXPECT_EQ(train[0]->id, "train/dia0");
  EXPECT_EQ(train[1]->id, "train/dia2");
  const Dialogue& d = *train[0];
  ASSERT_EQ(d.length(), 3);
  EXPECT_EQ(d.utterances[0].transcript, "Hi , Tom .");  // trimmed
  EXPECT_EQ(d.utterances[2].transcript, "How are you ?");
  EXPECT_EQ(d.utterances[1].id, "dia0_utt1");
  EXPECT_EQ((std::vector<int64_t>{d.utterances[0].speaker, d.utterances[1].speaker, d.utterances[2].speaker}),
            (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(d.utterances[1].speaker_name, "B");
  EXPECT_EQ((std::vector<int64_t>{d.utterances[0].label, d.utterances[1].label, d.utterances[2].label}),
            (std::vector<int64_t>{0, 4, 0}));
  EXPECT_EQ(train[1]->utterances[1].label, 6);

  ASSERT_EQ(ds.warnings.size(), 1u);
  const std::string& w = ds.warnings[0];
  EXPECT_NE(w.find("skipped 1 of 3 dialogues"), std::string::npos) << w;
  EXPECT_NE(w.find("line 2 (3 utterances, 2 labels)"), std::string::npos) << w;
  EXPECT_NE(w.find("dialogues_train.txt"), std::string::npos) << w;

  const auto valid = ds.partition("valid");
  ASSERT_EQ(valid.size(), 1u);
  EXPECT_EQ(valid[0]->id, "valid/dia0");
  EXPECT_EQ(valid[0]->utterances[0].label, 5);
}

TEST(DailyDialog, FlatReleaseAndSingleFiles) {
  EXPECT_EQ(detect_format(make_probe(kDailyFlatFixture)).name, "dailydialog");
  const Dataset flat = read_dataset(kDailyFlatFixture);
  ASSERT_EQ(flat.scheme().partitions.size(), 1u);
  EXPECT_EQ(flat.scheme().partitions[0].name, "all");
  ASSERT_EQ(flat.dialogues.size(), 2u);
  EXPECT_EQ(flat.dialogues[1].id, "all/dia1");
  EXPECT_EQ(flat.dialogues[1].utterances[2].label, 2);
  EXPECT_EQ(flat.dialogues[1].utterances[2].speaker, 0);
  EXPECT_TRUE(flat.warnings.empty());

  const Dataset one = read_dataset(kDailyFixture / "validation" / "dialogues_validation.txt");
  EXPECT_EQ(one.scheme().partitions[0].name, "valid");
  EXPECT_EQ(one.num_utterances(), 2);
  // A split folder itself holds the split files directly.
  const Dataset folder = read_dataset(kDailyFixture / "train");
  EXPECT_EQ(folder.scheme().partitions[0].name, "train");
  EXPECT_EQ(folder.dialogues.size(), 2u);
  // The label file itself is not a dataset.
  EXPECT_FALSE(detect_dailydialog(make_probe(kDailyFixture / "train" / "dialogues_emotion_train.txt")));
}

TEST(DailyDialog, BadLabelLineCountsAndMissingEmotionFile) {
  fs::path dir = write_daily_split("label", "Hi . __eou__ Yo . __eou__\n", "0 7 \n");
  const std::string emotion = (dir / "train" / "dialogues_emotion_train.txt").string();
  EXPECT_EQ(daily_error_of(dir), emotion + ": line 1: emotion label '7' is not one of 0..6");
  dir = write_daily_split("label", "Hi . __eou__ Yo . __eou__\n", "0 x \n");
  EXPECT_EQ(daily_error_of(dir), emotion + ": line 1: emotion label 'x' is not one of 0..6");

  dir = write_daily_split("label", "Hi . __eou__\nYo . __eou__\n", "0 \n");
  EXPECT_EQ(daily_error_of(dir), (dir / "train" / "dialogues_train.txt").string() +
                                     ": 2 dialogue lines but dialogues_emotion_train.txt has 1 label lines");

  fs::remove(emotion);
  ReadOptions forced;
  forced.format = "dailydialog";
  try {
    read_dataset(dir, forced);
    FAIL() << "expected a FormatError";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()),
              emotion + ": missing: DailyDialog emotion labels for dialogues_train.txt");
  }
  // Without its label file the split is not detected as DailyDialog.
  EXPECT_FALSE(detect_dailydialog(make_probe(dir / "train" / "dialogues_train.txt")));
  fs::remove_all(dir);
}

TEST(DailyDialog, EveryLineDefectiveLeavesAnEmptySplitAndOneWarning) {
  const fs::path dir = write_daily_split("alldefect", "a __eou__ b __eou__\nc __eou__\n\n", "0 \n0 0 \n");
  const Dataset ds = read_dataset(dir);
  EXPECT_TRUE(ds.dialogues.empty());
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_NE(ds.warnings[0].find("skipped 2 of 2 dialogues"), std::string::npos) << ds.warnings[0];
  EXPECT_NE(ds.warnings[0].find("line 1 (2 utterances, 1 labels); line 2 (1 utterances, 2 labels)"),
            std::string::npos)
      << ds.warnings[0];
  fs::remove_all(dir);
}

// Real release (train and validation). Counts measured with merc and checked independently with
// a Python one-off: for each line, utterances = split('__eou__')[:-1], labels = split(); train has
// 11118 lines of which line 7852 has 12 utterances but 11 labels (skipped), leaving 11117
// dialogues / 87159 utterances (the README's 87170 counts labels: 87159 + 11). Validation class
// counts: collections.Counter over all label tokens of dialogues_emotion_validation.txt.
TEST(DailyDialog, RealTrainAndValidation) {
  MERC_REQUIRE_PREREQUISITE(fs::exists(kDailyReal / "train" / "dialogues_train.txt") &&
                                fs::exists(kDailyReal / "validation" / "dialogues_validation.txt"),
                            "the DailyDialog release under " << kDailyReal);
  const Dataset ds = read_dataset(kDailyReal);
  const auto train = ds.partition("train");
  const auto valid = ds.partition("valid");
  int64_t train_utts = 0, valid_utts = 0;
  std::vector<int64_t> counts(7, 0);
  for (const Dialogue* d : train) train_utts += d->length();
  for (const Dialogue* d : valid) {
    valid_utts += d->length();
    for (const auto& u : d->utterances) ++counts[static_cast<size_t>(u.label)];
  }
  EXPECT_EQ(train.size(), 11117u);
  EXPECT_EQ(train_utts, 87159);
  EXPECT_EQ(valid.size(), 1000u);
  EXPECT_EQ(valid_utts, 8069);
  EXPECT_EQ(counts, (std::vector<int64_t>{7108, 77, 3, 11, 684, 79, 107}));
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_NE(ds.warnings[0].find("skipped 1 of 11118 dialogues"), std::string::npos) << ds.warnings[0];
  EXPECT_NE(ds.warnings[0].find("line 7852 (12 utterances, 11 labels)"), std::string::npos) << ds.warnings[0];
  for (const Dialogue* d : train) EXPECT_NE(d->id, "train/dia7851");
}

}  // namespace
}  // namespace merc::data
