#include "merc/train/trainer.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/models/registry.h"
#include "merc/train/checkpoint.h"
#include "merc/train/optimizers.h"
#include "run_test_util.h"
#include "synthetic_data.h"

namespace merc::train {
namespace {

namespace fs = std::filesystem;

using TrainerTest = testing::RunDirTest;
using testing::small_config;
using testing::weights_of;

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(io::read_file_bytes(path)); }

std::vector<nlohmann::json> read_log(const std::string& dir) {
  std::ifstream in(dir + "/train_log.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(nlohmann::json::parse(l));
  return lines;
}

TEST_F(TrainerTest, WritesTheRunDirectoryContract) {
  const auto ds = testing::synthetic_dataset();
  TrainOptions o;
  o.out_dir = run("a");
  const TrainResult r = train_model(small_config(), ds, o);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.epochs_run, 4);
  for (const char* f : {"config.yaml", "metrics.json", "train_log.jsonl", "checkpoint.pt", "model.pt"})
    EXPECT_TRUE(fs::exists(dir_ / "a" / f)) << f;
  for (const auto& entry : fs::directory_iterator(dir_ / "a"))  // no temporary file left behind
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  const auto m = read_json(run("a") + "/metrics.json");
  EXPECT_EQ(m.at("selection"), "validation");
  for (const char* part : {"valid", "test"})
    for (const char* k : {"accuracy", "weighted_f1", "macro_f1", "ua"}) EXPECT_TRUE(m.at(part).contains(k)) << part << k;
  // Percent scale, and the model learned something on this linearly separable task.
  EXPECT_GT(m["test"]["accuracy"].get<double>(), 60.0);
  EXPECT_LE(m["test"]["accuracy"].get<double>(), 100.0);
  const auto log = read_log(run("a"));
  ASSERT_EQ(log.size(), 4u);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i]["epoch"], i + 1);
    EXPECT_TRUE(log[i].contains("valid"));
    EXPECT_FALSE(log[i].contains("test"));  // validation selection never looks at test per epoch
  }
  // config.yaml is the resolved config and reloads to the same text.
  const ExperimentConfig back = load_config_file(run("a") + "/config.yaml");
  EXPECT_EQ(to_yaml_text(back), io::read_file_bytes(run("a") + "/config.yaml"));
  EXPECT_EQ(back.model->name, "mlp");
}

TEST_F(TrainerTest, ResumeAfterTwoEpochsEqualsFourStraight) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  // Exercise every piece of resumable state: dropout (torch RNG), shuffling, per-batch masks,
  // Adam moments and a stateful schedule.
  apply_override(c, "model.dropout=0.3");
  c.protocol.train = "random:0.3";
  c.train.scheduler = "plateau";
  c.train.plateau_patience = 1;
  TrainOptions straight;
  straight.out_dir = run("straight");
  train_model(c, ds, straight);

  TrainOptions first;
  first.out_dir = run("split");
  first.stop_after_epochs = 2;
  const TrainResult part = train_model(c, ds, first);
  EXPECT_FALSE(part.finished);
  EXPECT_FALSE(fs::exists(dir_ / "split" / "metrics.json"));
  TrainOptions second;
  second.out_dir = run("split");
  second.resume = true;
  const TrainResult rest = train_model(ExperimentConfig(), ds, second);  // config comes from the run
  EXPECT_TRUE(rest.finished);

  EXPECT_TRUE(torch::equal(weights_of(run("straight")), weights_of(run("split"))));
  const auto a = read_json(run("straight") + "/metrics.json"), b = read_json(run("split") + "/metrics.json");
  EXPECT_EQ(a["valid"], b["valid"]);
  EXPECT_EQ(a["test"], b["test"]);
  EXPECT_EQ(a["best_epoch"], b["best_epoch"]);
  auto la = read_log(run("straight")), lb = read_log(run("split"));
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) {
    la[i].erase("seconds");
    lb[i].erase("seconds");
    EXPECT_EQ(la[i], lb[i]) << "epoch " << i + 1;
  }
}

