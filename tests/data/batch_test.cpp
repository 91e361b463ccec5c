#include "merc/data/batch.h"

#include <limits>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "test_datasets.h"

namespace merc::data {
namespace {

TEST(Collate, PadsFeaturesMasksAndLabels) {
  const Dataset ds = testing::tiny_dataset();
  // Order d2 (len 1), d1 (len 3): T = 3.
  const DialogueBatch b = collate({&ds.dialogues[2], &ds.dialogues[1]}, ds.info);
  ASSERT_EQ(b.batch_size(), 2);
  ASSERT_EQ(b.max_length(), 3);
  EXPECT_EQ(b.dialogue_id, (std::vector<std::string>{"d2", "d1"}));
  EXPECT_EQ(b.features[0].sizes(), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(b.features[1].sizes(), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_FALSE(b.features[2].defined());  // dataset has no visual modality

  // Values: text[b=1][t=2][j=1] = 100*1 + 10*2 + 1 = 121; padding is zero.
  EXPECT_EQ(b.features[0][1][2][1].item<float>(), 121.0f);
  EXPECT_EQ(b.features[0][0][0][0].item<float>(), 200.0f);
  EXPECT_EQ(b.features[0][0][1].abs().sum().item<float>(), 0.0f);
  // d1 utterance 1 audio is not observed: zeroed and masked even though the source held values.
  EXPECT_EQ(b.features[1][1][1].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(b.features[1][1][2][0].item<float>(), 120.5f);
  EXPECT_FALSE(b.modality_mask[1][1][1].item<bool>());
  EXPECT_TRUE(b.modality_mask[1][1][0].item<bool>());
  EXPECT_FALSE(b.modality_mask[1][0][2].item<bool>());  // no visual anywhere

  EXPECT_EQ(b.utterance_mask.sum().item<int64_t>(), 4);
  EXPECT_FALSE(b.utterance_mask[0][1].item<bool>());
  EXPECT_EQ(b.lengths[0].item<int64_t>(), 1);
  EXPECT_EQ(b.lengths[1].item<int64_t>(), 3);
  EXPECT_EQ(b.label[0][1].item<int64_t>(), -1);  // padding
  EXPECT_EQ(b.label[1][2].item<int64_t>(), (1 + 2) % 2);
  EXPECT_EQ(b.speaker[1][1].item<int64_t>(), 1);
  EXPECT_EQ(b.score[1][2].item<float>(), 1.0f - 2.0f);
  // Text and speaker names, per dialogue and only for real utterances.
  ASSERT_EQ(b.transcript.size(), 2u);
  EXPECT_EQ(b.transcript[0].size(), 1u);
  EXPECT_EQ(b.transcript[1], (std::vector<std::string>{"utterance 0", "utterance 1", "utterance 2"}));
  EXPECT_EQ(b.speaker_name[1], (std::vector<std::string>{"A", "B", "A"}));
  EXPECT_EQ(b.time_major().transcript, b.transcript);  // strings stay dialogue-major
}

TEST(Collate, TargetMaskKeepsRealUtterancesWithATarget) {
  DialogueBatch b;
  b.utterance_mask = torch::tensor({true, true, true, false}).reshape({2, 2});
  b.label = torch::tensor({0, -1, 2, -1}, torch::kLong).reshape({2, 2});  // -1: unlabelled / padding
  const float nan = std::numeric_limits<float>::quiet_NaN();
  b.score = torch::tensor({0.5f, 1.f, nan, 0.f}).reshape({2, 2});
  EXPECT_TRUE(torch::equal(target_mask(b, Task::kClassification), torch::tensor({true, false, true, false})));
  EXPECT_TRUE(torch::equal(target_mask(b, Task::kRegression), torch::tensor({true, true, false, false})));
}

TEST(Collate, TimeMajorViewTransposesEveryPerUtteranceTensor) {
  const Dataset ds = testing::tiny_dataset();
  const DialogueBatch b = collate({&ds.dialogues[0], &ds.dialogues[1]}, ds.info);
  const DialogueBatch t = b.time_major();
  EXPECT_EQ(t.layout, BatchLayout::kTimeMajor);
  EXPECT_EQ(t.features[0].sizes(), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(t.modality_mask.sizes(), (std::vector<int64_t>{3, 2, 3}));
  EXPECT_EQ(t.max_length(), 3);
  EXPECT_TRUE(torch::equal(t.features[0].transpose(0, 1), b.features[0]));
  EXPECT_TRUE(torch::equal(t.label.transpose(0, 1), b.label));
  EXPECT_TRUE(torch::equal(t.batch_major().speaker, b.speaker));
  EXPECT_TRUE(t.features[0].is_contiguous());
}

TEST(Collate, RejectsEmptyBatchAndMismatchedFeatures) {
  Dataset ds = testing::tiny_dataset();
  EXPECT_THROW(collate({}, ds.info), Error);
  ds.dialogues[0].features[0] = FeatureMatrix(2, 5);  // wrong dim
  EXPECT_THROW(collate({&ds.dialogues[0]}, ds.info), Error);
}

// Named: test sources are compiled as a unity build.
namespace batch_test_detail {
// tiny_dataset plus K = 2 semantic vectors semantic[u][j] = 100*dialogue + 10*utt + j + 0.25.
Dataset collate_semantic_dataset() {
  Dataset ds = testing::tiny_dataset();
  ds.info.semantic_dim = 2;
  ds.info.semantic_source = "unit";
  for (size_t d = 0; d < ds.dialogues.size(); ++d) {
    Dialogue& dlg = ds.dialogues[d];
    dlg.semantic = FeatureMatrix(dlg.length(), 2);
    for (int64_t u = 0; u < dlg.length(); ++u)
      for (int64_t j = 0; j < 2; ++j)
        dlg.semantic.row(u)[j] = static_cast<float>(100 * static_cast<int64_t>(d) + 10 * u + j) + 0.25f;
  }
  return ds;
}
}  // namespace batch_test_detail

using batch_test_detail::collate_semantic_dataset;

TEST(Collate, SemanticVectorsArePaddedWithZerosAndUndefinedWithout) {
  const Dataset plain = testing::tiny_dataset();
  EXPECT_FALSE(collate({&plain.dialogues[0]}, plain.info).semantic.defined());
  const Dataset ds = collate_semantic_dataset();
  ds.validate("tiny_with_semantic");
  // d2 (len 1), d1 (len 3): T = 3.
  const DialogueBatch b = collate({&ds.dialogues[2], &ds.dialogues[1]}, ds.info);
  ASSERT_TRUE(b.semantic.defined());
  EXPECT_EQ(b.semantic.sizes(), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(b.semantic.scalar_type(), torch::kFloat32);
  EXPECT_EQ(b.semantic[0][0][1].item<float>(), 201.25f);
  EXPECT_EQ(b.semantic[0].slice(0, 1).abs().sum().item<float>(), 0.0f);  // d2's padding rows
  EXPECT_EQ(b.semantic[1][2][0].item<float>(), 120.25f);
  // d1 utterance 1 has audio missing; the semantic vector is copied as stored all the same.
  EXPECT_EQ(b.semantic[1][1][1].item<float>(), 111.25f);
}

TEST(Collate, SemanticVectorsFollowTheLayoutAndTheDevice) {
  const Dataset ds = collate_semantic_dataset();
  const DialogueBatch b = collate({&ds.dialogues[0], &ds.dialogues[1]}, ds.info);
  const DialogueBatch t = b.time_major();
  EXPECT_EQ(t.semantic.sizes(), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_TRUE(t.semantic.is_contiguous());
  EXPECT_TRUE(torch::equal(t.semantic.transpose(0, 1), b.semantic));
  EXPECT_TRUE(torch::equal(t.batch_major().semantic, b.semantic));
  EXPECT_TRUE(torch::equal(b.to(torch::Device(torch::kCPU)).semantic, b.semantic));
}

TEST(Collate, RejectsSemanticVectorsOfTheWrongShape) {
  Dataset ds = collate_semantic_dataset();
  ds.dialogues[0].semantic = FeatureMatrix(2, 3);
  try {
    collate({&ds.dialogues[0]}, ds.info);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dialogue 'd0' semantic vectors are 2x3, expected 2x2"), std::string::npos)
        << e.what();
  }
}

namespace batch_test_detail {
// (B, T, L) bool from nested 0/1 lists.
torch::Tensor bool_mask(const std::vector<std::vector<std::vector<int>>>& v) {
  const auto B = static_cast<int64_t>(v.size()), T = static_cast<int64_t>(v[0].size()),
             L = static_cast<int64_t>(v[0][0].size());
  torch::Tensor out = torch::zeros({B, T, L}, torch::kBool);
  auto a = out.accessor<bool, 3>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t l = 0; l < L; ++l) a[b][t][l] = v[static_cast<size_t>(b)][static_cast<size_t>(t)][static_cast<size_t>(l)] != 0;
  return out;
}
}  // namespace batch_test_detail

TEST(Collate, SequencesArePaddedToTheLongestAndMasked) {
  const Dataset ds = testing::tiny_dataset_with_sequences();
  ds.validate("tiny_with_sequences");
  // d2 (len 1), d1 (len 3): T = 3. Text lengths d2: 1; d1: 1, 2, 3 -> L = 3. Audio lengths
  // d2: 2; d1: 1, 2 (not observed), 0 -> L = 2.
  const DialogueBatch b = collate({&ds.dialogues[2], &ds.dialogues[1]}, ds.info);
  const torch::Tensor& text = b.sequence[0];
  const torch::Tensor& audio = b.sequence[1];
  ASSERT_TRUE(text.defined() && audio.defined());
  EXPECT_FALSE(b.sequence[2].defined());  // no visual modality
  EXPECT_FALSE(b.sequence_mask[2].defined());
  EXPECT_EQ(text.sizes(), (std::vector<int64_t>{2, 3, 3, 2}));
  EXPECT_EQ(audio.sizes(), (std::vector<int64_t>{2, 3, 2, 3}));
  EXPECT_EQ(text.scalar_type(), torch::kFloat32);
  using batch_test_detail::bool_mask;
  EXPECT_TRUE(torch::equal(b.sequence_mask[0], bool_mask({{{1, 0, 0}, {0, 0, 0}, {0, 0, 0}},
                                                          {{1, 0, 0}, {1, 1, 0}, {1, 1, 1}}})));
  // d1 utterance 1 holds two audio steps but its audio is not observed: masked (and zeroed below).
  EXPECT_TRUE(torch::equal(b.sequence_mask[1], bool_mask({{{1, 1}, {0, 0}, {0, 0}}, {{1, 0}, {0, 0}, {0, 0}}})));
  // Every stored value here is non-zero, so "non-zero" must coincide with the mask: zeros beyond
  // each length, at padding and where the modality is missing.
  EXPECT_TRUE(torch::equal(text.ne(0).any(-1), b.sequence_mask[0]));
  EXPECT_TRUE(torch::equal(audio.ne(0).any(-1), b.sequence_mask[1]));
  // Values: step s of dialogue d utterance u, column j = 1000d + 100u + 10s + j (+0.5 audio).
  EXPECT_EQ(text[0][0][0][1].item<float>(), 2001.0f);
  EXPECT_EQ(text[1][1][1][1].item<float>(), 1111.0f);
  EXPECT_EQ(text[1][2][2][0].item<float>(), 1220.0f);
  EXPECT_EQ(audio[0][0][1][2].item<float>(), 2012.5f);
  EXPECT_EQ(audio[1][0][0][0].item<float>(), 1000.5f);
}

TEST(Collate, SequencesFollowTheLayoutTheDeviceAndFlatten) {
  const Dataset ds = testing::tiny_dataset_with_sequences();
  const DialogueBatch b = collate({&ds.dialogues[0], &ds.dialogues[1]}, ds.info);
  const DialogueBatch t = b.time_major();
  for (int m = 0; m < 2; ++m) {
    EXPECT_EQ(t.sequence[m].size(0), 3);  // T first
    EXPECT_TRUE(t.sequence[m].is_contiguous());
    EXPECT_TRUE(torch::equal(t.sequence[m].transpose(0, 1), b.sequence[m]));
    EXPECT_TRUE(torch::equal(t.sequence_mask[m].transpose(0, 1), b.sequence_mask[m]));
    EXPECT_TRUE(torch::equal(t.batch_major().sequence[m], b.sequence[m]));
    EXPECT_TRUE(torch::equal(b.to(torch::Device(torch::kCPU)).sequence_mask[m], b.sequence_mask[m]));
  }
  // (B, T, L, D) -> (B*T, L, D): slot (b, t) is row b*T + t.
  const torch::Tensor flat = flatten_utterances(b.sequence[0]);
  EXPECT_EQ(flat.sizes(), (std::vector<int64_t>{6, 3, 2}));
  EXPECT_TRUE(torch::equal(flat[1 * 3 + 2], b.sequence[0][1][2]));
  EXPECT_EQ(flatten_utterances(b.sequence_mask[0]).sizes(), (std::vector<int64_t>{6, 3}));
  EXPECT_FALSE(flatten_utterances(torch::Tensor()).defined());
  EXPECT_THROW(flatten_utterances(torch::zeros({4})), Error);
}

TEST(Collate, SequencesAreUndefinedWithoutAndAtLeastOneStepLong) {
  const Dataset plain = testing::tiny_dataset();
  const DialogueBatch p = collate({&plain.dialogues[0], &plain.dialogues[1]}, plain.info);
  for (int m = 0; m < kNumModalities; ++m) {
    EXPECT_FALSE(p.sequence[m].defined()) << m;
    EXPECT_FALSE(p.sequence_mask[m].defined()) << m;
  }
  // Every audio sequence of the batch is empty: L = 1, all masked, all zero.
  Dataset ds = testing::tiny_dataset_with_sequences();
  SequenceFeatures none(3);
  none.append(nullptr, 0);
  ds.dialogues[2].sequences[1] = none;
  ds.validate("one empty audio sequence");
  const DialogueBatch b = collate({&ds.dialogues[2]}, ds.info);
  EXPECT_EQ(b.sequence[1].sizes(), (std::vector<int64_t>{1, 1, 1, 3}));
  EXPECT_FALSE(b.sequence_mask[1].any().item<bool>());
  EXPECT_EQ(b.sequence[1].abs().sum().item<float>(), 0.0f);
}

TEST(Collate, RejectsMissingSequencesWhenTheDatasetDeclaresThem) {
  Dataset ds = testing::tiny_dataset_with_sequences();
  ds.dialogues[0].sequences[1] = SequenceFeatures();
  try {
    collate({&ds.dialogues[0]}, ds.info);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dialogue 'd0' audio sequences hold 0 utterances of dim 0, expected 2 of dim 3"),
              std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace merc::data
