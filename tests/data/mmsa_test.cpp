#include "merc/data/readers/mmsa.h"

#include <gtest/gtest.h>

#include "imer_test_util.h"
#include "merc/data/readers/registry.h"

namespace merc::data {
namespace {

using testing::dialogue_by_id;
using testing::dialogue_ids;
using testing::expect_format_error;
using testing::imer_fixture;
using testing::row_of;

TEST(Mmsa, AlignedGroupsClipsByVideoAndAveragesValidSteps) {
  const Dataset ds = read_dataset(imer_fixture("mmsa/MOSI/aligned_50.pkl"));
  EXPECT_EQ(ds.info.source_format, "mmsa");
  EXPECT_EQ(ds.info.name, "CMU-MOSI");
  EXPECT_EQ(ds.info.task, Task::kRegression);
  EXPECT_EQ(ds.info.class_names, (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{3, 2, 2}));
  EXPECT_EQ(ds.scheme().name, "standard");
  EXPECT_EQ(dialogue_ids(ds, "train"), (std::vector<std::string>{"vidA", "vidB"}));
  EXPECT_EQ(dialogue_ids(ds, "valid"), (std::vector<std::string>{"vidC"}));
  EXPECT_EQ(dialogue_ids(ds, "test"), (std::vector<std::string>{"vidD", "loose_clip"}));

  // vidA holds clips 10 and 2 in that file order; numeric clip order puts 2 first.
  const Dialogue& a = dialogue_by_id(ds, "vidA");
  ASSERT_EQ(a.length(), 2);
  EXPECT_EQ(a.utterances[0].id, "vidA_2");
  EXPECT_EQ(a.utterances[1].id, "vidA_10");
  EXPECT_EQ(a.utterances[1].transcript, "a ten");
  EXPECT_EQ(a.utterances[1].score, 0.5f);
  EXPECT_EQ(a.utterances[1].label, 1);
  EXPECT_EQ(a.utterances[0].score, -1.0f);
  EXPECT_EQ(a.utterances[0].label, 0);
  // text: mean of the steps the BERT mask keeps ([1,2,3], [3,4,5]); the non-zero [PAD] step
  // [9,9,9] is excluded.
  EXPECT_EQ(row_of(a, Modality::kText, 1), (std::vector<float>{2.0f, 3.0f, 4.0f}));
  EXPECT_EQ(row_of(a, Modality::kText, 0), (std::vector<float>{4.0f, 4.0f, 4.0f}));  // mask keeps step 0 only
  // audio: -inf -> 0, then mean of the non-zero steps [0,1], [2,3]
  EXPECT_EQ(row_of(a, Modality::kAudio, 1), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(row_of(a, Modality::kVisual, 1), (std::vector<float>{2.0f, 2.0f}));
  // vidA_2 has an all-zero vision sequence: zero vector, not observed
  EXPECT_EQ(row_of(a, Modality::kVisual, 0), (std::vector<float>{0.0f, 0.0f}));
  EXPECT_FALSE(a.is_present(0, Modality::kVisual));
  EXPECT_TRUE(a.is_present(0, Modality::kAudio));
  EXPECT_TRUE(a.is_present(1, Modality::kVisual));

  const Dialogue& b = dialogue_by_id(ds, "vidB");
  EXPECT_EQ(b.utterances[0].score, 0.0f);
  EXPECT_EQ(b.utterances[0].label, 1);
  EXPECT_EQ(row_of(b, Modality::kVisual, 0), (std::vector<float>{0.25f, 0.75f}));
  // NaN in vidC's vision becomes 0 and is reported once.
  EXPECT_EQ(row_of(dialogue_by_id(ds, "vidC"), Modality::kVisual, 0), (std::vector<float>{0.0f, 1.0f}));
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_NE(ds.warnings[0].find("1 non-finite"), std::string::npos) << ds.warnings[0];
  // An id without "$_$" is its own dialogue and keeps its id.
  const Dialogue& loose = dialogue_by_id(ds, "loose_clip");
  EXPECT_EQ(loose.utterances[0].id, "loose_clip");
  EXPECT_EQ(row_of(loose, Modality::kAudio, 0), (std::vector<float>{1.0f, 1.0f}));
  EXPECT_EQ(dialogue_by_id(ds, "vidD").utterances[0].id, "vidD_3");
  EXPECT_EQ(dialogue_by_id(ds, "vidD").utterances[0].label, 0);
}

TEST(Mmsa, UnalignedUsesSequenceLengths) {
  const Dataset ds = read_dataset(imer_fixture("mmsa/MOSI/unaligned_50.pkl"));
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{2, 2, 1}));
  const Dialogue& v1 = dialogue_by_id(ds, "v1");
  ASSERT_EQ(v1.length(), 2);
  // no text_bert: all-zero steps are padding
  EXPECT_EQ(row_of(v1, Modality::kText, 0), (std::vector<float>{2.0f, 3.0f}));
  // audio_lengths = 2: the non-zero step 3 lies beyond the length and is excluded
  EXPECT_EQ(row_of(v1, Modality::kAudio, 0), (std::vector<float>{2.0f, 1.0f}));
  EXPECT_EQ(row_of(v1, Modality::kVisual, 0), (std::vector<float>{4.0f}));
  // audio_lengths = 0: not observed
  EXPECT_FALSE(v1.is_present(1, Modality::kAudio));
  EXPECT_EQ(row_of(v1, Modality::kAudio, 1), (std::vector<float>{0.0f, 0.0f}));
  EXPECT_EQ(row_of(v1, Modality::kVisual, 1), (std::vector<float>{1.0f}));
  EXPECT_EQ(row_of(dialogue_by_id(ds, "v3"), Modality::kVisual, 0), (std::vector<float>{5.0f}));
  EXPECT_TRUE(ds.warnings.empty());
}

TEST(Mmsa, BrokenFilesAreFormatErrors) {
  const auto read = [](const std::string& rel) {
    ReadOptions o;
    o.format = "mmsa";
    return [rel, o] { read_dataset(imer_fixture(rel), o); };
  };
  expect_format_error(read("broken/mmsa_missing_key.pkl"), {"mmsa_missing_key.pkl", "split 'valid' has no key 'vision'"});
  expect_format_error(read("broken/mmsa_n_mismatch.pkl"), {"split 'train': 'audio' has 2 samples but 'text' has 3"});
  expect_format_error(read("broken/mmsa_missing_split.pkl"), {"no 'test' split"});
  expect_format_error(read("broken/mmsa_dim_mismatch.pkl"), {"'audio' has dim 3 in split 'test' but 2 in split 'train'"});
  expect_format_error(read("broken/mmsa_bad_length.pkl"), {"audio_lengths[0] = 9 outside 0..5"});
  expect_format_error(read("gcnet/CMUMOSI_features_raw_2way.pkl"), {"expected a dict with train, valid and test splits, got list"});
}

TEST(Mmsa, RejectsFeatureFoldersAndDetectsOnlyMmsaDicts) {
  ReadOptions o;
  o.feature_dirs[Modality::kAudio] = imer_fixture("features/mosi/audio");
  EXPECT_THROW(read_dataset(imer_fixture("mmsa/MOSI/aligned_50.pkl"), o), Error);
  EXPECT_TRUE(detect_mmsa(make_probe(imer_fixture("mmsa/MOSI/unaligned_50.pkl"))));
  EXPECT_FALSE(detect_mmsa(make_probe(imer_fixture("broken/mmsa_missing_split.pkl"))));
  EXPECT_FALSE(detect_mmsa(make_probe(imer_fixture("gcnet/CMUMOSI_features_raw_2way.pkl"))));
}

}  // namespace
}  // namespace merc::data
