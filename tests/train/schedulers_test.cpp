#include "merc/train/schedulers.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/train/trainer.h"

namespace merc::train {
namespace {

// Schedules are closed-form; 1e-12 allows only rounding in pow/cos.
constexpr double kTol = 1e-12;

TEST(LrScheduler, StepHalvesEveryStepSize) {
  TrainConfig c;
  c.lr = 0.1;
  c.scheduler = "step";
  c.step_size = 3;
  c.gamma = 0.5;
  LrScheduler s(c);
  const double expect[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025};
  for (int e = 0; e < 7; ++e) EXPECT_NEAR(s.lr_for_epoch(e), expect[e], kTol) << e;
}

TEST(LrScheduler, CosineWithWarmup) {
  TrainConfig c;
  c.lr = 1.0;
  c.scheduler = "cosine";
  c.epochs = 6;
  c.warmup_epochs = 2;
  c.min_lr = 0.0;
  LrScheduler s(c);
  // Warm-up: (e+1)/(W+1) = 1/3, 2/3. Then e' = 0..3 over span 4: (1+cos(pi e'/4))/2.
  EXPECT_NEAR(s.lr_for_epoch(0), 1.0 / 3.0, kTol);
  EXPECT_NEAR(s.lr_for_epoch(1), 2.0 / 3.0, kTol);
  EXPECT_NEAR(s.lr_for_epoch(2), 1.0, kTol);
  EXPECT_NEAR(s.lr_for_epoch(3), (1.0 + std::sqrt(0.5)) / 2.0, kTol);
  EXPECT_NEAR(s.lr_for_epoch(4), 0.5, kTol);
  EXPECT_NEAR(s.lr_for_epoch(5), (1.0 - std::sqrt(0.5)) / 2.0, kTol);
}

TEST(LrScheduler, PlateauDecaysAfterPatienceAndResumes) {
  TrainConfig c;
  c.lr = 1.0;
  c.scheduler = "plateau";
  c.plateau_patience = 2;
  c.gamma = 0.1;
  LrScheduler s(c);
  s.observe(0.5, true);  // best
  s.observe(0.4, true);  // bad 1
  EXPECT_NEAR(s.lr_for_epoch(2), 1.0, kTol);
  const std::string saved = s.state();
  s.observe(0.45, true);  // bad 2 -> decay
  EXPECT_NEAR(s.lr_for_epoch(3), 0.1, kTol);
  LrScheduler r(c);
  r.set_state(saved);
  r.observe(0.45, true);
  EXPECT_NEAR(r.lr_for_epoch(3), 0.1, kTol);  // the restored scheduler continues identically
  s.observe(0.9, true);                       // improvement resets the count
  s.observe(0.8, true);
  EXPECT_NEAR(s.lr_for_epoch(5), 0.1, kTol);
  EXPECT_THROW(r.set_state("{\"x\":1}"), Error);
}

TEST(LrScheduler, NoneIsConstantAndWarmupAppliesToEveryKind) {
  for (const std::string kind : {"none", "step", "cosine", "plateau"}) {
    TrainConfig c;
    c.lr = 0.3;
    c.scheduler = kind;
    c.epochs = 10;
    c.warmup_epochs = 3;
    LrScheduler s(c);
    // Warm-up: L (e+1) / (W+1) = 0.075, 0.15, 0.225; then every schedule starts at L.
    for (int e = 0; e < 3; ++e) EXPECT_NEAR(s.lr_for_epoch(e), 0.3 * (e + 1) / 4.0, kTol) << kind << e;
    EXPECT_NEAR(s.lr_for_epoch(3), 0.3, kTol) << kind;
  }
  TrainConfig c;
  c.lr = 0.3;
  LrScheduler s(c);
  for (int e = 0; e < 50; e += 7) EXPECT_EQ(s.lr_for_epoch(e), 0.3);
}

TEST(LrScheduler, CosineFloorAndPlateauFloorAreMinLr) {
  TrainConfig c;
  c.lr = 0.1;
  c.min_lr = 0.02;
  c.scheduler = "cosine";
  c.epochs = 4;
  LrScheduler cos(c);
  // e = 0..3 over span 4: 0.02 + 0.08 (1 + cos(pi e / 4)) / 2.
  const double expect[] = {0.1, 0.02 + 0.04 * (1 + std::sqrt(0.5)), 0.06, 0.02 + 0.04 * (1 - std::sqrt(0.5))};
  for (int e = 0; e < 4; ++e) EXPECT_NEAR(cos.lr_for_epoch(e), expect[e], kTol) << e;
  c.scheduler = "plateau";
  c.plateau_patience = 1;
  c.gamma = 0.5;
  LrScheduler p(c);
  p.observe(1.0, false);
  const double after[] = {0.05, 0.025, 0.0125 /* below min_lr: floored */};
  for (double a : after) {
    p.observe(2.0, false);  // worse (lower is better) -> a decay each epoch with patience 1
    EXPECT_NEAR(p.lr_for_epoch(5), std::max(0.02, a), kTol);
  }
  p.observe(std::nan(""), false);  // a non-finite metric is ignored
  EXPECT_NEAR(p.lr_for_epoch(5), 0.02, kTol);
}

TEST(LrScheduler, RejectsBadSettings) {
  TrainConfig c;
  c.scheduler = "exponential";
  EXPECT_THROW(LrScheduler{c}, UnknownNameError);
  c.scheduler = "step";
  c.step_size = 0;
  EXPECT_THROW(LrScheduler{c}, Error);
}

// Hugging Face's linear schedule per epoch: warm-up W = floor(0.2 * 10) = 2 epochs, then
// L * (T - e) / (T - W): 8/8, 7/8, ..., 1/8 of L.
TEST(LrScheduler, LinearWarmsUpThenFallsTowardsZero) {
  TrainConfig c;
  c.lr = 0.8;
  c.epochs = 10;
  c.scheduler = "linear";
  c.warmup_ratio = 0.2;
  LrScheduler s(c);
  const double expect[] = {0.8 / 3, 0.8 * 2 / 3, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1};
  for (int e = 0; e < 10; ++e) EXPECT_NEAR(s.lr_for_epoch(e), expect[e], kTol) << e;
}

// A model whose stage changes at epoch 6 of 10 (HRG-SSA's two phases: frozen, then everything).
class TwoPhaseModel : public models::Model {
 public:
  TwoPhaseModel() : Model("TwoPhaseModel") {}
  models::ModelOutput forward(const data::DialogueBatch&, const models::ForwardContext&) override { return {}; }
  int stage_for_epoch(int64_t epoch, int64_t) const override { return epoch < 6 ? 0 : 1; }
};

// schedule_per_stage: each stage is its own span with its own warm-up (floor(0.25 * 6) = 1 and
// floor(0.25 * 4) = 1 epochs) and linear decay, as the release's fresh optimizer + scheduler per phase.
TEST(LrScheduler, PerStageSchedulesRestartAtEachStage) {
  const TwoPhaseModel model;
  EXPECT_EQ(stage_starts(model, 10), (std::vector<int64_t>{0, 6}));
  TrainConfig c;
  c.lr = 1.0;
  c.epochs = 10;
  c.scheduler = "linear";
  c.warmup_ratio = 0.25;
  LrScheduler s(c, stage_starts(model, 10));
  const double expect[] = {0.5, 1.0, 4.0 / 5, 3.0 / 5, 2.0 / 5, 1.0 / 5, 0.5, 1.0, 2.0 / 3, 1.0 / 3};
  for (int e = 0; e < 10; ++e) EXPECT_NEAR(s.lr_for_epoch(e), expect[e], kTol) << e;
}

TEST(LrScheduler, WarmupEpochsAndRatioAreExclusive) {
  TrainConfig c;
  c.warmup_epochs = 2;
  c.warmup_ratio = 0.1;
  EXPECT_THROW(LrScheduler{c}, Error);
  c.warmup_epochs = 0;
  c.warmup_ratio = 1.0;
  EXPECT_THROW(LrScheduler{c}, Error);
}

}  // namespace
}  // namespace merc::train
