// Graph ERC feature pickle readers (merc/data/readers/graph_pickle.h) on the fixtures written by
// tests/fixtures/make_graph_pickle_fixtures.py: detection, contents, companion rule. Errors and
// MOSEI binning are in graph_pickle_errors_test.cpp.

#include <gtest/gtest.h>
#include "test_labels.h"

#include <algorithm>
#include <set>
#include <string>

#include "merc/data/readers/graph_pickle.h"
#include "graph_pickle_fixtures.h"

namespace merc::data {
namespace {

using testing::fixture_val;
using testing::graph_fixture;
using testing::partition_ids;
using testing::read_graph;

TEST(GraphPickleDetect, EachFixtureIsDetectedAsItsLayout) {
  const std::pair<const char*, const char*> cases[] = {
      {"m3net_iemocap/IEMOCAP_features.pkl", "m3net-iemocap"},
      {"m3net_iemocap/iemocap_features_roberta.pkl", "m3net-iemocap-roberta"},
      {"iemocap_roberta_alone/iemocap_features_roberta.pkl", "m3net-iemocap-roberta"},
      {"m3net_meld/MELD_features_raw1.pkl", "m3net-meld"},
      {"m3net_meld/meld_features_roberta.pkl", "m3net-meld-roberta"},
      {"graphsmile_iemocap.pkl", "graphsmile-iemocap"},
      {"graphsmile_iemocap4.pkl", "graphsmile-iemocap4"},
      {"graphsmile_meld.pkl", "graphsmile-meld"},
      {"graphsmile_mosei7.pkl", "graphsmile-mosei7"},
      {"mosei7_bins.pkl", "graphsmile-mosei7"},
  };
  for (const auto& [file, name] : cases) {
    const Probe probe = make_probe(graph_fixture(file));
    EXPECT_EQ(detect_format(probe).name, name) << file;
    // Exactly one graph layout accepts it, whatever the registry order.
    int accepted = 0;
    for (const auto& r : format_readers()) accepted += testing::is_graph_format(r.name) && r.detect(probe) ? 1 : 0;
    EXPECT_EQ(accepted, 1) << file;
  }
}

TEST(GraphPickleDetect, OtherPicklesAreNotClaimed) {
  // A COSMIC-comet-like 9-tuple of [L, 768] dicts, and small-dim IEMOCAP tuples whose text dim
  // (3) is not textCNN's 100.
  for (const char* file : {"broken/comet_like.pkl", "broken/unsplit.pkl", "broken/arity7.pkl"}) {
    const Probe probe = make_probe(graph_fixture(file));
    for (const auto& r : format_readers()) {
      if (testing::is_graph_format(r.name)) {
        EXPECT_FALSE(r.detect(probe)) << r.name << " claimed " << file;
      }
    }
  }
}

TEST(GraphPickleDetect, RealImerLabelPickleIsNotClaimed) {
  const std::string path = std::string(MERC_SHARED_DATA_DIR) + "/mosi/CMUMOSI_features_raw_2way.pkl";
  MERC_REQUIRE_PREREQUISITE(std::filesystem::exists(path), path);
  const Probe probe = make_probe(path);
  for (const auto& r : format_readers()) {
    if (testing::is_graph_format(r.name)) {
      EXPECT_FALSE(r.detect(probe)) << r.name;
    }
  }
}

TEST(GraphPickleDetect, OddRootsGiveFalseWithoutThrowing) {
  using io::PyType;
  using io::PyValue;
  std::vector<io::PyRef> nones(9, PyValue::none());
  std::vector<io::PyRef> empty_dicts(14, PyValue::dict({}));
  std::vector<Probe> probes(4);
  probes[1].pickle = PyValue::collection(PyType::kTuple, nones);
  probes[2].pickle = PyValue::collection(PyType::kList, empty_dicts);
  probes[3].pickle = PyValue::integer(9);
  for (const auto& probe : probes)
    for (const auto& r : format_readers())
      if (testing::is_graph_format(r.name)) {
        bool accepted = true;
        EXPECT_NO_THROW(accepted = r.detect(probe)) << r.name;
        EXPECT_FALSE(accepted) << r.name;
      }
}

TEST(GraphPickleRead, M3netIemocap) {
  const Dataset ds = read_graph("m3net_iemocap/IEMOCAP_features.pkl");
  EXPECT_EQ(ds.info.source_format, "m3net-iemocap");
  EXPECT_EQ(ds.info.class_names, (std::vector<std::string>{"hap", "sad", "neu", "ang", "exc", "fru"}));
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{100, 1582, 342}));
  EXPECT_EQ(ds.info.num_speakers, 2);
  ASSERT_EQ(ds.dialogues.size(), 3u);
  EXPECT_EQ(ds.dialogues[0].id, "Ses01F_impro01");
  EXPECT_EQ(ds.dialogues[2].id, "Ses05F_impro03");
  EXPECT_EQ(ds.num_utterances(), 8);
  const Dialogue& d2 = ds.dialogues[2];
  ASSERT_EQ(d2.length(), 5);
  // Speaker letter (d+u) even -> 'M' -> 0 (M3Net's encoding), else 'F' -> 1.
  EXPECT_EQ(d2.utterances[0].id, "Ses05F_impro03_M000");
  EXPECT_EQ(d2.utterances[0].speaker, 0);
  EXPECT_EQ(d2.utterances[0].speaker_name, "M");
  EXPECT_EQ(d2.utterances[1].speaker, 1);
  EXPECT_EQ(d2.utterances[1].speaker_name, "F");
  EXPECT_EQ(d2.utterances[4].label, (2 + 4) % 6);
  // Python 2 str bytes are latin-1: "caf\xe9" must arrive as UTF-8.
  EXPECT_EQ(ds.dialogues[1].utterances[1].transcript, "caf\xc3\xa9");
  EXPECT_EQ(ds.dialogues[1].utterances[0].transcript, "utt 0 of Ses02M_script01a");
  // Features: exact values at corners (text 2-D array, audio a list of 1-D arrays, visual 2-D).
  EXPECT_EQ(d2.features[0].row(4)[99], fixture_val(0, 2, 4, 99));
  EXPECT_EQ(ds.dialogues[1].features[1].row(1)[1581], fixture_val(1, 1, 1, 1581));
  EXPECT_EQ(ds.dialogues[0].features[2].row(0)[0], fixture_val(2, 0, 0, 0));
  EXPECT_EQ(d2.features[2].row(3)[200], fixture_val(2, 2, 3, 200));
  // Split: trainVid/testVid are sets; membership (their pickled order is Python's hash order).
  ASSERT_EQ(ds.split_schemes.size(), 1u);
  EXPECT_EQ(ds.scheme().name, "given");
  ASSERT_EQ(ds.scheme().partitions.size(), 2u);  // no validation split
  EXPECT_EQ(ds.scheme().find("valid"), nullptr);
  const auto train = partition_ids(ds, "train");
  EXPECT_EQ(std::set<std::string>(train.begin(), train.end()),
            (std::set<std::string>{"Ses01F_impro01", "Ses02M_script01a"}));
  EXPECT_EQ(partition_ids(ds, "test"), (std::vector<std::string>{"Ses05F_impro03"}));
  EXPECT_TRUE(ds.warnings.empty());
}

