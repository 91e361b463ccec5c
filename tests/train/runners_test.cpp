#include "merc/train/runners.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "synthetic_data.h"

namespace merc::train {
namespace {

namespace fs = std::filesystem;

ExperimentConfig tiny_config() {
  ExperimentConfig c;
  apply_override(c, "model.name=mlp");
  c.data.split = "given";
  c.train.epochs = 2;
  c.train.batch_size = 8;
  c.train.lr = 0.02;
  c.train.threads = 1;
  c.train.progress = "none";
  return c;
}

class RunnersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("merc_runners_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(PlanSweep, RatesThenConditionsOverSeeds) {
  SweepSpec s;
  s.rates = {0.0, 0.5};
  s.conditions = {"fixed:at"};
  s.seeds = {1, 2};
  const auto cells = plan_sweep(s, "/out");
  ASSERT_EQ(cells.size(), 6u);
  EXPECT_EQ(cells[0].protocol, "random:0");
  EXPECT_EQ(cells[3].protocol, "random:0.5");
  EXPECT_EQ(cells[3].seed, 2);
  EXPECT_EQ(cells[4].protocol, "fixed:at");
  EXPECT_EQ(cells[3].run_dir, "/out/random-0.5/seed-2");
  s.rates = {1.0};
  EXPECT_THROW(plan_sweep(s, "/out"), Error);
  s.rates = {0.1};
  s.seeds = {};
  EXPECT_THROW(plan_sweep(s, "/out"), Error);
}

TEST_F(RunnersTest, SweepWritesTablesAndResumes) {
  const auto ds = testing::synthetic_dataset();
  SweepSpec spec;
  spec.rates = {0.0, 0.5};
  spec.seeds = {1, 2};
  const RunTable t = run_sweep(tiny_config(), ds, spec, dir_.string(), nullptr);
  ASSERT_EQ(t.cells.size(), 4u);
  ASSERT_EQ(t.summary.size(), 2u);
  EXPECT_EQ(t.summary[0].runs, 2);
  // Summary = mean and population std of the two cells.
  const auto& row = t.summary[1];
  const size_t k = static_cast<size_t>(std::find(row.metrics.begin(), row.metrics.end(), "accuracy") - row.metrics.begin());
  const double a = t.cells[2].test.get("accuracy"), b = t.cells[3].test.get("accuracy");
  EXPECT_NEAR(row.mean[k], (a + b) / 2, 1e-12);
  EXPECT_NEAR(row.std[k], std::abs(a - b) / 2, 1e-12);
  for (const char* f : {"results.csv", "results.json", "results.md"}) EXPECT_TRUE(fs::exists(dir_ / f)) << f;
  const std::string csv = io::read_file_bytes((dir_ / "results.csv").string());
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);
  EXPECT_NE(io::read_file_bytes((dir_ / "results.md").string()).find("| random:0.5 | 2 |"), std::string::npos);

  // Re-running reuses finished cells; a cell that lost its results is retrained identically.
  const std::string cell = t.cells[1].run_dir;
  fs::remove_all(cell);
  const RunTable again = run_sweep(tiny_config(), ds, spec, dir_.string(), nullptr);
  EXPECT_TRUE(again.cells[0].reused);
  EXPECT_FALSE(again.cells[1].reused);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(again.cells[i].test.get("weighted_f1"), t.cells[i].test.get("weighted_f1")) << i;
  // The same directory with another config is refused, not silently mixed.
  ExperimentConfig other = tiny_config();
  other.train.epochs = 3;
  EXPECT_THROW(run_sweep(other, ds, spec, dir_.string(), nullptr), Error);
}

TEST_F(RunnersTest, FoldsRunOncePerSchemeAndAverage) {
  auto ds = testing::synthetic_dataset();
  // Two folds: each tests on a different third and validates on another.
  auto range = [](int64_t a, int64_t b) {
    std::vector<int64_t> v;
    for (int64_t i = a; i < b; ++i) v.push_back(i);
    return v;
  };
  std::vector<int64_t> tr1 = range(8, 24), tr2 = range(0, 16);
  ds.split_schemes.push_back({"cv-1", {{"train", range(8, 20)}, {"valid", range(20, 24)}, {"test", range(0, 8)}}});
  ds.split_schemes.push_back({"cv-2", {{"train", range(0, 12)}, {"valid", range(12, 16)}, {"test", range(16, 24)}}});
  const RunTable t = run_folds(tiny_config(), ds, "cv", dir_.string(), nullptr);
  ASSERT_EQ(t.cells.size(), 2u);
  EXPECT_EQ(t.cells[0].split, "cv-1");
  EXPECT_EQ(t.cells[1].split, "cv-2");
  ASSERT_EQ(t.summary.size(), 1u);
  EXPECT_EQ(t.summary[0].runs, 2);
  EXPECT_THROW(run_folds(tiny_config(), ds, "loso", dir_.string(), nullptr), Error);
}

}  // namespace
}  // namespace merc::train
