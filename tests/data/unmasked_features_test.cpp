// apply_missing keeps the batch as collated in unmasked_features / unmasked_modality_mask
// (for GCNet's reconstruction loss), once, through layout changes and device moves.
#include <gtest/gtest.h>

#include "merc/data/missing_protocol.h"
#include "test_datasets.h"

namespace merc::data {
namespace {

TEST(UnmaskedFeatures, ApplyMissingRecordsTheCollatedBatchOnce) {
  const Dataset ds = testing::tiny_dataset();
  std::vector<const Dialogue*> ptrs{&ds.dialogues[0], &ds.dialogues[1]};
  DialogueBatch batch = collate(ptrs, ds.info);
  const DialogueBatch collated = batch;
  EXPECT_FALSE(batch.unmasked_modality_mask.defined());
  torch::Tensor keep = torch::ones_like(batch.modality_mask);
  keep.select(2, static_cast<int64_t>(Modality::kText)).fill_(false);
  apply_missing(batch, keep);
  ASSERT_TRUE(batch.unmasked_modality_mask.defined());
  EXPECT_TRUE(torch::equal(batch.unmasked_modality_mask, collated.modality_mask));
  for (int m = 0; m < kNumModalities; ++m) {
    const auto& f = collated.features[static_cast<size_t>(m)];
    if (!f.defined()) continue;
    EXPECT_TRUE(torch::equal(batch.unmasked_features[static_cast<size_t>(m)], f)) << m;
  }
  // The text features themselves are zeroed (the check above can fail: they were not zero).
  const auto& text = batch.features[static_cast<size_t>(Modality::kText)];
  ASSERT_GT(collated.features[static_cast<size_t>(Modality::kText)].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(text.abs().sum().item<float>(), 0.0f);
  // A second protocol keeps the first original.
  apply_missing(batch, torch::zeros_like(batch.modality_mask));
  EXPECT_TRUE(torch::equal(batch.unmasked_modality_mask, collated.modality_mask));
  // Layout changes and moves carry them.
  const DialogueBatch tm = batch.time_major().to(torch::kCPU);
  EXPECT_TRUE(torch::equal(tm.unmasked_modality_mask, collated.modality_mask.transpose(0, 1)));
  EXPECT_TRUE(torch::equal(tm.batch_major().unmasked_features[static_cast<size_t>(Modality::kText)],
                           collated.features[static_cast<size_t>(Modality::kText)]));
}

TEST(UnmaskedFeatures, ApplyMissingClearsDroppedSequencesAndKeepsTheCollatedOnes) {
  const Dataset ds = testing::tiny_dataset_with_sequences();
  DialogueBatch batch = collate({&ds.dialogues[0], &ds.dialogues[1]}, ds.info);
  const DialogueBatch collated = batch;
  const auto text = static_cast<size_t>(Modality::kText), audio = static_cast<size_t>(Modality::kAudio);
  // Drop text at (b=1, t=2) and audio at (b=0, t=1); keep everything else.
  torch::Tensor keep = torch::ones_like(batch.modality_mask);
  keep[1][2][static_cast<int64_t>(text)] = false;
  keep[0][1][static_cast<int64_t>(audio)] = false;
  ASSERT_TRUE(collated.sequence_mask[text][1][2].any().item<bool>());  // there was something to drop
  ASSERT_TRUE(collated.sequence_mask[audio][0][1].any().item<bool>());
  apply_missing(batch, keep);
  EXPECT_FALSE(batch.sequence_mask[text][1][2].any().item<bool>());
  EXPECT_EQ(batch.sequence[text][1][2].abs().sum().item<float>(), 0.0f);
  EXPECT_FALSE(batch.sequence_mask[audio][0][1].any().item<bool>());
  EXPECT_EQ(batch.sequence[audio][0][1].abs().sum().item<float>(), 0.0f);
  // Everything else is untouched.
  torch::Tensor expect_text = collated.sequence[text].clone(), expect_text_mask = collated.sequence_mask[text].clone();
  expect_text[1][2].zero_();
  expect_text_mask[1][2].fill_(false);
  EXPECT_TRUE(torch::equal(batch.sequence[text], expect_text));
  EXPECT_TRUE(torch::equal(batch.sequence_mask[text], expect_text_mask));
  EXPECT_EQ(batch.sequence_mask[audio].sum().item<int64_t>(),
            collated.sequence_mask[audio].sum().item<int64_t>() - collated.sequence_mask[audio][0][1].sum().item<int64_t>());
  // The collated sequences are kept, once, and travel with layout changes.
  for (size_t m : {text, audio}) {
    EXPECT_TRUE(torch::equal(batch.unmasked_sequence[m], collated.sequence[m])) << m;
    EXPECT_TRUE(torch::equal(batch.unmasked_sequence_mask[m], collated.sequence_mask[m])) << m;
  }
  EXPECT_FALSE(batch.unmasked_sequence[static_cast<size_t>(Modality::kVisual)].defined());
  apply_missing(batch, torch::zeros_like(batch.modality_mask));
  EXPECT_FALSE(batch.sequence_mask[text].any().item<bool>());
  EXPECT_TRUE(torch::equal(batch.unmasked_sequence[text], collated.sequence[text]));
  const DialogueBatch tm = batch.time_major();
  EXPECT_TRUE(torch::equal(tm.unmasked_sequence_mask[audio].transpose(0, 1), collated.sequence_mask[audio]));
  EXPECT_TRUE(torch::equal(tm.batch_major().unmasked_sequence[audio], collated.sequence[audio]));
}

TEST(UnmaskedFeatures, ApplyMissingOnATimeMajorBatchClearsTheSameSequences) {
  const Dataset ds = testing::tiny_dataset_with_sequences();
  DialogueBatch bm = collate({&ds.dialogues[0], &ds.dialogues[1]}, ds.info);
  DialogueBatch tm = bm.time_major();
  torch::Tensor keep = torch::ones_like(bm.modality_mask);
  keep[1][2][0] = false;
  apply_missing(bm, keep);
  apply_missing(tm, keep.transpose(0, 1).contiguous());
  EXPECT_TRUE(torch::equal(tm.batch_major().sequence[0], bm.sequence[0]));
  EXPECT_TRUE(torch::equal(tm.batch_major().sequence_mask[0], bm.sequence_mask[0]));
}

}  // namespace
}  // namespace merc::data
