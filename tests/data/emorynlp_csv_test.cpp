#include "merc/data/readers/emorynlp_csv.h"

#include <gtest/gtest.h>
#include "test_labels.h"

#include <filesystem>
#include <fstream>

#include "merc/core/error.h"

namespace merc::data {
namespace {

namespace fs = std::filesystem;

const fs::path kEmoryFixture = fs::path(MERC_FIXTURE_DIR) / "tables" / "emorynlp";
const fs::path kEmoryReal = fs::path(MERC_SHARED_DATA_DIR) / "emorynlp";
const std::string kEmoryHeader =
    "Utterance,Speaker,Emotion,Scene_ID,Utterance_ID,Season,Episode,Start_Time,End_Time\n";

std::string emory_error_of(const fs::path& path) {
  try {
    read_dataset(path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

fs::path write_emory_table(const std::string& test, const std::string& header, const std::string& body) {
  const fs::path dir = fs::temp_directory_path() / ("merc_emory_" + test);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "emorynlp_train_final.csv", std::ios::binary) << header << body;
  return dir;
}

using Names = std::vector<std::string>;

TEST(EmorynlpCsv, PythonStringListLiterals) {
  EXPECT_EQ(parse_python_string_list("['Monica Geller']"), Names{"Monica Geller"});
  EXPECT_EQ(parse_python_string_list("['Monica Geller', 'Phoebe Buffay']"),
            (Names{"Monica Geller", "Phoebe Buffay"}));
  EXPECT_EQ(parse_python_string_list("[\"Phoebe's Assistant\"]"), Names{"Phoebe's Assistant"});
  EXPECT_EQ(parse_python_string_list(" [ 'a\\'b' ,\"c\\\\d\", ] "), (Names{"a'b", "c\\d"}));
  EXPECT_EQ(parse_python_string_list("[]"), Names{});
  EXPECT_EQ(parse_python_string_list("Monica Geller"), Names{"Monica Geller"});  // not a list: one name
  EXPECT_FALSE(parse_python_string_list("['a'").has_value());       // no closing bracket
  EXPECT_FALSE(parse_python_string_list("['a]").has_value());       // unterminated string
  EXPECT_FALSE(parse_python_string_list("['a' 'b']").has_value());  // missing comma
  EXPECT_FALSE(parse_python_string_list("[a]").has_value());        // bare word
  EXPECT_FALSE(parse_python_string_list("['a'] x").has_value());    // trailing junk
  EXPECT_FALSE(parse_python_string_list("['\\x41']").has_value());  // code-point escapes rejected
}

TEST(EmorynlpCsv, FixtureScenesSpeakersLabels) {
  const Dataset ds = read_dataset(kEmoryFixture);
  EXPECT_EQ(ds.info.source_format, "emorynlp-csv");
  EXPECT_EQ(ds.info.class_names,
            (Names{"Joyful", "Mad", "Peaceful", "Neutral", "Sad", "Powerful", "Scared"}));
  EXPECT_EQ(ds.info.num_speakers, 3);
  ASSERT_EQ(ds.scheme().partitions.size(), 2u);
  EXPECT_EQ(ds.scheme().partitions[0].name, "train");
  EXPECT_EQ(ds.scheme().partitions[1].name, "dev");

  const auto train = ds.partition("train");
  // Scene_ID 1 in episodes 2 and 3 are two dialogues; ordered by (season, episode, scene).
  ASSERT_EQ(train.size(), 3u);
  EXPECT_EQ(train[0]->id, "train/s1e2c1");
  EXPECT_EQ(train[1]->id, "train/s1e2c2");
  EXPECT_EQ(train[2]->id, "train/s1e3c1");

  const Dialogue& a = *train[0];
  ASSERT_EQ(a.length(), 4);
  EXPECT_EQ(a.utterances[0].id, "s1e2c1_u1");
  EXPECT_EQ(a.utterances[2].id, "s1e2c1_u4");  // Utterance_ID 3 is absent: ids kept as published
  EXPECT_EQ(a.utterances[1].speaker_name, "Joey Tribbiani & Chandler Bing");
  EXPECT_EQ(a.utterances[2].speaker_name, "Phoebe's Assistant");
  EXPECT_EQ((std::vector<int64_t>{a.utterances[0].speaker, a.utterances[1].speaker, a.utterances[2].speaker,
                                  a.utterances[3].speaker}),
            (std::vector<int64_t>{0, 1, 2, 0}));
  // Joyful=0 Neutral=3 Scared=6 Peaceful=2
  EXPECT_EQ((std::vector<int64_t>{a.utterances[0].label, a.utterances[1].label, a.utterances[2].label,
                                  a.utterances[3].label}),
            (std::vector<int64_t>{0, 3, 6, 2}));
  EXPECT_EQ(a.utterances[0].transcript, "Hi, all.");

  const Dialogue& c = *train[2];  // rows listed as Utterance_ID 2 then 1
  ASSERT_EQ(c.length(), 2);
  EXPECT_EQ(c.utterances[0].transcript, "Go.");
  EXPECT_EQ(c.utterances[0].label, 1);  // Mad
  EXPECT_EQ(c.utterances[1].label, 5);  // Powerful
  EXPECT_EQ(c.utterances[1].speaker, 0);

  const auto dev = ds.partition("dev");
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_EQ(dev[0]->id, "dev/s2e1c3");
}

TEST(EmorynlpCsv, SingleTableAndDetection) {
  const fs::path file = kEmoryFixture / "emorynlp_dev_final.csv";
  EXPECT_EQ(detect_format(make_probe(file)).name, "emorynlp-csv");
  EXPECT_EQ(detect_format(make_probe(kEmoryFixture)).name, "emorynlp-csv");
  EXPECT_FALSE(detect_emorynlp_csv(make_probe(fs::path(MERC_FIXTURE_DIR) / "tables" / "meld")));
  const Dataset ds = read_dataset(file);
  EXPECT_EQ(ds.scheme().partitions[0].name, "dev");
  EXPECT_EQ(ds.num_utterances(), 2);
  EXPECT_EQ(ds.info.num_speakers, 2);
}

TEST(EmorynlpCsv, BadSpeakerUnknownEmotionMissingColumn) {
  fs::path dir = write_emory_table("speaker", kEmoryHeader, "Hi.,\"['Monica\",Joyful,1,1,1,1,a,b\n");
  const std::string file = (dir / "emorynlp_train_final.csv").string();
  EXPECT_EQ(emory_error_of(dir), file + ": line 2: Speaker '['Monica' is not a Python list of strings");
  dir = write_emory_table("speaker", kEmoryHeader, "Hi.,['Monica'],Happy,1,1,1,1,a,b\n");
  EXPECT_EQ(emory_error_of(dir),
            file + ": line 2: unknown Emotion 'Happy' (valid: Joyful, Mad, Peaceful, Neutral, Sad, Powerful, Scared)");
  dir = write_emory_table("speaker", "Utterance,Speaker,Emotion,Scene_ID,Utterance_ID,Season\n",
                          "Hi.,['Monica'],Joyful,1,1,1\n");
  const std::string msg = emory_error_of(dir / "emorynlp_train_final.csv");
  // The header lacks Episode; by content it is not even detected as EmoryNLP.
  EXPECT_NE(msg.find("not a recognised dataset layout"), std::string::npos) << msg;
  ReadOptions forced;
  forced.format = "emorynlp-csv";
  try {
    read_dataset(dir, forced);
    FAIL() << "expected a FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("no column 'Episode'"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(EmorynlpCsv, MissingFile) {
  const fs::path missing = kEmoryFixture / "emorynlp_test_final.csv";
  EXPECT_EQ(emory_error_of(missing), missing.string() + ": no such file or directory");
}

// Real tables (declare-lab/MELD @ 2d2011b4 data/emorynlp). Counts from /work/shared/data/README.md;
// dev class counts computed once, independently of merc, with
//   /usr/bin/python3 -c "import csv,collections; print(collections.Counter(r['Emotion'] for r in
//   csv.DictReader(open('emorynlp_dev_final.csv', encoding='utf-8'))))"
TEST(EmorynlpCsv, RealTrainAndDevTables) {
  MERC_REQUIRE_PREREQUISITE(
      fs::exists(kEmoryReal / "emorynlp_train_final.csv") && fs::exists(kEmoryReal / "emorynlp_dev_final.csv"),
      "the EmoryNLP tables under " << kEmoryReal);
  const Dataset ds = read_dataset(kEmoryReal);
  const auto train = ds.partition("train");
  const auto dev = ds.partition("dev");
  int64_t train_utts = 0, dev_utts = 0;
  std::vector<int64_t> counts(7, 0);
  for (const Dialogue* d : train) train_utts += d->length();
  for (const Dialogue* d : dev) {
    dev_utts += d->length();
    for (const auto& u : d->utterances) ++counts[static_cast<size_t>(u.label)];
  }
  EXPECT_EQ(train.size(), 659u);
  EXPECT_EQ(train_utts, 7551);
  EXPECT_EQ(dev.size(), 89u);
  EXPECT_EQ(dev_utts, 954);
  // Joyful, Mad, Peaceful, Neutral, Sad, Powerful, Scared
  EXPECT_EQ(counts, (std::vector<int64_t>{205, 97, 82, 322, 51, 70, 127}));
  EXPECT_EQ(ds.info.num_speakers, 9);  // most distinct speaker (groups) in one train scene
  EXPECT_EQ(train[0]->utterances[0].speaker_name, "Monica Geller");
}

}  // namespace
}  // namespace merc::data
