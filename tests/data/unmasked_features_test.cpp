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

}  // namespace
}  // namespace merc::data