TEST_F(TrainerTest, SameSeedSameMetricsOtherSeedDiffers) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  TrainOptions o;
  o.out_dir = run("s1");
  train_model(c, ds, o);
  o.out_dir = run("s1again");
  train_model(c, ds, o);
  c.train.seed = 2;
  o.out_dir = run("s2");
  train_model(c, ds, o);
  EXPECT_EQ(read_json(run("s1") + "/metrics.json")["test"], read_json(run("s1again") + "/metrics.json")["test"]);
  EXPECT_TRUE(torch::equal(weights_of(run("s1")), weights_of(run("s1again"))));
  EXPECT_FALSE(torch::equal(weights_of(run("s1")), weights_of(run("s2"))));
}

TEST_F(TrainerTest, TestMaxIsLabelledEverywhere) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  c.selection = "test-max";
  c.data.split = "nodev";  // test-max needs no validation set
  TrainOptions o;
  o.out_dir = run("tm");
  const TrainResult r = train_model(c, ds, o);
  EXPECT_NE(r.selection.find("test-max"), std::string::npos);
  const auto m = read_json(run("tm") + "/metrics.json");
  EXPECT_NE(m["selection"].get<std::string>().find("test-max"), std::string::npos);
  EXPECT_TRUE(m["valid"].empty());
  for (const auto& line : read_log(run("tm"))) EXPECT_TRUE(line.contains("test"));
}

TEST_F(TrainerTest, ValidationSelectionNeedsAValidationSet) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  c.data.split = "nodev";
  TrainOptions o;
  o.out_dir = run("nv");
  try {
    train_model(c, ds, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("carve_valid"), std::string::npos) << e.what();
  }
  c.data.carve_valid = 0.2;
  o.out_dir = run("carved");
  EXPECT_TRUE(train_model(c, ds, o).finished);
}

TEST_F(TrainerTest, EarlyStoppingStopsWhenNothingImproves) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  c.train.lr = 1e-30;  // weights effectively frozen: the metric never improves after epoch 1
  c.train.early_stopping = 2;
  c.train.epochs = 10;
  TrainOptions o;
  o.out_dir = run("es");
  const TrainResult r = train_model(c, ds, o);
  EXPECT_TRUE(r.early_stopped);
  EXPECT_EQ(r.epochs_run, 3);
  EXPECT_EQ(r.best_epoch, 1);
}

TEST_F(TrainerTest, RegressionUsesScoresAndSentimentMetrics) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  c.data.task = "regression";
  TrainOptions o;
  o.out_dir = run("reg");
  const TrainResult r = train_model(c, ds, o);
  EXPECT_EQ(r.metric, "mae");
  const auto m = read_json(run("reg") + "/metrics.json");
  for (const char* k : {"acc2", "f1", "acc2_has0", "f1_has0", "acc5", "acc7", "mae", "corr"})
    EXPECT_TRUE(m["test"].contains(k)) << k;
  EXPECT_EQ(m["task"], "regression");
}

TEST_F(TrainerTest, RefusesToOverwriteAndExplainsBadResume) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  c.train.epochs = 1;
  TrainOptions o;
  o.out_dir = run("x");
  train_model(c, ds, o);
  EXPECT_THROW(train_model(c, ds, o), Error);  // already holds a run
  TrainOptions r;
  r.out_dir = run("missing");
  r.resume = true;
  EXPECT_THROW(train_model(c, ds, r), Error);
  // A corrupt checkpoint is a FormatError naming the file.
  io::write_file_atomically(run("x") + "/checkpoint.pt", "not a checkpoint");
  r.out_dir = run("x");
  try {
    train_model(c, ds, r);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.path().find("checkpoint.pt"), std::string::npos);
  }
}

