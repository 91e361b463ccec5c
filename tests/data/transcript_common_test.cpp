#include "merc/data/readers/transcript_common.h"

#include <gtest/gtest.h>

#include "merc/data/readers/registry.h"

namespace merc::data {
namespace {

TEST(TranscriptCommon, SplitNames) {
  EXPECT_EQ(canonical_split_name("train"), "train");
  EXPECT_EQ(canonical_split_name("Validation"), "valid");
  EXPECT_EQ(canonical_split_name("val"), "valid");
  EXPECT_EQ(canonical_split_name("dev"), "dev");  // dev keeps its name
  EXPECT_FALSE(canonical_split_name("final").has_value());
  EXPECT_EQ(partition_from_filename("x/emorynlp_dev_final.csv"), "dev");
  EXPECT_EQ(partition_from_filename("train_sent_emo.csv"), "train");
  EXPECT_EQ(partition_from_filename("dialogues_validation.txt"), "valid");
  EXPECT_EQ(partition_from_filename("friends.csv"), "all");
  EXPECT_LT(split_rank("train"), split_rank("valid"));
  EXPECT_LT(split_rank("dev"), split_rank("test"));
  EXPECT_LT(split_rank("test"), split_rank("all"));
}

TEST(TranscriptCommon, SpeakerOrderIsFirstAppearance) {
  SpeakerOrder order;
  EXPECT_EQ(order.index_of("Ross"), 0);
  EXPECT_EQ(order.index_of("Rachel"), 1);
  EXPECT_EQ(order.index_of("Ross"), 0);
  EXPECT_EQ(order.index_of("Joey"), 2);
  EXPECT_EQ(order.count(), 3);
}

TEST(TranscriptCommon, AssembleOrdersPartitionsAndCountsParties) {
  auto dialogue = [](const std::string& id, std::vector<int64_t> speakers) {
    Dialogue d;
    d.id = id;
    for (int64_t s : speakers) {
      Utterance u;
      u.speaker = s;
      d.utterances.push_back(u);
    }
    return d;
  };
  std::vector<SplitDialogues> parts;
  parts.push_back({"test", {dialogue("test/a", {0, 1, 2, 3})}});
  parts.push_back({"train", {dialogue("train/a", {0}), dialogue("train/b", {0, 1})}});
  DatasetInfo info;
  info.modality_dims = {5, 0, 0};  // reset: transcript datasets have no features
  const Dataset ds = assemble_transcript_dataset(info, std::move(parts));
  EXPECT_EQ(ds.info.num_speakers, 4);
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{0, 0, 0}));
  ASSERT_EQ(ds.scheme().partitions.size(), 2u);
  EXPECT_EQ(ds.scheme().name, "given");
  EXPECT_EQ(ds.scheme().partitions[0].name, "train");
  EXPECT_EQ(ds.scheme().partitions[0].dialogues, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(ds.scheme().partitions[1].dialogues, (std::vector<int64_t>{2}));
  EXPECT_EQ(ds.dialogues[2].id, "test/a");
}

TEST(TranscriptCommon, FormatsAreRegistered) {
  for (const char* name : {"meld-csv", "emorynlp-csv", "dailydialog"}) {
    const FormatReader& r = find_format_reader(name);
    EXPECT_EQ(r.name, name);
    EXPECT_FALSE(r.description.empty());
  }
}

}  // namespace
}  // namespace merc::data
