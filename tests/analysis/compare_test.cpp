// merc::analysis compare: hand-made prediction sets whose differences, McNemar counts and verdicts
// can be counted by hand, and every refusal naming both sides and what differs.
#include <algorithm>

#include <gtest/gtest.h>

#include "merc/analysis/compare.h"
#include "merc/core/error.h"
#include "../support/error_text.h"

namespace merc::analysis {
namespace {

using testing_support::error_text;

train::UtterancePrediction cls_row(const std::string& dialogue, int64_t idx, int64_t label, int64_t pred) {
  train::UtterancePrediction u;
  u.dialogue_id = dialogue;
  u.utterance_idx = idx;
  u.label = label;
  u.pred_class = pred;
  return u;
}

train::UtterancePrediction reg_row(const std::string& dialogue, int64_t idx, double score, double pred) {
  train::UtterancePrediction u;
  u.dialogue_id = dialogue;
  u.utterance_idx = idx;
  u.score = score;
  u.pred_score = pred;
  return u;
}

// 5 dialogues of 2 utterances, labels alternating 0/1; `wrong` lists the rows predicted wrongly.
ComparedRun cls_run(const std::string& name, const std::vector<int>& wrong) {
  ComparedRun r;
  r.name = name;
  r.model = "mlp";
  r.dataset = "toy";
  r.split = "given";
  r.partition = "test";
  r.protocol = "complete";
  r.num_classes = 2;
  r.selection = "validation";
  for (int i = 0; i < 10; ++i) {
    const int64_t label = i % 2;
    const bool is_wrong = std::find(wrong.begin(), wrong.end(), i) != wrong.end();
    r.predictions.push_back(cls_row("d" + std::to_string(i / 2), i % 2, label, is_wrong ? 1 - label : label));
  }
  return r;
}

PairedOptions quick(ResampleUnit unit = ResampleUnit::kDialogue) {
  PairedOptions o;
  o.bootstrap = {2000, 0.95, 1};
  o.unit = unit;
  return o;
}

TEST(Compare, IdenticalRunsDifferByZeroEvenInAnotherRowOrder) {
  const ComparedRun a = cls_run("A", {1, 4, 7});
  ComparedRun b = a;
  b.name = "B";
  std::reverse(b.predictions.begin(), b.predictions.end());  // paired by key, not by position
  for (ResampleUnit unit : {ResampleUnit::kDialogue, ResampleUnit::kUtterance}) {
    const PairedComparison c = compare_paired(a, b, quick(unit));
    EXPECT_EQ(c.utterances, 10);
    EXPECT_EQ(c.dialogues, 5);
    ASSERT_EQ(c.metrics.size(), 2u);  // accuracy, weighted_f1
    for (const auto& m : c.metrics) {
      EXPECT_EQ(m.value_a, m.value_b);
      EXPECT_EQ(m.difference.low, 0.0);
      EXPECT_EQ(m.difference.high, 0.0);
      EXPECT_EQ(m.difference.p, 1.0);
      EXPECT_EQ(m.verdict.rfind("no significant difference", 0), 0u) << m.verdict;
    }
    EXPECT_EQ(c.mcnemar.a_only + c.mcnemar.b_only, 0);
    EXPECT_EQ(c.mcnemar.p, 1.0);
  }
}

TEST(Compare, HandCountedClassificationDifference) {
  // A is wrong on 5 of 10 utterances, B on none: accuracy 50 vs 100 (difference +50), McNemar
  // b = 0, c = 5 -> p = 2 * 0.5^5 = 0.0625, not significant at 0.05 however large the gap looks.
  const ComparedRun a = cls_run("A", {0, 3, 4, 6, 9});
  const ComparedRun b = cls_run("B", {});
  const PairedComparison c = compare_paired(a, b, quick());
  EXPECT_DOUBLE_EQ(c.metrics[0].value_a, 50.0);
  EXPECT_DOUBLE_EQ(c.metrics[0].value_b, 100.0);
  EXPECT_DOUBLE_EQ(c.metrics[0].difference.estimate, 50.0);
  // A's errors (rows 0, 3, 4, 6, 9) fall one in each dialogue of two utterances, so every
  // dialogue resample has accuracy 50 vs 100: the interval is exactly [50, 50].
  EXPECT_EQ(c.metrics[0].difference.low, 50.0);
  EXPECT_EQ(c.metrics[0].difference.high, 50.0);
  EXPECT_EQ(c.metrics[0].verdict.rfind("B better than A: difference +50.00 [50.00, 50.00]", 0), 0u);
  // Resampling utterances breaks that balance: the interval widens but stays within [0, 100].
  const PairedComparison u = compare_paired(a, b, quick(ResampleUnit::kUtterance));
  EXPECT_LT(u.metrics[0].difference.low, 50.0);
  EXPECT_GT(u.metrics[0].difference.high, 50.0);
  EXPECT_GE(u.metrics[0].difference.low, 0.0);
  EXPECT_LE(u.metrics[0].difference.high, 100.0);
  EXPECT_EQ(c.mcnemar.a_only, 0);
  EXPECT_EQ(c.mcnemar.b_only, 5);
  EXPECT_EQ(c.mcnemar.both, 5);
  EXPECT_DOUBLE_EQ(c.mcnemar.p, 0.0625);
  EXPECT_EQ(c.mcnemar_on, "correctness");
  EXPECT_EQ(c.mcnemar_verdict, "no significant difference: A right / B wrong 0, A wrong / B right 5, p = 0.062");
}

TEST(Compare, RegressionComparesMaeAndTheAcc2Sign) {
  // scores {1, -1, 0, 2}; A predicts {0.5, 0.5, 1, 1}, B {0.5, -0.5, -1, -1}.
  // MAE A = (0.5 + 1.5 + 1 + 1) / 4 = 1.0; B = (0.5 + 0.5 + 1 + 3) / 4 = 1.25.
  // Acc-2 sign on score != 0 (rows 0, 1, 3): A right on 0, 3; B right on 0, 1 -> b = 1, c = 1.
  ComparedRun a, b;
  a.name = "A";
  a.task = b.task = data::Task::kRegression;
  a.dataset = b.dataset = "toy";
  a.predictions = {reg_row("d0", 0, 1, 0.5), reg_row("d0", 1, -1, 0.5), reg_row("d1", 0, 0, 1), reg_row("d1", 1, 2, 1)};
  b.name = "B";
  b.predictions = {reg_row("d0", 0, 1, 0.5), reg_row("d0", 1, -1, -0.5), reg_row("d1", 0, 0, -1),
                   reg_row("d1", 1, 2, -1)};
  const PairedComparison c = compare_paired(a, b, quick(ResampleUnit::kUtterance));
  ASSERT_EQ(c.metrics.size(), 3u);  // mae, acc2, corr
  EXPECT_EQ(c.metrics[0].metric, "mae");
  EXPECT_FALSE(c.metrics[0].higher_is_better);
  EXPECT_DOUBLE_EQ(c.metrics[0].value_a, 1.0);
  EXPECT_DOUBLE_EQ(c.metrics[0].value_b, 1.25);
  EXPECT_DOUBLE_EQ(c.metrics[1].value_a, 200.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.metrics[1].value_b, 200.0 / 3.0);
  EXPECT_EQ(c.mcnemar.a_only, 1);
  EXPECT_EQ(c.mcnemar.b_only, 1);
  EXPECT_EQ(c.mcnemar.both + c.mcnemar.neither + 2, 3);  // score-0 row left out
  // A metric outside the task is refused with the task's names.
  PairedOptions o = quick();
  o.metrics = {"accuracy"};
  EXPECT_NE(error_text([&] { compare_paired(a, b, o); }).find("choose from acc2, f1"), std::string::npos);
}

TEST(Compare, RefusesRunsOnDifferentTestSets) {
  const ComparedRun a = cls_run("runs/a", {});
  ComparedRun b = cls_run("runs/b", {});
  b.split = "nodev";
  b.protocol = "fixed:a";
  const std::string e = error_text([&] { check_same_test_set(a, b); });
  EXPECT_NE(e.find("runs/a and runs/b"), std::string::npos) << e;
  EXPECT_NE(e.find("split 'given' vs 'nodev'"), std::string::npos) << e;
  EXPECT_NE(e.find("test protocol 'complete' vs 'fixed:a'"), std::string::npos) << e;
  ComparedRun c = cls_run("runs/c", {});
  c.predictions.pop_back();  // d4#1 missing
  const std::string e2 = error_text([&] { compare_paired(a, c, quick()); });
  EXPECT_NE(e2.find("test utterances: 10 vs 9"), std::string::npos) << e2;
  EXPECT_NE(e2.find("only in A: [d4#1]"), std::string::npos) << e2;
  ComparedRun d = cls_run("runs/d", {});
  d.dataset_path = "/data/other.safetensors";
  EXPECT_NE(error_text([&] { check_same_test_set(a, d); }).find("dataset path '(embedded)' vs '/data/other"),
            std::string::npos);
}

TEST(Compare, VerdictsFollowTheIntervalAndTheMetricsDirection) {
  BootstrapInterval up;
  up.estimate = 1.2;
  up.low = 0.4;
  up.high = 2.0;
  up.p = 0.01;
  EXPECT_EQ(paired_verdict("accuracy", true, up), "B better than A: difference +1.20 [0.40, 2.00], p = 0.010");
  // The same interval of an error (mae, lower is better) means A is better.
  EXPECT_EQ(paired_verdict("mae", false, up), "A better than B: difference +1.2000 [0.4000, 2.0000], p = 0.010");
  BootstrapInterval touching = up;
  touching.low = 0.0;
  touching.p = 0.05;
  EXPECT_EQ(paired_verdict("accuracy", true, touching).rfind("no significant difference", 0), 0u);
  BootstrapInterval down;
  down.estimate = -0.03;
  down.low = -0.05;
  down.high = -0.01;
  down.p = 0.0001;
  EXPECT_EQ(paired_verdict("mae", false, down), "B better than A: difference -0.0300 [-0.0500, -0.0100], p < 0.001");
}

SeedRun seed_run(const std::string& model, const std::string& group, int64_t seed, double accuracy) {
  SeedRun r;
  r.run_dir = model + "/" + group + "/seed-" + std::to_string(seed);
  r.group = r.protocol = group;
  r.split = "given";
  r.seed = seed;
  r.model = model;
  r.dataset = "toy";
  r.task = "classification";
  r.selection = "validation";
  r.test.set("accuracy", accuracy);
  r.test.set("weighted_f1", accuracy - 1.0);
  return r;
}

TEST(Compare, SeedSetsGetWelchPerGroup) {
  // The stats test's scipy case: A {61.2, 63.5, 62.1} (mean 62.267), B {64.0, 63.1, 65.8, 64.4}
  // (mean 64.325): difference +2.06, t = 2.356, p = 0.0726.
  SeedSet a{"sweep_a", {}}, b{"sweep_b", {}};
  const double va[] = {61.2, 63.5, 62.1}, vb[] = {64.0, 63.1, 65.8, 64.4};
  for (int s = 0; s < 3; ++s) a.runs.push_back(seed_run("mlp", "complete", s + 1, va[s]));
  for (int s = 0; s < 4; ++s) b.runs.push_back(seed_run("bc_lstm", "complete", s + 1, vb[s]));
  b.runs.push_back(seed_run("bc_lstm", "random:0.3", 1, 50.0));
  const SeedComparison c = compare_seed_sets(a, b, {"accuracy"}, 0.05);
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.model_a, "mlp");
  EXPECT_EQ(c.model_b, "bc_lstm");
  EXPECT_NEAR(c.rows[0].welch.p, 0.072567225658924359, 1e-12);
  EXPECT_EQ(c.rows[0].verdict.rfind("no significant difference: difference +2.06 (3 vs 4 runs), Welch t = 2.36", 0),
            0u) << c.rows[0].verdict;
  EXPECT_EQ(c.only_in_b, std::vector<std::string>{"random:0.3"});
  // At alpha 0.1 the same numbers are a (weak) difference in B's favour.
  EXPECT_EQ(compare_seed_sets(a, b, {"accuracy"}, 0.1).rows[0].verdict.rfind("B better than A", 0), 0u);
  // Default metrics of a classification task: accuracy and weighted_f1.
  EXPECT_EQ(compare_seed_sets(a, b, {}, 0.05).rows.size(), 2u);
}

TEST(Compare, SeedSetsRefuseDifferentDesigns) {
  SeedSet a{"sweep_a", {seed_run("mlp", "complete", 1, 60), seed_run("mlp", "complete", 2, 61)}};
  SeedSet b{"sweep_b", {seed_run("gcnet", "complete", 1, 60), seed_run("gcnet", "complete", 2, 62)}};
  b.runs[1].split = "nodev";
  EXPECT_NE(error_text([&] { compare_seed_sets(a, b, {}, 0.05); }).find("group complete: splits [given] vs [given, nodev]"),
            std::string::npos);
  SeedSet c{"sweep_c", {seed_run("gcnet", "random:0.5", 1, 60)}};
  EXPECT_NE(error_text([&] { compare_seed_sets(a, c, {}, 0.05); }).find("no protocol group in common"),
            std::string::npos);
  SeedSet mixed{"mixed", {seed_run("mlp", "complete", 1, 60), seed_run("gcnet", "complete", 2, 61)}};
  EXPECT_NE(error_text([&] { check_seed_set(mixed); }).find("model 'mlp'"), std::string::npos);
  SeedSet other = a;
  other.name = "other";
  for (auto& r : other.runs) r.dataset = "IEMOCAP";
  EXPECT_NE(error_text([&] { compare_seed_sets(a, other, {}, 0.05); }).find("dataset 'toy' vs 'IEMOCAP'"),
            std::string::npos);
}

}  // namespace
}  // namespace merc::analysis
