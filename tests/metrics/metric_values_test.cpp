#include "merc/metrics/metric_values.h"

#include <gtest/gtest.h>

#include <string>

#include "merc/core/error.h"

namespace merc::metrics {
namespace {

TEST(MetricValues, KeepsInsertionOrderAndOverwritesInPlace) {
  MetricValues v;
  v.set("macro_f1", 1.0);
  v.set("accuracy", 2.0);
  v.set("macro_f1", 3.0);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v.names(), (std::vector<std::string>{"macro_f1", "accuracy"}));
  EXPECT_EQ(v.get("macro_f1"), 3.0);
  EXPECT_TRUE(v.contains("accuracy"));
  EXPECT_FALSE(v.contains("ua"));
  double sum = 0.0;
  for (const MetricValue& m : v) sum += m.value;
  EXPECT_EQ(sum, 5.0);
}

TEST(MetricValues, UnknownNameListsValidNames) {
  MetricValues v;
  v.set("acc2", 80.0);
  v.set("mae", 0.7);
  try {
    v.get("acc_2");
    FAIL() << "no exception";
  } catch (const UnknownNameError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'acc_2'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("acc2, mae"), std::string::npos) << msg;
  }
}

TEST(HigherIsBetter, ErrorsAreLowerIsBetterEverythingElseHigher) {
  EXPECT_FALSE(higher_is_better("mae"));
  EXPECT_FALSE(higher_is_better("mae_non0"));
  EXPECT_FALSE(higher_is_better("loss"));
  for (const char* name : {"accuracy", "weighted_f1", "macro_f1", "ua", "acc2", "f1", "acc2_has0",
                           "f1_has0", "acc5", "acc7", "corr", "corr_non0"}) {
    EXPECT_TRUE(higher_is_better(name)) << name;
  }
  EXPECT_THROW(higher_is_better("MAE"), UnknownNameError);
}

}  // namespace
}  // namespace merc::metrics
