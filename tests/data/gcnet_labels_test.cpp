#include "merc/data/readers/gcnet_labels.h"

#include <gtest/gtest.h>
#include "test_labels.h"

#include <cmath>

#include "imer_test_util.h"
#include "merc/data/readers/registry.h"

namespace merc::data {
namespace {

using testing::dialogue_by_id;
using testing::dialogue_ids;
using testing::expect_format_error;
using testing::imer_fixture;
using testing::row_of;

ReadOptions iemocap_features() {
  ReadOptions o;
  o.feature_dirs[Modality::kAudio] = imer_fixture("features/iemocap/audio");
  o.feature_dirs[Modality::kText] = imer_fixture("features/iemocap/text");
  o.feature_dirs[Modality::kVisual] = imer_fixture("features/iemocap/video");
  return o;
}

TEST(GcnetLabels, Iemocap4WayLabelsSpeakersSplitsInGcnetOrder) {
  const Dataset ds = read_dataset(imer_fixture("gcnet/IEMOCAP_features_raw_4way.pkl"));
  EXPECT_EQ(ds.info.source_format, "gcnet-labels");
  EXPECT_EQ(ds.info.name, "IEMOCAP-4");
  EXPECT_EQ(ds.info.task, Task::kClassification);
  EXPECT_EQ(ds.info.class_names, (std::vector<std::string>{"hap", "sad", "neu", "ang"}));
  EXPECT_EQ(ds.info.num_speakers, 2);
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{0, 0, 0}));
  // The pickle's dict order is Ses05F, Ses01M, Ses01F; GCNet iterates sorted(trainVid | testVid).
  ASSERT_EQ(ds.dialogues.size(), 3u);
  EXPECT_EQ(ds.dialogues[0].id, "Ses01F_impro01");
  EXPECT_EQ(ds.dialogues[1].id, "Ses01M_script01_1");
  EXPECT_EQ(ds.dialogues[2].id, "Ses05F_impro02");
  EXPECT_EQ(ds.scheme().name, "given");
  EXPECT_EQ(dialogue_ids(ds, "train"), (std::vector<std::string>{"Ses01F_impro01", "Ses01M_script01_1"}));
  EXPECT_EQ(dialogue_ids(ds, "test"), (std::vector<std::string>{"Ses05F_impro02"}));
  EXPECT_EQ(ds.scheme().find("valid"), nullptr);

  const Dialogue& d = ds.dialogues[0];
  ASSERT_EQ(d.length(), 3);
  EXPECT_EQ(d.utterances[0].id, "Ses01F_impro01_F000");
  EXPECT_EQ(d.utterances[1].id, "Ses01F_impro01_M000");
  EXPECT_EQ(d.utterances[2].transcript, "Yeah.");
  EXPECT_EQ(d.utterances[0].label, 0);
  EXPECT_EQ(d.utterances[1].label, 1);
  EXPECT_EQ(d.utterances[2].label, 2);
  // GCNet's speakermap {'F': 0, 'M': 1}.
  EXPECT_EQ(d.utterances[0].speaker, 0);
  EXPECT_EQ(d.utterances[1].speaker, 1);
  EXPECT_EQ(d.utterances[1].speaker_name, "M");
  EXPECT_TRUE(std::isnan(d.utterances[0].score));
  EXPECT_EQ(ds.dialogues[1].utterances[0].label, 3);
  EXPECT_EQ(ds.dialogues[1].utterances[0].speaker, 1);
  // Without --features: labels only, and one warning telling how to pass the folders.
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_NE(ds.warnings[0].find("--features audio=DIR"), std::string::npos) << ds.warnings[0];
}

TEST(GcnetLabels, Iemocap6WayFromFileName) {
  const Dataset ds = read_dataset(imer_fixture("gcnet/IEMOCAP_features_raw_6way.pkl"));
  EXPECT_EQ(ds.info.name, "IEMOCAP-6");
  EXPECT_EQ(ds.info.class_names,
            (std::vector<std::string>{"hap", "sad", "neu", "ang", "exc", "fru"}));
  const Dialogue& d = dialogue_by_id(ds, "Ses05F_impro02");
  EXPECT_EQ(d.utterances[0].label, 4);
  EXPECT_EQ(d.utterances[1].label, 5);
}

