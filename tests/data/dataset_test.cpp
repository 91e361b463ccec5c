#include "merc/data/dataset.h"

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/data/summary.h"
#include "test_datasets.h"

namespace merc::data {
namespace {

TEST(Dataset, PartitionLookupAndErrorsListValidNames) {
  const Dataset ds = testing::tiny_dataset();
  EXPECT_EQ(ds.num_utterances(), 6);
  const auto train = ds.partition("train");
  ASSERT_EQ(train.size(), 2u);
  EXPECT_EQ(train[1]->id, "d1");
  try {
    ds.partition("valid");
    FAIL();
  } catch (const UnknownNameError& e) {
    EXPECT_NE(std::string(e.what()).find("train, test"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ds.scheme("poria"), UnknownNameError);
}

TEST(Dataset, ValidateAcceptsConsistentAndNamesFirstProblem) {
  EXPECT_NO_THROW(testing::tiny_dataset().validate("tiny.bin"));
  auto expect_problem = [](Dataset ds, const std::string& needle) {
    try {
      ds.validate("tiny.bin");
      FAIL() << "expected FormatError containing " << needle;
    } catch (const FormatError& e) {
      EXPECT_EQ(e.path(), "tiny.bin");
      EXPECT_NE(e.problem().find(needle), std::string::npos) << e.what();
    }
  };
  Dataset a = testing::tiny_dataset();
  a.dialogues[1].features[1] = FeatureMatrix(2, 3);
  expect_problem(a, "audio features are 2x3 but 3 utterances");
  Dataset b = testing::tiny_dataset();
  b.dialogues[0].utterances[0].label = 2;
  expect_problem(b, "label 2 outside 0..1");
  Dataset c = testing::tiny_dataset();
  c.split_schemes[0].partitions[1].dialogues = {1};
  expect_problem(c, "is in two partitions");
  Dataset d = testing::tiny_dataset();
  d.dialogues[2].id = "d0";
  expect_problem(d, "occurs twice");
  Dataset e = testing::tiny_dataset();
  e.dialogues[0].utterances[1].speaker = 2;
  expect_problem(e, "speaker index 2");
  Dataset f = testing::tiny_dataset();
  f.split_schemes[0].partitions[1].dialogues = {3};
  expect_problem(f, "refers to dialogue #3");
  Dataset g = testing::tiny_dataset();
  g.dialogues.clear();
  g.split_schemes.clear();
  g.info.modality_dims[2] = int64_t{1} << 40;  // no dialogue to contradict it, still rejected
  expect_problem(g, "visual feature dim 1099511627776 outside 0..16777216");
  Dataset h = testing::tiny_dataset();
  h.info.num_speakers = 0;
  expect_problem(h, "number of speakers 0 outside 1..");
}

TEST(Summary, CountsPerSplitClassesLengthsAndJsonKeys) {
  const DatasetSummary s = summarize(testing::tiny_dataset());
  EXPECT_EQ(s.num_dialogues, 3);
  EXPECT_EQ(s.num_utterances, 6);
  // Labels (d+u)%2: d0 -> 0,1; d1 -> 1,0,1; d2 -> 0  => neg 3, pos 3.
  EXPECT_EQ(s.class_counts, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(s.dialogue_length.min, 1);
  EXPECT_EQ(s.dialogue_length.max, 3);
  EXPECT_DOUBLE_EQ(s.dialogue_length.mean, 2.0);
  EXPECT_EQ(s.missing_modality_entries, 1);
  EXPECT_EQ(s.distinct_speaker_names, 2);
  const auto j = summary_to_json(s);
  EXPECT_EQ(j["num_utterances"], 6);
  EXPECT_EQ(j["splits"]["train"]["dialogues"], 2);
  EXPECT_EQ(j["splits"]["train"]["utterances"], 5);
  EXPECT_EQ(j["splits"]["test"]["utterances"], 1);
  EXPECT_EQ(j["splits"]["train"]["classes"]["pos"], 3);  // d0: 1, d1: 2
  EXPECT_EQ(j["classes"]["neg"], 3);
  EXPECT_EQ(j["modalities"]["text"], 2);
  EXPECT_EQ(j["modalities"]["audio"], 3);
  EXPECT_FALSE(j["modalities"].contains("visual"));
  EXPECT_EQ(j["scores"]["count"], 6);
  const std::string text = summary_to_text(s);
  EXPECT_NE(text.find("split 'given' (default)"), std::string::npos) << text;
}

// Named: test sources are compiled as a unity build.
namespace dataset_test {
// ds.validate must throw a FormatError whose problem contains `needle`.
void expect_validate_problem(const Dataset& ds, const std::string& needle) {
  try {
    ds.validate("check.bin");
    FAIL() << "expected FormatError containing " << needle;
  } catch (const FormatError& e) {
    EXPECT_NE(e.problem().find(needle), std::string::npos) << e.what();
  }
}
}  // namespace dataset_test

TEST(Dataset, ValidateChecksSemanticVectorShapes) {
  const auto expect_problem = dataset_test::expect_validate_problem;
  Dataset ok = testing::tiny_dataset();
  ok.info.semantic_dim = 4;
  for (Dialogue& d : ok.dialogues) d.semantic = FeatureMatrix(d.length(), 4);
  EXPECT_NO_THROW(ok.validate("check.bin"));
  Dataset rows = ok;
  rows.dialogues[1].semantic = FeatureMatrix(2, 4);
  expect_problem(rows, "dialogue 'd1': semantic vectors are 2x4 but 3 utterances of dim 4 were expected");
  Dataset missing = ok;
  missing.dialogues[2].semantic = FeatureMatrix();
  expect_problem(missing, "dialogue 'd2': semantic vectors are 0x0 but 1 utterances of dim 4");
  Dataset undeclared = testing::tiny_dataset();
  undeclared.dialogues[0].semantic = FeatureMatrix(2, 4);
  expect_problem(undeclared, "dialogue 'd0' has semantic vectors but the dataset declares none");
  Dataset huge = testing::tiny_dataset();
  huge.info.semantic_dim = int64_t{1} << 40;
  expect_problem(huge, "semantic vector dim 1099511627776 outside 0..");
}

TEST(Dataset, ValidateChecksSequenceShapes) {
  const auto expect_problem = dataset_test::expect_validate_problem;
  const Dataset ok = testing::tiny_dataset_with_sequences();
  EXPECT_NO_THROW(ok.validate("check.bin"));
  // d1's text offsets are {0, 1, 3, 6}: a corrupted entry breaks monotonicity.
  Dataset decreasing = ok;
  ASSERT_EQ(decreasing.dialogues[1].sequences[0].offsets, (std::vector<int64_t>{0, 1, 3, 6}));
  decreasing.dialogues[1].sequences[0].offsets[2] = 0;
  expect_problem(decreasing, "dialogue 'd1': text sequence offsets decrease at entry 2 (0 after 1)");
  Dataset count = ok;
  count.dialogues[1].sequences[0].offsets.pop_back();
  expect_problem(count, "dialogue 'd1': text sequence offsets have 3 entries, expected 4 (utterances + 1)");
  Dataset start = ok;
  start.dialogues[0].sequences[1].offsets[0] = 1;
  expect_problem(start, "dialogue 'd0': audio sequence offsets start at 1, expected 0");
  Dataset values = ok;
  values.dialogues[2].sequences[1].values.push_back(1.0f);
  expect_problem(values, "dialogue 'd2': audio sequences hold 7 floats but the offsets describe 2 steps of dim 3");
  Dataset huge = ok;  // an offset so large that steps * dim would overflow
  huge.dialogues[2].sequences[1].offsets.back() = int64_t{1} << 62;
  expect_problem(huge, "dialogue 'd2': audio sequences hold 6 floats but the offsets describe 4611686018427387904");
  Dataset dim = ok;
  dim.dialogues[0].sequences[0].dim = 3;
  expect_problem(dim, "dialogue 'd0': text sequences have dim 3 but the modality has dim 2");
  Dataset missing = ok;
  missing.dialogues[2].sequences[0] = SequenceFeatures();
  expect_problem(missing, "dialogue 'd2' has no text sequences but the dataset declares sequences");
  Dataset undeclared = ok;
  undeclared.info.has_sequences = false;
  expect_problem(undeclared, "dialogue 'd0' has text sequences but the dataset declares none (has_sequences is false)");
  Dataset absent_modality = ok;
  absent_modality.dialogues[0].sequences[2] = SequenceFeatures(4);
  expect_problem(absent_modality, "dialogue 'd0' has visual sequences but the dataset declares none (it has no such modality)");
}

TEST(Summary, ReportsSequenceLengthsOnlyWhenPresent) {
  EXPECT_FALSE(summary_to_json(summarize(testing::tiny_dataset())).contains("sequences"));
  EXPECT_EQ(summary_to_text(summarize(testing::tiny_dataset())).find("sequences"), std::string::npos);
  const DatasetSummary s = summarize(testing::tiny_dataset_with_sequences());
  const auto j = summary_to_json(s);
  // Text lengths u + 1 over lengths 2, 3, 1: {1,2}, {1,2,3}, {1} -> max 3, mean 10/6.
  EXPECT_EQ(j["sequences"]["text"]["max"], 3);
  EXPECT_DOUBLE_EQ(j["sequences"]["text"]["mean"].get<double>(), 10.0 / 6.0);
  EXPECT_EQ(j["sequences"]["text"]["empty"], 0);
  // Audio (d + u) % 3: {0,1}, {1,2,0}, {2} -> max 2, 2 empty.
  EXPECT_EQ(j["sequences"]["audio"]["max"], 2);
  EXPECT_EQ(j["sequences"]["audio"]["empty"], 2);
  EXPECT_FALSE(j["sequences"].contains("visual"));
  const std::string text = summary_to_text(s);
  EXPECT_NE(text.find("sequences   audio   max    2  mean 1.0 steps per utterance (2 without a step)"),
            std::string::npos) << text;
}

TEST(Summary, MentionsSemanticVectorsOnlyWhenPresent) {
  const DatasetSummary plain = summarize(testing::tiny_dataset());
  EXPECT_FALSE(summary_to_json(plain).contains("semantic"));
  EXPECT_EQ(summary_to_text(plain).find("semantic"), std::string::npos);
  Dataset ds = testing::tiny_dataset();
  ds.info.semantic_dim = 384;
  ds.info.semantic_source = "minilm-keywords";
  for (Dialogue& d : ds.dialogues) d.semantic = FeatureMatrix(d.length(), 384);
  const DatasetSummary s = summarize(ds);
  const auto j = summary_to_json(s);
  EXPECT_EQ(j["semantic"]["dim"], 384);
  EXPECT_EQ(j["semantic"]["source"], "minilm-keywords");
  const std::string text = summary_to_text(s);
  EXPECT_NE(text.find("semantic    dim   384  minilm-keywords (per-utterance semantic vectors)"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace merc::data
