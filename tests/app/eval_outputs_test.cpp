// The metric table `merc eval` prints (merc/app/eval_outputs.h).
#include "merc/app/eval_outputs.h"

#include <gtest/gtest.h>

#include "merc/core/error.h"

namespace merc::app {
namespace {

TEST(EvalOutputs, MetricTableIsMarkdownWithTwoDecimals) {
  metrics::MetricValues a, b;
  a.set("accuracy", 61.234);
  a.set("mae", 0.5);
  b.set("accuracy", 7.0);
  b.set("mae", 1.25);
  // Protocol names up to 14 characters keep the first column at 14.
  EXPECT_EQ(metric_table("protocol", {{"complete", a}, {"random:0.3", b}}),
            "| protocol       |    accuracy |         mae |\n"
            "|----------------|-------------|-------------|\n"
            "| complete       |       61.23 |        0.50 |\n"
            "| random:0.3     |        7.00 |        1.25 |\n");
  // A longer name widens the column instead of breaking the alignment.
  EXPECT_EQ(metric_table("scenarios", {{"average (mean of 7)", a}}),
            "| scenarios           |    accuracy |         mae |\n"
            "|---------------------|-------------|-------------|\n"
            "| average (mean of 7) |       61.23 |        0.50 |\n");
}

TEST(EvalOutputs, MetricTableRefusesRowsWithOtherMetrics) {
  metrics::MetricValues a, b;
  a.set("accuracy", 1.0);
  b.set("mae", 1.0);
  EXPECT_THROW(metric_table("protocol", {}), Error);
  EXPECT_THROW(metric_table("protocol", {{"complete", a}, {"drop:a", b}}), Error);
}

}  // namespace
}  // namespace merc::app