TEST(GcnetLabels, NameWithoutHintDecidesFromLabelRangeAndWarns) {
  const Dataset ds = read_dataset(imer_fixture("gcnet/iemocap_labels.pkl"));
  EXPECT_EQ(ds.info.num_classes(), 4);
  ASSERT_EQ(ds.warnings.size(), 2u);
  EXPECT_NE(ds.warnings[0].find("6way"), std::string::npos) << ds.warnings[0];
}

TEST(GcnetLabels, IemocapFeatureFoldersPickTheUtteranceSpeakersFaces) {
  const Dataset ds = read_dataset(imer_fixture("gcnet/IEMOCAP_features_raw_4way.pkl"), iemocap_features());
  EXPECT_TRUE(ds.warnings.empty());
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{3, 2, 2}));  // text, audio, visual
  EXPECT_EQ(ds.info.modality_sources[1], "audio");
  const Dialogue& d = ds.dialogues[0];  // Ses01F_impro01: F000 (k=1), M000 (k=2), F001 (k=3)
  // audio <uid>.npy of shape (1, 2) squeezed: [k, k + 0.5]
  EXPECT_EQ(row_of(d, Modality::kAudio, 0), (std::vector<float>{1.0f, 1.5f}));
  EXPECT_EQ(row_of(d, Modality::kAudio, 2), (std::vector<float>{3.0f, 3.5f}));
  // text (2, 3) averaged over time: rows [k, 0, 1], [k + 1, 2, 3] -> [k + 0.5, 1, 2]
  EXPECT_EQ(row_of(d, Modality::kText, 1), (std::vector<float>{2.5f, 1.0f, 2.0f}));
  // video: speaker F averages F_0001 [1,2] and F_0002 [3,4], not the M face [100,100]
  EXPECT_EQ(row_of(d, Modality::kVisual, 0), (std::vector<float>{2.0f, 3.0f}));
  // speaker M averages M faces [1,1], [2,2], [6,3] and skips the F face [5,5]
  EXPECT_EQ(row_of(d, Modality::kVisual, 1), (std::vector<float>{3.0f, 2.0f}));
  // speaker F with only an M face: zero vector, marked not observed
  EXPECT_EQ(row_of(d, Modality::kVisual, 2), (std::vector<float>{0.0f, 0.0f}));
  EXPECT_FALSE(d.is_present(2, Modality::kVisual));
  EXPECT_TRUE(d.is_present(2, Modality::kAudio));
  EXPECT_TRUE(d.is_present(0, Modality::kVisual));

  const Dialogue& d1 = ds.dialogues[1];  // Ses01M_script01_1: M000 has video as one (3, 2) file
  EXPECT_EQ(row_of(d1, Modality::kVisual, 0), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_FALSE(d1.is_present(1, Modality::kVisual));  // empty face folder
  const Dialogue& d2 = ds.dialogues[2];  // Ses05F_impro02: a (1, 2) face; a .txt file is ignored
  EXPECT_EQ(row_of(d2, Modality::kVisual, 0), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(row_of(d2, Modality::kVisual, 1), (std::vector<float>{2.0f, 4.0f}));
  EXPECT_EQ(row_of(d2, Modality::kAudio, 1), (std::vector<float>{7.0f, 7.5f}));
  EXPECT_TRUE(d2.present.empty());
}

TEST(GcnetLabels, CmuMosiRegressionWithBinaryLabels) {
  const Dataset ds = read_dataset(imer_fixture("gcnet/CMUMOSI_features_raw_2way.pkl"));
  EXPECT_EQ(ds.info.name, "CMU-MOSI");
  EXPECT_EQ(ds.info.task, Task::kRegression);
  EXPECT_EQ(ds.info.class_names, (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(ds.info.num_speakers, 1);
  EXPECT_EQ(ds.scheme().name, "standard");
  // sorted(train), sorted(val), sorted(test)
  EXPECT_EQ(dialogue_ids(ds, "train"), (std::vector<std::string>{"vidA", "vidB"}));
  EXPECT_EQ(dialogue_ids(ds, "valid"), (std::vector<std::string>{"vidC"}));
  EXPECT_EQ(dialogue_ids(ds, "test"), (std::vector<std::string>{"vidD"}));
  EXPECT_EQ(ds.num_utterances(), 7);
  const Dialogue& c = dialogue_by_id(ds, "vidC");
  EXPECT_EQ(c.utterances[0].score, -3.0f);
  EXPECT_EQ(c.utterances[0].label, 0);
  EXPECT_EQ(c.utterances[1].score, 2.25f);
  EXPECT_EQ(c.utterances[1].label, 1);
  EXPECT_EQ(c.utterances[2].score, 0.0f);  // zero -> positive; the non-zero protocol drops it by score
  EXPECT_EQ(c.utterances[2].label, 1);
  EXPECT_EQ(c.utterances[2].speaker, 0);
  EXPECT_EQ(c.utterances[2].speaker_name, "");
  EXPECT_EQ(c.utterances[2].transcript, "sentence vidC_3");
  EXPECT_EQ(dialogue_by_id(ds, "vidA").utterances[1].label, 0);  // -0.5
}

TEST(GcnetLabels, CmuFeatureFoldersAverageAllFaces) {
  ReadOptions o;
  o.feature_dirs[Modality::kAudio] = imer_fixture("features/mosi/audio/");  // trailing slash
  o.feature_dirs[Modality::kVisual] = imer_fixture("features/mosi/video");
  const Dataset ds = read_dataset(imer_fixture("gcnet/CMUMOSI_features_raw_2way.pkl"), o);
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{0, 2, 3}));
  EXPECT_EQ(ds.info.modality_sources[1], "audio");
  const Dialogue& a = dialogue_by_id(ds, "vidA");  // vidA_1 = uid #1, vidA_2 = #2
  EXPECT_EQ(row_of(a, Modality::kAudio, 1), (std::vector<float>{2.0f, -2.0f}));
  // faces [i, 0, 2] and [i + 1, 2, 2] -> [i + 0.5, 1, 2]
  EXPECT_EQ(row_of(a, Modality::kVisual, 0), (std::vector<float>{1.5f, 1.0f, 2.0f}));
  const Dialogue& b = dialogue_by_id(ds, "vidB");  // empty face folder
  EXPECT_EQ(row_of(b, Modality::kVisual, 0), (std::vector<float>{0.0f, 0.0f, 0.0f}));
  EXPECT_FALSE(b.is_present(0, Modality::kVisual));
  EXPECT_TRUE(b.is_present(0, Modality::kAudio));
  EXPECT_EQ(row_of(dialogue_by_id(ds, "vidD"), Modality::kVisual, 0), (std::vector<float>{7.5f, 1.0f, 2.0f}));
}

TEST(GcnetLabels, BrokenFilesAreFormatErrors) {
  const auto read = [](const std::string& rel, const std::string& format = "") {
    ReadOptions o;
    o.format = format;
    return [rel, o] { read_dataset(imer_fixture(rel), o); };
  };
  expect_format_error(read("broken/gcnet_arity5.pkl", "gcnet-labels"),
                      {"gcnet_arity5.pkl", "expected a list of 6", "or 7", "got list of 5"});
  expect_format_error(read("broken/gcnet_length_mismatch.pkl"),
                      {"gcnet_length_mismatch.pkl", "video 'Ses01M_script01_1': 2 utterance ids but 1 labels"});
  expect_format_error(read("broken/gcnet_unknown_split_vid.pkl"), {"testVid lists dialogue 'Ses09F_impro99' that videoIDs does not have"});
  expect_format_error(read("broken/gcnet_vid_in_two_splits.pkl"), {"dialogue 'Ses01F_impro01' is in both trainVid and testVid"});
  expect_format_error(read("broken/gcnet_bad_speaker.pkl", "gcnet-labels"), {"videoSpeakers['Ses05F_impro02'][1] is speaker 'X'"});
  expect_format_error(read("broken/IEMOCAP_features_raw_4way.pkl"), {"says 4way", "label 5"});
  // A pickle of another layout forced through this reader.
  expect_format_error(read("mmsa/MOSI/aligned_50.pkl", "gcnet-labels"), {"aligned_50.pkl", "expected a list of 6", "got dict"});
}

TEST(GcnetLabels, BrokenFeatureFoldersAreFormatErrors) {
  const auto with_audio = [](const std::string& dir) {
    ReadOptions o;
    o.feature_dirs[Modality::kAudio] = imer_fixture(dir);
    return [o] { read_dataset(imer_fixture("gcnet/IEMOCAP_features_raw_4way.pkl"), o); };
  };
  expect_format_error(with_audio("broken/features_missing/audio"),
                      {"no features for utterance 'Ses01M_script01_1_F000'", "Ses01M_script01_1_F000.npy"});
  expect_format_error(with_audio("broken/features_dim/audio"),
                      {"Ses01M_script01_1_F000.npy", "has dim 3", "has dim 2"});
  expect_format_error(with_audio("broken/features_rank3/audio"),
                      {"Ses01M_script01_1_F000.npy", "[D] or [T, D]", "(2, 2, 2)"});
  expect_format_error(with_audio("no/such/folder"), {"no/such/folder", "does not exist"});
  ReadOptions o;
  o.feature_dirs[Modality::kVisual] = imer_fixture("broken/features_face_name/video");
  expect_format_error([o] { read_dataset(imer_fixture("gcnet/IEMOCAP_features_raw_4way.pkl"), o); },
                      {"face_0001.npy", "neither 'F' nor 'M'"});
}

TEST(GcnetLabels, DetectionAcceptsOnlyTheGcnetLists) {
  EXPECT_TRUE(detect_gcnet_labels(make_probe(imer_fixture("gcnet/CMUMOSI_features_raw_2way.pkl"))));
  EXPECT_TRUE(detect_gcnet_labels(make_probe(imer_fixture("gcnet/IEMOCAP_features_raw_6way.pkl"))));
  // COSMIC's 6- and 7-item transcript pickles have speakers first: not GCNet.
  EXPECT_FALSE(detect_gcnet_labels(make_probe(imer_fixture("cosmic/iemocap.pkl"))));
  EXPECT_FALSE(detect_gcnet_labels(make_probe(imer_fixture("cosmic/meld.pkl"))));
  EXPECT_FALSE(detect_gcnet_labels(make_probe(imer_fixture("cosmic/emorynlp.pkl"))));
  EXPECT_FALSE(detect_gcnet_labels(make_probe(imer_fixture("mmsa/MOSI/aligned_50.pkl"))));
}

// The real GCNet label pickle (zeroQiaoba/GCNet dataset/CMUMOSI/CMUMOSI_features_raw_2way.pkl).
TEST(GcnetLabels, RealCmuMosiLabelPickle) {
  const auto path = std::filesystem::path(MERC_SHARED_DATA_DIR) / "mosi" / "CMUMOSI_features_raw_2way.pkl";
  MERC_REQUIRE_PREREQUISITE(std::filesystem::exists(path), path);
  const Dataset ds = read_dataset(path);
  EXPECT_EQ(ds.info.source_format, "gcnet-labels");
  EXPECT_EQ(ds.dialogues.size(), 93u);
  const auto count = [&](const char* part) {
    int64_t n = 0;
    for (const Dialogue* d : ds.partition(part)) n += d->length();
    return std::make_pair(ds.partition(part).size(), n);
  };
  EXPECT_EQ(count("train"), std::make_pair(size_t{52}, int64_t{1284}));
  EXPECT_EQ(count("valid"), std::make_pair(size_t{10}, int64_t{229}));
  EXPECT_EQ(count("test"), std::make_pair(size_t{31}, int64_t{686}));
  int64_t max_len = 0;
  for (const auto& d : ds.dialogues) {
    max_len = std::max(max_len, d.length());
    for (const auto& u : d.utterances) {
      ASSERT_TRUE(u.score >= -3.0f && u.score <= 3.0f) << u.id << " " << u.score;
      EXPECT_EQ(u.label, u.score >= 0.0f ? 1 : 0);
    }
  }
  EXPECT_EQ(max_len, 63);  // method_reference.md §1.4: max 63 utterances per video
}

}  // namespace
}  // namespace merc::data