TEST(GraphPickleRead, IemocapRobertaWithCompanionTakesTextFromRobertaAndTheRestFromCompanion) {
  const Dataset ds = read_graph("m3net_iemocap/iemocap_features_roberta.pkl");
  EXPECT_EQ(ds.info.source_format, "m3net-iemocap-roberta");
  // Text = roberta1..4 (64 columns each in the fixture) side by side; audio/visual from companion.
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{4 * 64, 1582, 342}));
  const Dialogue& d2 = ds.dialogues[2];
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(d2.features[0].row(4)[k * 64 + 0], fixture_val(3 + k, 2, 4, 0)) << k;
    EXPECT_EQ(d2.features[0].row(1)[k * 64 + 63], fixture_val(3 + k, 2, 1, 63)) << k;
  }
  EXPECT_EQ(d2.features[1].row(2)[7], fixture_val(1, 2, 2, 7));
  EXPECT_EQ(d2.utterances[3].id, "Ses05F_impro03_F003");  // ids from the companion's videoIDs
  // Labels are the companion's: the RoBERTa file's dialogue 2 labels are shifted by one.
  for (int64_t u = 0; u < 5; ++u) EXPECT_EQ(d2.utterances[static_cast<size_t>(u)].label, (2 + u) % 6);
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_NE(ds.warnings[0].find("1 dialogues have labels"), std::string::npos) << ds.warnings[0];
  // Split from the companion: train/test only, not the RoBERTa file's train/valid/test.
  EXPECT_EQ(ds.scheme().partitions.size(), 2u);
  EXPECT_EQ(partition_ids(ds, "test"), (std::vector<std::string>{"Ses05F_impro03"}));
  EXPECT_NE(ds.info.notes.find("IEMOCAP_features.pkl"), std::string::npos);
}

TEST(GraphPickleRead, RobertaDialoguesMissingFromTheCompanionAreLeftOutWithAWarning) {
  // roberta_extra: the companion holds dialogues 0 and 2 only; the RoBERTa file has all three.
  const Dataset ds = read_graph("roberta_extra/iemocap_features_roberta.pkl");
  ASSERT_EQ(ds.dialogues.size(), 2u);
  EXPECT_EQ(ds.dialogues[1].id, "Ses05F_impro03");
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_NE(ds.warnings[0].find("1 dialogues are not in the companion"), std::string::npos) << ds.warnings[0];
}