// kill -9 of a training process at many different moments (during init, an epoch, a checkpoint
// or model.pt write, the final evaluation): resuming the run always works and ends bit-identical
// to a run that was never interrupted. The child is a fork of this process running train_model.
TEST_F(TrainerTest, KillAtAnyMomentThenResumeEqualsStraightRun) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  apply_override(c, "model.dropout=0.3");
  c.protocol.train = "random:0.3";
  TrainOptions straight;
  straight.out_dir = run("straight");
  const auto t0 = std::chrono::steady_clock::now();
  train_model(c, ds, straight);
  const double full_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  const auto expected_weights = weights_of(run("straight"));
  const auto expected_metrics = read_json(run("straight") + "/metrics.json");
  int killed = 0;
  for (int trial = 0; trial < 8; ++trial) {
    const std::string dir = run("kill" + std::to_string(trial));
    // Spread the kills over the whole run (the child also pays fork/copy-on-write costs). Trials
    // 0-5 aim inside the run; where a child finished before its kill anyway (a machine whose load
    // changed since the straight run was timed), the trial is retried with half the delay on a
    // fresh directory, so the number of interrupted trials does not depend on the machine's speed.
    double delay_us = full_us * (0.1 + 0.15 * trial);
    for (int attempt = 0;; ++attempt) {
      fs::remove_all(dir);
      const pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        try {
          TrainOptions o;
          o.out_dir = dir;
          train_model(c, ds, o);
        } catch (...) {
          _exit(3);
        }
        _exit(0);
      }
      ::usleep(static_cast<useconds_t>(delay_us));
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
      ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << "child failed on its own";
      if (WIFSIGNALED(status) || trial >= 6 || attempt >= 6) {
        killed += WIFSIGNALED(status);
        break;
      }
      delay_us /= 2;
    }
    TrainOptions r;
    r.out_dir = dir;
    r.resume = fs::exists(fs::path(dir) / "config.yaml");  // killed before anything was written: start anew
    if (!fs::exists(fs::path(dir) / "metrics.json")) {
      ASSERT_NO_THROW(train_model(c, ds, r)) << "trial " << trial;
    }
    EXPECT_TRUE(torch::equal(weights_of(dir), expected_weights)) << "trial " << trial;
    const auto m = read_json(dir + "/metrics.json");
    EXPECT_EQ(m["test"], expected_metrics["test"]) << "trial " << trial;
    EXPECT_EQ(read_log(dir).size(), 4u) << "trial " << trial;
    EXPECT_FALSE(fs::exists(fs::path(dir) / "model.pt.pending")) << "trial " << trial;
  }
  EXPECT_GE(killed, 6);  // trials 0-5 interrupted the child (retried earlier if it had finished)
}

TEST_F(TrainerTest, ResumingAnEarlyStoppedRunDoesNotTrainOn) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  c.train.lr = 1e-30;
  c.train.early_stopping = 2;
  c.train.epochs = 10;
  TrainOptions o;
  o.out_dir = run("es");
  train_model(c, ds, o);
  fs::remove(dir_ / "es" / "metrics.json");  // as if killed during the final evaluation
  TrainOptions r;
  r.out_dir = run("es");
  r.resume = true;
  const TrainResult res = train_model(c, ds, r);
  EXPECT_TRUE(res.early_stopped);
  EXPECT_EQ(res.epochs_run, 3);
  EXPECT_EQ(read_log(run("es")).size(), 3u);
}

TEST_F(TrainerTest, SelectionMetricMustFitTheTask) {
  const auto ds = testing::synthetic_dataset();
  ExperimentConfig c = small_config();
  c.train.metric = "acc2";  // a sentiment metric on a classification run: refused before training
  TrainOptions o;
  o.out_dir = run("m");
  EXPECT_THROW(train_model(c, ds, o), UnknownNameError);
  EXPECT_TRUE(read_log(run("m")).empty());
}

}  // namespace
}  // namespace merc::train
