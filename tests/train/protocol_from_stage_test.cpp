// protocol.from_stage (MoMKE's fixed-condition protocol, method_reference.md §2.4b): while the
// model's stage is below it, no missing-modality mask is applied to training or evaluation
// batches, and those epochs cannot be selected.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/nn/modules/linear.h>

#include "merc/core/error.h"
#include "merc/train/trainer.h"
#include "synthetic_data.h"

namespace merc::train {
namespace {

namespace fs = std::filesystem;

struct Seen {
  int stage;
  bool training;
  bool audio_present;  // any real utterance with audio in the batch
};

// Stage 0 (epochs 0-1) cheats: it outputs the labels, so its epochs have a perfect validation
// score and would be selected if they were selectable. Stage 1 is a plain linear model.
class CheatingTwoStageModel : public models::Model {
 public:
  explicit CheatingTwoStageModel(const models::ModelDims& dims) : Model("CheatingTwoStageModel") {
    lin_ = register_module("lin", torch::nn::Linear(dims.input_dims[0], dims.output_dim()));
  }
  models::ModelOutput forward(const data::DialogueBatch& batch, const models::ForwardContext& ctx) override {
    const auto audio = batch.modality_mask.select(2, data::index_of(data::Modality::kAudio)) & batch.utterance_mask;
    seen.push_back({ctx.stage, is_training(), audio.any().item<bool>()});
    models::ModelOutput out;
    out.logits = lin_(batch.features[0]);
    if (ctx.stage == 0)
      out.logits = out.logits * 0 + 10 * torch::one_hot(batch.label.clamp_min(0), 2).to(torch::kFloat);
    return out;
  }
  int stage_for_epoch(int64_t epoch, int64_t) const override { return epoch < 2 ? 0 : 1; }
  torch::nn::Linear lin_{nullptr};
  std::vector<Seen> seen;
};

struct FromStageRun {
  TrainResult result;
  std::vector<Seen> seen;
  nlohmann::json metrics;
};

FromStageRun run_with(int64_t from_stage, int64_t epochs = 4) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c;
  apply_override(c, "model.name=mlp");  // only names the run; the model comes from build_model
  c.data.split = "given";
  c.train.epochs = epochs;
  c.train.batch_size = 8;
  c.train.progress = "none";
  c.train.threads = 1;
  c.protocol.train = "fixed:t";  // audio missing everywhere once the protocol applies
  c.protocol.test = "fixed:t";
  c.protocol.from_stage = from_stage;
  std::shared_ptr<CheatingTwoStageModel> model;
  TrainOptions o;
  o.out_dir = (fs::temp_directory_path() / ("merc_from_stage_" + std::to_string(::getpid()))).string();
  fs::remove_all(o.out_dir);
  o.build_model = [&](const models::ModelDims& dims) {
    model = std::make_shared<CheatingTwoStageModel>(dims);
    return model;
  };
  FromStageRun r;
  r.result = train_model(c, ds, o);
  std::ifstream in(fs::path(o.out_dir) / "metrics.json");
  r.metrics = nlohmann::json::parse(in);
  fs::remove_all(o.out_dir);
  r.seen = model->seen;
  return r;
}

TEST(ProtocolFromStage, MasksOffBeforeTheStageAndOnFromIt) {
  const FromStageRun r = run_with(1);
  int train0 = 0, eval0 = 0, train1 = 0, eval1 = 0;
  for (const Seen& s : r.seen) {
    // Stage 0: complete modalities (audio present); stage 1: the fixed:t protocol (audio absent).
    EXPECT_EQ(s.audio_present, s.stage == 0) << "stage " << s.stage << (s.training ? " train" : " eval");
    (s.stage == 0 ? (s.training ? train0 : eval0) : (s.training ? train1 : eval1))++;
  }
  EXPECT_GT(train0, 0);
  EXPECT_GT(eval0, 0);
  EXPECT_GT(train1, 0);
  EXPECT_GT(eval1, 0);
  EXPECT_EQ(r.metrics["protocol"]["from_stage"], 1);
}

TEST(ProtocolFromStage, WithoutItMasksApplyFromTheFirstEpoch) {
  const FromStageRun r = run_with(0);
  for (const Seen& s : r.seen) EXPECT_FALSE(s.audio_present);
  EXPECT_FALSE(r.metrics["protocol"].contains("from_stage"));
}

TEST(ProtocolFromStage, SelectionIgnoresEpochsBeforeTheStage) {
  // Control: without the gate the cheating stage-0 epochs (perfect score) win.
  EXPECT_LE(run_with(0).result.best_epoch, 2);
  // With it only epochs 3 and 4 (stage 1) are candidates.
  EXPECT_GE(run_with(1).result.best_epoch, 3);
}

TEST(ProtocolFromStage, EpochsThatNeverReachTheLastStageAreRefused) {
  // The model switches to stage 1 at epoch 2 (0-based): 2 epochs end in stage 0, so the final stage
  // would never be trained (with or without from_stage); 3 epochs reach it.
  EXPECT_THROW(run_with(0, 2), Error);
  EXPECT_THROW(run_with(1, 2), Error);
  EXPECT_GE(run_with(1, 3).result.best_epoch, 3);
}

TEST(ProtocolFromStage, NegativeIsAConfigError) {
  ExperimentConfig c;
  c.protocol.from_stage = -1;
  EXPECT_THROW(c.validate(), Error);
}

}  // namespace
}  // namespace merc::train