TEST(GraphPickleRead, IemocapRobertaAloneIsTextOnlyWithItsOwnThreeWaySplit) {
  const Dataset ds = read_graph("iemocap_roberta_alone/iemocap_features_roberta.pkl");
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{256, 0, 0}));
  EXPECT_TRUE(ds.dialogues[1].features[1].empty());
  EXPECT_EQ(ds.dialogues[1].features[0].row(1)[2 * 64 + 5], fixture_val(5, 1, 1, 5));
  EXPECT_EQ(ds.dialogues[2].utterances[4].id, "Ses05F_impro03_4");  // no videoIDs: "<vid>_<k>"
  EXPECT_EQ(ds.dialogues[2].utterances[4].label, (2 + 4) % 6);
  EXPECT_EQ(ds.dialogues[2].utterances[1].speaker_name, "F");
  const auto& parts = ds.scheme().partitions;
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].name, "train");
  EXPECT_EQ(parts[1].name, "valid");
  EXPECT_EQ(parts[2].name, "test");
  EXPECT_EQ(partition_ids(ds, "train"), (std::vector<std::string>{"Ses01F_impro01"}));
  EXPECT_EQ(partition_ids(ds, "valid"), (std::vector<std::string>{"Ses02M_script01a"}));
  EXPECT_EQ(partition_ids(ds, "test"), (std::vector<std::string>{"Ses05F_impro03"}));
}

TEST(GraphPickleRead, M3netMeld) {
  const Dataset ds = read_graph("m3net_meld/MELD_features_raw1.pkl");
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{600, 300, 342}));
  EXPECT_EQ(ds.info.num_speakers, 9);
  EXPECT_EQ(ds.info.num_classes(), 7);
  EXPECT_EQ(ds.info.class_names[4], "joy");
  ASSERT_EQ(ds.dialogues.size(), 3u);
  EXPECT_EQ(ds.dialogues[1].id, "1040");  // int vid -> str(vid)
  const Dialogue& d2 = ds.dialogues[2];
  EXPECT_EQ(d2.id, "1153");
  EXPECT_EQ(d2.utterances[3].id, "1153_3");  // utterance numbers -> "<vid>_<k>"
  EXPECT_EQ(d2.utterances[3].speaker, (2 * 2 + 3) % 9);
  EXPECT_EQ(d2.utterances[4].speaker, (2 * 2 + 4) % 9);  // slot 8: the last of 9
  EXPECT_EQ(d2.utterances[4].speaker_name, "slot8");
  EXPECT_EQ(d2.utterances[4].label, (2 + 2 * 4) % 7);
  EXPECT_EQ(d2.features[0].row(4)[599], fixture_val(0, 2, 4, 599));
  EXPECT_EQ(d2.features[1].row(0)[299], fixture_val(1, 2, 0, 299));
  EXPECT_EQ(d2.features[2].row(2)[341], fixture_val(2, 2, 2, 341));
  EXPECT_EQ(d2.utterances[1].transcript, "meld 2/1");
  // trainVid is the list [1040, 7]: its order is kept.
  EXPECT_EQ(partition_ids(ds, "train"), (std::vector<std::string>{"1040", "7"}));
  EXPECT_EQ(partition_ids(ds, "test"), (std::vector<std::string>{"1153"}));
}

TEST(GraphPickleRead, MeldRobertaWithAndWithoutCompanion) {
  const Dataset with = read_graph("m3net_meld/meld_features_roberta.pkl");
  EXPECT_EQ(with.info.modality_dims, (std::array<int64_t, 3>{256, 300, 342}));
  EXPECT_EQ(with.dialogues[2].features[0].row(4)[3 * 64 + 10], fixture_val(6, 2, 4, 10));
  EXPECT_EQ(with.dialogues[2].utterances[0].id, "1153_0");
  EXPECT_EQ(with.scheme().partitions.size(), 2u);
  EXPECT_TRUE(with.warnings.empty());  // same labels in both files

  const Dataset alone = read_graph("meld_roberta_alone/meld_features_roberta.pkl");
  EXPECT_EQ(alone.info.modality_dims, (std::array<int64_t, 3>{256, 0, 0}));
  EXPECT_EQ(alone.info.num_speakers, 9);
  EXPECT_EQ(alone.dialogues[1].utterances[1].speaker, (2 * 1 + 1) % 9);
  EXPECT_EQ(alone.dialogues[1].utterances[1].label, (1 + 2 * 1) % 7);  // emotion, not sentiment
  ASSERT_EQ(alone.scheme().partitions.size(), 3u);
  EXPECT_EQ(partition_ids(alone, "valid"), (std::vector<std::string>{"1040"}));
}

