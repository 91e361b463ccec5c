#include "merc/data/readers/bclstm_2way.h"

#include <gtest/gtest.h>
#include "test_labels.h"

#include "merc/core/error.h"

namespace merc::data {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(MERC_FIXTURE_DIR) / "bclstm";

TEST(BclstmTwoWay, FixtureUnpadsVideosAndKeepsPoriaSplit) {
  std::string used;
  const Dataset ds = read_dataset(kDir / "audio_2way.pickle", {}, &used);
  EXPECT_EQ(used, "bclstm-2way");
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{0, 3, 0}));
  ASSERT_EQ(ds.dialogues.size(), 3u);
  EXPECT_EQ(ds.dialogues[0].length(), 3);
  EXPECT_EQ(ds.dialogues[1].length(), 1);
  EXPECT_EQ(ds.dialogues[2].id, "test/0");
  // test video 0, step 1, column 2: 100*1 + 10*0 + 1 + 0.5*2 = 102.
  EXPECT_FLOAT_EQ(ds.dialogues[2].features[1].row(1)[2], 102.0f);
  EXPECT_FLOAT_EQ(ds.dialogues[0].features[1].row(2)[0], 2.0f);
  EXPECT_EQ(ds.dialogues[0].utterances[1].label, 0);
  EXPECT_EQ(ds.dialogues[0].utterances[2].label, 1);
  EXPECT_EQ(ds.scheme("poria").find("train")->dialogues, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(ds.scheme("poria").find("test")->dialogues, (std::vector<int64_t>{2}));
}

TEST(BclstmTwoWay, BadLengthsAndLabelsAreNamedErrors) {
  for (const auto& [file, needle] : {std::pair<const char*, const char*>{"audio_2way_badlen.pickle", "length 5 outside 1..4"},
                                     {"audio_2way_badlabel.pickle", "label 2 is not 0 or 1"}}) {
    try {
      read_dataset(kDir / file);
      FAIL() << file;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    }
  }
}

TEST(BclstmTwoWay, RealAudioPickleHasPoriaCounts) {
  const fs::path p = fs::path(MERC_SHARED_DATA_DIR) / "mosi" / "audio_2way.pickle";
  MERC_REQUIRE_PREREQUISITE(fs::exists(p), p);
  const Dataset ds = read_dataset(p);
  EXPECT_EQ(ds.info.modality_dims[1], 73);
  const auto& poria = ds.scheme("poria");
  EXPECT_EQ(poria.find("train")->dialogues.size(), 62u);
  EXPECT_EQ(poria.find("test")->dialogues.size(), 31u);
  EXPECT_EQ(ds.num_utterances(), 1447 + 752);  // ../shared/data/README.md: train 1447, test 752 rows
}

}  // namespace
}  // namespace merc::data
