// Graph ERC pickle readers: every inconsistency is a FormatError naming the file and the defect;
// GraphSmile's CMU-MOSEI 7-class binning at each boundary.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "merc/core/error.h"
#include "merc/data/readers/graph_pickle.h"
#include "graph_pickle_fixtures.h"

namespace merc::data {
namespace {

using testing::graph_fixture;
using testing::read_graph;

// Reads `rel` with --format `format` and expects a FormatError whose path is the file (or
// `path_rel` when the defect is in another file) and whose message contains `what`.
void expect_format_error(const std::string& rel, const std::string& format, const std::string& what,
                         const std::string& path_rel = "") {
  try {
    read_graph(rel, format);
    ADD_FAILURE() << rel << ": no error, expected '" << what << "'";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), graph_fixture(path_rel.empty() ? rel : path_rel)) << e.what();
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << "message: " << e.what() << "\nwanted: " << what;
  }
}

TEST(GraphPickleErrors, WrongArityForAForcedFormat) {
  expect_format_error("broken/arity7.pkl", "m3net-iemocap",
                      "expected a 9-tuple (videoIDs, videoSpeakers, videoLabels, videoText, ...), got a 7-list");
  // A real layout forced as another one.
  expect_format_error("graphsmile_meld.pkl", "m3net-iemocap", "expected a 9-tuple");
  expect_format_error("graphsmile_meld.pkl", "m3net-iemocap", "got a 14-tuple");
  expect_format_error("m3net_iemocap/IEMOCAP_features.pkl", "graphsmile-meld", "expected a 14-tuple");
}

TEST(GraphPickleErrors, SplitVidMissingFromVideoIds) {
  expect_format_error("broken/split_unknown_vid.pkl", "m3net-iemocap",
                      "testVid lists dialogue 'Ses09X_nowhere' that videoIDs does not have");
}

TEST(GraphPickleErrors, RowCountDisagreesWithVideoIds) {
  expect_format_error("broken/rows_mismatch.pkl", "m3net-iemocap",
                      "dialogue 'Ses05F_impro03': videoAudio has 4 rows but videoIDs lists 5 utterances");
}

TEST(GraphPickleErrors, FeatureDimsDifferBetweenDialogues) {
  expect_format_error("broken/dims_differ.pkl", "m3net-iemocap",
                      "videoVisual: dialogue 'Ses02M_script01a' has 3 columns but dialogue 'Ses01F_impro01' has 2");
}

TEST(GraphPickleErrors, LabelOutOfRange) {
  expect_format_error("broken/label_range.pkl", "m3net-iemocap",
                      "videoLabels['Ses02M_script01a'][1] = 6 is outside the class range 0..5");
}

TEST(GraphPickleErrors, VidInTrainAndTest) {
  expect_format_error("broken/train_and_test.pkl", "m3net-iemocap",
                      "dialogue 'Ses02M_script01a' is in both trainVid and testVid");
}

TEST(GraphPickleErrors, UnknownSpeakerLetterAndBadOneHot) {
  expect_format_error("broken/speaker_letter.pkl", "m3net-iemocap",
                      "videoSpeakers['Ses01F_impro01'][0] is speaker 'X', expected 'M' or 'F'");
  expect_format_error("broken/meld_two_hot.pkl", "m3net-meld", "videoSpeakers['1040'][1] is not a one-hot speaker vector");
}

TEST(GraphPickleErrors, DialogueMissingFromAField) {
  expect_format_error("broken/missing_entry.pkl", "m3net-iemocap", "videoAudio has no entry for dialogue 'Ses02M_script01a'");
}

TEST(GraphPickleErrors, BrokenCompanionIsNamedInTheError) {
  expect_format_error("broken/companion/iemocap_features_roberta.pkl", "m3net-iemocap-roberta",
                      "expected a 9-tuple (videoIDs", "broken/companion/IEMOCAP_features.pkl");
}

TEST(GraphPickleErrors, VidInNoSplitIsLeftOutWithOneWarning) {
  const Dataset ds = read_graph("broken/unsplit.pkl", "m3net-iemocap");
  ASSERT_EQ(ds.dialogues.size(), 3u);  // kept as a dialogue ...
  EXPECT_EQ(testing::partition_ids(ds, "train"), (std::vector<std::string>{"Ses01F_impro01"}));
  EXPECT_EQ(testing::partition_ids(ds, "test"), (std::vector<std::string>{"Ses05F_impro03"}));  // ... in no partition
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_NE(ds.warnings[0].find("1 of 3 dialogues"), std::string::npos) << ds.warnings[0];
}

TEST(Mosei7Bin, EachBoundaryAndItsNeighbours) {
  // s < -2 -> 0, [-2,-1) -> 1, [-1,0) -> 2, 0 -> 3, (0,1] -> 4, (1,2] -> 5, > 2 -> 6.
  const std::pair<double, int64_t> cases[] = {
      {-3.0, 0}, {-2.000001, 0}, {-2.0, 1}, {-1.999999, 1}, {-1.000001, 1}, {-1.0, 2}, {-0.999999, 2},
      {-0.000001, 2}, {0.0, 3}, {-0.0, 3}, {0.000001, 4}, {0.999999, 4}, {1.0, 4}, {1.000001, 5},
      {1.999999, 5}, {2.0, 5}, {2.000001, 6}, {3.0, 6}};
  for (const auto& [s, want] : cases) EXPECT_EQ(mosei7_bin(s), want) << s;
}

TEST(Mosei7Bin, ReaderBinsTheFixtureBoundaries) {
  // mosei7_bins.pkl holds these scores (as Python floats) in this order.
  const double scores[] = {-3.0, -2.000001, -2.0, -1.999999, -1.000001, -1.0, -0.999999, -0.000001, 0.0,
                           0.000001, 0.999999, 1.0, 1.000001, 1.999999, 2.0, 2.000001, 3.0};
  const int64_t want[] = {0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 4, 4, 5, 5, 5, 6, 6};
  const Dataset ds = read_graph("mosei7_bins.pkl");
  EXPECT_EQ(ds.info.source_format, "graphsmile-mosei7");
  ASSERT_EQ(ds.dialogues.size(), 1u);
  ASSERT_EQ(ds.dialogues[0].utterances.size(), std::size(scores));
  for (size_t u = 0; u < std::size(scores); ++u) {
    EXPECT_EQ(ds.dialogues[0].utterances[u].label, want[u]) << scores[u];
    EXPECT_EQ(ds.dialogues[0].utterances[u].score, static_cast<float>(scores[u]));
  }
}

}  // namespace
}  // namespace merc::data
