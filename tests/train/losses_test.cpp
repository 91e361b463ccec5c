#include "merc/train/losses.h"

#include <cmath>

#include <gtest/gtest.h>

#include "merc/core/error.h"

namespace merc::train {
namespace {

data::DialogueBatch two_by_two_batch() {
  data::DialogueBatch b;
  b.utterance_mask = torch::tensor({true, true, true, false}, torch::kBool).reshape({2, 2});
  b.label = torch::tensor({0, 1, -1, -1}, torch::kLong).reshape({2, 2});  // (1,0) unlabelled, (1,1) pad
  b.score = torch::tensor({1.0f, -2.0f, 0.5f, 0.0f}).reshape({2, 2});
  b.dialogue_id = {"a", "b"};
  return b;
}

TEST(Losses, CrossEntropyIsTheMeanOverLabelledUtterances) {
  const auto b = two_by_two_batch();
  // logits: utterance (0,0) [0, 0] -> CE ln 2; (0,1) [0, ln 3] with target 1 -> -ln(3/4) = ln(4/3).
  // The unlabelled and padded rows carry huge logits that must not count.
  const torch::Tensor out = torch::tensor({0.0f, 0.0f, 0.0f, std::log(3.0f), 50.0f, -50.0f, 9.0f, 9.0f}).reshape({2, 2, 2});
  const double got = find_loss("auto", data::Task::kClassification).compute(out, b).item<double>();
  EXPECT_NEAR(got, (std::log(2.0) + std::log(4.0 / 3.0)) / 2.0, 1e-6);  // float32 logits
}

TEST(Losses, MseAndL1UseRealScores) {
  auto b = two_by_two_batch();
  b.score[1][0] = NAN;  // no score: excluded like padding
  const torch::Tensor out = torch::tensor({2.0f, -2.0f, 100.0f, 100.0f}).reshape({2, 2, 1});
  // Real scored utterances: (0,0) diff 1, (0,1) diff 0 -> MSE 0.5, L1 0.5.
  EXPECT_NEAR(find_loss("mse", data::Task::kRegression).compute(out, b).item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(find_loss("l1", data::Task::kRegression).compute(out, b).item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(find_loss("auto", data::Task::kRegression).compute(out, b).item<double>(), 0.5, 1e-7);
}

TEST(Losses, GradientMatchesFiniteDifference) {
  const auto b = two_by_two_batch();
  torch::Tensor x = torch::randn({2, 2, 3}, torch::kDouble).requires_grad_(true);
  const TaskLoss ce = find_loss("cross_entropy", data::Task::kClassification);
  ce.compute(x, b).backward();
  // Central differences in double: error O(h^2) ~ 1e-10 with h = 1e-5; 1e-7 leaves margin.
  const double h = 1e-5;
  torch::NoGradGuard ng;
  for (int64_t i = 0; i < x.numel(); ++i) {
    torch::Tensor xp = x.detach().clone(), xm = x.detach().clone();
    xp.view(-1)[i] += h;
    xm.view(-1)[i] -= h;
    const double fd = (ce.compute(xp, b).item<double>() - ce.compute(xm, b).item<double>()) / (2 * h);
    EXPECT_NEAR(x.grad().view(-1)[i].item<double>(), fd, 1e-7) << i;
  }
}

TEST(Losses, ClassWeightsGiveTorchsWeightedMean) {
  const auto b = two_by_two_batch();
  // Same logits as CrossEntropyIsTheMeanOverLabelledUtterances: utterance (0,0) class 0 with CE ln 2,
  // (0,1) class 1 with CE ln(4/3). Weights w = [2, 0.5]: (2 ln 2 + 0.5 ln(4/3)) / (2 + 0.5).
  const torch::Tensor out = torch::tensor({0.0f, 0.0f, 0.0f, std::log(3.0f), 50.0f, -50.0f, 9.0f, 9.0f}).reshape({2, 2, 2});
  LossOptions o;
  o.class_weights = {2.0, 0.5};
  const double got = find_loss("cross_entropy", data::Task::kClassification, o).compute(out, b).item<double>();
  EXPECT_NEAR(got, (2.0 * std::log(2.0) + 0.5 * std::log(4.0 / 3.0)) / 2.5, 1e-6);  // float32 logits
  // Equal weights change nothing.
  o.class_weights = {3.0, 3.0};
  EXPECT_NEAR(find_loss("auto", data::Task::kClassification, o).compute(out, b).item<double>(),
              (std::log(2.0) + std::log(4.0 / 3.0)) / 2.0, 1e-6);
  // Wrong count, non-positive weight, weights on regression: errors naming the setting.
  o.class_weights = {1.0, 1.0, 1.0};
  EXPECT_THROW(find_loss("cross_entropy", data::Task::kClassification, o).compute(out, b), Error);
  o.class_weights = {1.0, 0.0};
  EXPECT_THROW(find_loss("cross_entropy", data::Task::kClassification, o), Error);
  o.class_weights = {1.0, 1.0};
  EXPECT_THROW(find_loss("mse", data::Task::kRegression, o), Error);
}

TEST(Losses, FocalMoedMatchesTheReferenceFormulaByHand) {
  const auto b = two_by_two_batch();
  // Utterance (0,0): logits [0, 0], target 0 -> lp = [-ln2, -ln2];
  //   target term -(1 + ln2)^g * (-ln2) = ln2 (1 + ln2)^g, other class -(-ln2) = ln2.
  // Utterance (0,1): logits [0, ln3], target 1 -> lp = [-ln4, -ln(4/3)];
  //   class 0: ln4, class 1: ln(4/3) (1 + ln(4/3))^g.
  // Mean over 2 utterances x 2 classes (alpha = 1, gamma = 2.5, the M3Net/MoED defaults).
  const torch::Tensor out = torch::tensor({0.0f, 0.0f, 0.0f, std::log(3.0f), 50.0f, -50.0f, 9.0f, 9.0f}).reshape({2, 2, 2});
  const double g = 2.5, l2 = std::log(2.0), l4 = std::log(4.0), l43 = std::log(4.0 / 3.0);
  const double want = (l2 * std::pow(1 + l2, g) + l2 + l4 + l43 * std::pow(1 + l43, g)) / 4.0;
  EXPECT_NEAR(find_loss("focal_moed", data::Task::kClassification).compute(out, b).item<double>(), want, 1e-5);
  // alpha scales linearly; gamma = 0 gives the mean of -lp over all classes.
  LossOptions o;
  o.focal_alpha = 0.5;
  EXPECT_NEAR(find_loss("focal_moed", data::Task::kClassification, o).compute(out, b).item<double>(), 0.5 * want,
              1e-5);
  o = LossOptions{};
  o.focal_gamma = 0.0;
  EXPECT_NEAR(find_loss("focal_moed", data::Task::kClassification, o).compute(out, b).item<double>(),
              (l2 + l2 + l4 + l43) / 4.0, 1e-5);
  EXPECT_THROW(find_loss("focal_moed", data::Task::kRegression), Error);
  o = LossOptions{};
  o.focal_alpha = -1.0;  // would reverse the loss
  EXPECT_THROW(find_loss("focal_moed", data::Task::kClassification, o), Error);
  o.focal_alpha = NAN;
  EXPECT_THROW(find_loss("focal_moed", data::Task::kClassification, o), Error);
}

TEST(Losses, ErrorsNameTheProblem) {
  const auto b = two_by_two_batch();
  EXPECT_THROW(find_loss("hinge", data::Task::kClassification), UnknownNameError);
  EXPECT_THROW(find_loss("mse", data::Task::kClassification), Error);  // wrong task
  EXPECT_THROW(find_loss("mse", data::Task::kRegression).compute(torch::zeros({2, 2, 3}), b), Error);
  EXPECT_THROW(find_loss("cross_entropy", data::Task::kClassification).compute(torch::zeros({2, 3, 2}), b), Error);
}

}  // namespace
}  // namespace merc::train
