// Evaluation masks (EvalOptions::fixed_masks, protocol.test_redraw): fixed = the same per-dialogue
// masks in every evaluation; per_batch = a new stream per (epoch, partition), as the published
// scripts draw new masks at every evaluation, while re-evaluating an epoch repeats its masks.
#include <set>

#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include "merc/train/evaluate.h"
#include "synthetic_data.h"

namespace merc::train {
namespace {

// Records the modality mask of every batch it sees.
class MaskRecorder : public models::Model {
 public:
  explicit MaskRecorder(const models::ModelDims& dims) : Model("MaskRecorder") {
    lin_ = register_module("lin", torch::nn::Linear(dims.input_dims[0], dims.output_dim()));
  }
  models::ModelOutput forward(const data::DialogueBatch& batch, const models::ForwardContext&) override {
    masks.push_back(batch.modality_mask.clone());
    models::ModelOutput out;
    out.logits = lin_(batch.features[0]);
    return out;
  }
  torch::nn::Linear lin_{nullptr};
  std::vector<torch::Tensor> masks;
};

struct Fixture {
  data::Dataset ds = testing::synthetic_dataset();
  models::ModelDims dims = models::model_dims(ds.info, {}, data::Task::kClassification);
  TaskLoss loss = find_loss("cross_entropy", data::Task::kClassification);
  std::vector<const data::Dialogue*> test = ds.partition("test", "given");
};

// All batch masks of one evaluation, concatenated along the batch axis.
torch::Tensor masks_of(Fixture& f, bool fixed, int64_t epoch, const std::string& partition) {
  MaskRecorder model(f.dims);
  EvalOptions o;
  o.protocol = "random:0.5";
  o.seed = 67;
  o.fixed_masks = fixed;
  o.batch_size = 2;
  o.epoch = epoch;
  o.partition = partition;
  evaluate(model, f.test, f.ds.info, f.dims, f.loss, o);
  // Batches have different padded lengths: compare the real utterances only, flattened.
  std::vector<torch::Tensor> rows;
  for (const auto& m : model.masks) rows.push_back(m.reshape({-1}));
  return torch::cat(rows);
}

TEST(EvaluationMasks, PerBatchDrawsNewMasksEveryEpochAndPartitionAndRepeatsAnEpoch) {
  Fixture f;
  const torch::Tensor e0 = masks_of(f, false, 0, "test");
  // 4 test dialogues of 3..6 utterances at rate 0.5: equal draws by chance are out of the question
  // (some 40 random cells), so "differ" is a safe expectation.
  EXPECT_TRUE(torch::equal(e0, masks_of(f, false, 0, "test")));  // the same epoch again: same masks
  EXPECT_FALSE(torch::equal(e0, masks_of(f, false, 1, "test")));  // next epoch: new masks
  EXPECT_FALSE(torch::equal(e0, masks_of(f, false, 0, "valid")));  // valid's stream differs from test's
}

TEST(EvaluationMasks, FixedMasksAreTheSameEveryEpoch) {
  Fixture f;
  const torch::Tensor e0 = masks_of(f, true, 0, "test");
  EXPECT_TRUE(torch::equal(e0, masks_of(f, true, 5, "test")));
  EXPECT_TRUE(torch::equal(e0, masks_of(f, true, 0, "valid")));  // per dialogue: the name plays no part
}

TEST(EvaluationMasks, StreamSeedsAreDistinctAndDeterministic) {
  EXPECT_EQ(evaluation_stream_seed(1, 3, "test"), evaluation_stream_seed(1, 3, "test"));
  std::set<uint64_t> seen;
  for (uint64_t seed = 1; seed <= 3; ++seed)
    for (int64_t epoch = 0; epoch < 50; ++epoch)
      for (const char* p : {"valid", "test"}) seen.insert(evaluation_stream_seed(seed, epoch, p));
  // Seed s at epoch e must not reuse seed s' at epoch e' (runs of a sweep would share masks).
  EXPECT_EQ(seen.size(), 3u * 50u * 2u);
}

}  // namespace
}  // namespace merc::train