TEST(GraphPickleRead, GraphsmileIemocapAudioIsItem7AndVisualItem8) {
  const Dataset ds = read_graph("graphsmile_iemocap.pkl");
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{256, 1582, 342}));
  const Dialogue& d1 = ds.dialogues[1];
  EXPECT_EQ(d1.features[0].row(1)[1 * 64 + 3], fixture_val(4, 1, 1, 3));  // videoText1
  EXPECT_EQ(d1.features[1].row(1)[1581], fixture_val(1, 1, 1, 1581));
  EXPECT_EQ(d1.features[2].row(0)[341], fixture_val(2, 1, 0, 341));
  EXPECT_EQ(d1.utterances[1].speaker_name, "M");
  EXPECT_EQ(d1.utterances[1].speaker, 0);
  EXPECT_EQ(partition_ids(ds, "train"), (std::vector<std::string>{"Ses02M_script01a", "Ses01F_impro01"}));
}

TEST(GraphPickleRead, GraphsmileIemocap4) {
  const Dataset ds = read_graph("graphsmile_iemocap4.pkl");
  EXPECT_EQ(ds.info.class_names, (std::vector<std::string>{"hap", "sad", "neu", "ang"}));
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{1024, 100, 512}));
  EXPECT_EQ(ds.dialogues[2].utterances[3].label, (2 + 3) % 4);
  EXPECT_EQ(ds.dialogues[2].features[0].row(3)[1023], fixture_val(0, 2, 3, 1023));
  EXPECT_EQ(ds.dialogues[2].features[1].row(3)[99], fixture_val(1, 2, 3, 99));
  EXPECT_EQ(ds.dialogues[2].features[2].row(3)[511], fixture_val(2, 2, 3, 511));
  EXPECT_EQ(ds.num_utterances(), 8);
}

TEST(GraphPickleRead, GraphsmileMeld) {
  const Dataset ds = read_graph("graphsmile_meld.pkl");
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{256, 300, 342}));
  EXPECT_EQ(ds.dialogues[2].features[0].row(2)[0], fixture_val(3, 2, 2, 0));
  EXPECT_EQ(ds.dialogues[2].features[0].row(2)[255], fixture_val(6, 2, 2, 63));
  EXPECT_EQ(ds.dialogues[2].features[1].row(2)[0], fixture_val(1, 2, 2, 0));
  EXPECT_EQ(ds.dialogues[2].features[2].row(2)[0], fixture_val(2, 2, 2, 0));
  EXPECT_EQ(ds.dialogues[0].utterances[0].speaker, 0);
  EXPECT_EQ(ds.dialogues[2].utterances[2].label, (2 + 2 * 2) % 7);
  EXPECT_EQ(partition_ids(ds, "train"), (std::vector<std::string>{"7", "1040"}));
}

TEST(GraphPickleRead, GraphsmileMosei7BinsScoresAndKeepsThem) {
  const Dataset ds = read_graph("graphsmile_mosei7.pkl");
  EXPECT_EQ(ds.info.task, Task::kClassification);
  EXPECT_EQ(ds.info.num_classes(), 7);
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{1024, 384, 35}));
  // Scores [-2.5], [-2, -1] (numpy float64 scalars), [0, 1, 2, 2.5, -0.5].
  const int64_t want_label[3][5] = {{0}, {1, 2}, {3, 4, 5, 6, 2}};
  const float want_score[3][5] = {{-2.5f}, {-2.0f, -1.0f}, {0.0f, 1.0f, 2.0f, 2.5f, -0.5f}};
  for (size_t d = 0; d < 3; ++d)
    for (size_t u = 0; u < ds.dialogues[d].utterances.size(); ++u) {
      EXPECT_EQ(ds.dialogues[d].utterances[u].label, want_label[d][u]) << d << "," << u;
      EXPECT_EQ(ds.dialogues[d].utterances[u].score, want_score[d][u]) << d << "," << u;
    }
  // GraphSmile's speaker rule: 'M' -> 0, anything else ('' here) -> 1.
  EXPECT_EQ(ds.dialogues[0].utterances[0].speaker, 1);
  EXPECT_EQ(ds.dialogues[0].utterances[0].speaker_name, "");
  EXPECT_EQ(ds.dialogues[0].utterances[0].id, "-3g5yACwYnA_1");
  EXPECT_EQ(ds.dialogues[2].features[2].row(4)[34], fixture_val(2, 2, 4, 34));
}

}  // namespace
}  // namespace merc::data
