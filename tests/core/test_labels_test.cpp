// The label mechanism of tests/support/test_labels.h. The CTest entry merc_test_labels
// (tests/CMakeLists.txt) checks the other side: which tests each label's run lists.

#include <algorithm>
#include <cstdlib>
#include <string>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "test_labels.h"

namespace merc::test_support {
namespace test_labels_test {

bool is_slow(const std::string& name) {
  const auto& slow = slow_tests();
  return std::find(slow.begin(), slow.end(), name) != slow.end();
}

MERC_SLOW_TEST(TestLabels, SlowTestIsFiledUnderSlowByItsExactName) { EXPECT_TRUE(is_slow(current_test_name())); }

TEST(TestLabels, ASlowSoundingNameIsStillAUnitTest) {
  EXPECT_TRUE(is_slow("TestLabels.SlowTestIsFiledUnderSlowByItsExactName"));
  EXPECT_FALSE(is_slow(current_test_name()));
  EXPECT_FALSE(is_slow("RandomizedSvd.ApproximatesSlowlyDecayingSpectrum"));
}

// Restores an environment variable when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_.empty()) unsetenv(name_);
    else setenv(name_, old_.c_str(), 1);
  }

 private:
  const char* name_;
  std::string old_;
};

void require_a_missing_file() { MERC_REQUIRE_PREREQUISITE(false, "/nonexistent/" << 42 << ".csv"); }

TEST(TestLabels, MissingPrerequisiteFailsOnCi) {
  {
    ScopedEnv ci("CI", "true");
    EXPECT_TRUE(prerequisites_required());
    EXPECT_FATAL_FAILURE(require_a_missing_file(), "missing prerequisite (required on CI): /nonexistent/42.csv");
  }
  {
    ScopedEnv ci("CI", nullptr);
    ScopedEnv forced("MERC_REQUIRE_PREREQUISITES", "1");
    EXPECT_TRUE(prerequisites_required());
    EXPECT_FATAL_FAILURE(require_a_missing_file(), "/nonexistent/42.csv");
  }
  ScopedEnv ci("CI", "false");
  ScopedEnv forced("MERC_REQUIRE_PREREQUISITES", nullptr);
  EXPECT_FALSE(prerequisites_required());  // elsewhere: a skip, counted in the summary
}

}  // namespace test_labels_test
}  // namespace merc::test_support
