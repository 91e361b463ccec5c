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

// Named (not anonymous): test sources are compiled as a unity build.
namespace mmsa_test {

Dataset read_with_sequences(const std::string& rel) {
  ReadOptions o;
  o.keep_sequences = true;
  return read_dataset(imer_fixture(rel), o);
}

// The kept steps of utterance u as rows.
std::vector<std::vector<float>> steps_of(const Dialogue& d, Modality m, int64_t u) {
  const SequenceFeatures& s = d.sequences[static_cast<size_t>(index_of(m))];
  std::vector<std::vector<float>> out;
  for (int64_t k = 0; k < s.length(u); ++k) out.emplace_back(s.step(u, k), s.step(u, k) + s.dim);
  return out;
}

using Rows = std::vector<std::vector<float>>;

// Every utterance: a sequence is empty exactly where the modality is not observed, and the mean of
// its steps (summed in double, as the reader does) is the averaged feature row, bit for bit. The
// averaged features equal those of a read without sequences.
void expect_sequences_consistent_with_features(const Dataset& with, const Dataset& without) {
  ASSERT_TRUE(with.info.has_sequences);
  EXPECT_FALSE(without.info.has_sequences);
  ASSERT_EQ(with.dialogues.size(), without.dialogues.size());
  for (size_t i = 0; i < with.dialogues.size(); ++i) {
    const Dialogue& d = with.dialogues[i];
    EXPECT_TRUE(without.dialogues[i].sequences[0].empty());
    for (Modality m : kAllModalities) {
      const auto k = static_cast<size_t>(index_of(m));
      EXPECT_EQ(d.features[k].values, without.dialogues[i].features[k].values) << d.id << " " << modality_name(m);
      const SequenceFeatures& s = d.sequences[k];
      ASSERT_EQ(s.num_utterances(), d.length());
      for (int64_t u = 0; u < d.length(); ++u) {
        SCOPED_TRACE(d.utterances[static_cast<size_t>(u)].id + " " + modality_name(m));
        EXPECT_EQ(s.length(u) == 0, !d.is_present(u, m));
        if (s.length(u) == 0) continue;
        for (int64_t j = 0; j < s.dim; ++j) {
          double sum = 0.0;
          for (int64_t t = 0; t < s.length(u); ++t) sum += s.step(u, t)[j];
          EXPECT_EQ(static_cast<float>(sum / static_cast<double>(s.length(u))), d.features[k].row(u)[j]) << j;
        }
      }
    }
  }
}

}  // namespace mmsa_test

TEST(Mmsa, AlignedKeepsTheValidStepsAsSequences) {
  using mmsa_test::Rows;
  using mmsa_test::steps_of;
  const Dataset ds = mmsa_test::read_with_sequences("mmsa/MOSI/aligned_50.pkl");
  EXPECT_TRUE(ds.info.has_sequences);
  mmsa_test::expect_sequences_consistent_with_features(ds, read_dataset(imer_fixture("mmsa/MOSI/aligned_50.pkl")));
  const Dialogue& a = dialogue_by_id(ds, "vidA");
  ASSERT_EQ(a.utterances[1].id, "vidA_10");
  // The text mask [1,1,0,0] keeps two steps; the non-zero [PAD] step [9,9,9] is not kept.
  EXPECT_EQ(steps_of(a, Modality::kText, 1), (Rows{{1, 2, 3}, {3, 4, 5}}));
  EXPECT_EQ(steps_of(a, Modality::kAudio, 1), (Rows{{0, 1}, {2, 3}}));  // -inf -> 0, as in the mean
  EXPECT_EQ(steps_of(a, Modality::kVisual, 1), (Rows{{1, 1}, {3, 3}}));
  EXPECT_EQ(steps_of(a, Modality::kText, 0), (Rows{{4, 4, 4}}));  // mask [1,0,0,0]: [8,8,8] is not kept
  EXPECT_EQ(steps_of(a, Modality::kAudio, 0), (Rows{{1, 1}}));
  EXPECT_EQ(a.sequences[2].length(0), 0);  // all-zero vision: no valid step, not observed
  const Dialogue& c = dialogue_by_id(ds, "vidC");
  ASSERT_EQ(c.length(), 2);
  EXPECT_EQ(steps_of(c, Modality::kVisual, 0), (Rows{{0, 1}}));  // NaN -> 0
  // The mask, not the values, decides: the all-zero step 1 is kept, the non-zero step 3 is not.
  EXPECT_EQ(steps_of(c, Modality::kText, 1), (Rows{{1, 1, 1}, {0, 0, 0}, {2, 2, 2}}));
  EXPECT_EQ(row_of(c, Modality::kText, 1), (std::vector<float>{1, 1, 1}));
  // No mask for audio: all-zero steps are padding, the later non-zero step is kept (float64 source).
  EXPECT_EQ(steps_of(c, Modality::kAudio, 1), (Rows{{0.5f, 0}, {1.5f, 2}}));
  EXPECT_EQ(row_of(c, Modality::kAudio, 1), (std::vector<float>{1, 1}));
  EXPECT_EQ(ds.warnings.size(), 1u);  // the NaN, counted once as without sequences
}

TEST(Mmsa, UnalignedKeepsTheFirstLengthSteps) {
  using mmsa_test::Rows;
  using mmsa_test::steps_of;
  const Dataset ds = mmsa_test::read_with_sequences("mmsa/MOSI/unaligned_50.pkl");
  mmsa_test::expect_sequences_consistent_with_features(ds, read_dataset(imer_fixture("mmsa/MOSI/unaligned_50.pkl")));
  EXPECT_EQ(ds.dialogues[0].sequences[1].dim, 2);
  const Dialogue& v1 = dialogue_by_id(ds, "v1");
  EXPECT_EQ(steps_of(v1, Modality::kText, 0), (Rows{{1, 2}, {3, 4}}));
  EXPECT_EQ(steps_of(v1, Modality::kAudio, 0), (Rows{{1, 0}, {3, 2}}));  // length 2: [7,7] beyond it
  EXPECT_EQ(steps_of(v1, Modality::kVisual, 0), (Rows{{2}, {4}, {6}}));
  EXPECT_EQ(v1.sequences[1].length(1), 0);  // audio_lengths = 0
  EXPECT_EQ(steps_of(v1, Modality::kVisual, 1), (Rows{{1}}));
  const Dialogue& v3 = dialogue_by_id(ds, "v3");
  ASSERT_EQ(v3.length(), 2);
  // No text_bert: an all-zero step is padding even between non-zero steps.
  EXPECT_EQ(steps_of(v3, Modality::kText, 1), (Rows{{1, 1}, {3, 3}}));
  // Lengths decide for audio / vision: all-zero steps inside the length are kept (and averaged).
  EXPECT_EQ(steps_of(v3, Modality::kAudio, 1), (Rows{{2, 1}, {0, 0}, {4, 3}}));
  EXPECT_EQ(row_of(v3, Modality::kAudio, 1), (std::vector<float>{2.0f, static_cast<float>(4.0 / 3.0)}));
  EXPECT_EQ(steps_of(v3, Modality::kVisual, 1), (Rows{{0}, {2}, {0}, {6}}));
  EXPECT_EQ(row_of(v3, Modality::kVisual, 1), (std::vector<float>{2}));
  EXPECT_NO_THROW(ds.validate("unaligned"));
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
