// main() of every merc test executable: GoogleTest plus the label filter and the skip summary of
// test_labels.h.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_labels.h"

namespace merc::test_support {
namespace {

std::vector<std::string>& slow_registry() {
  static std::vector<std::string> names;
  return names;
}

struct MissingPrerequisite {
  std::string test;
  std::string what;
};

std::vector<MissingPrerequisite>& missing_registry() {
  static std::vector<MissingPrerequisite> missing;
  return missing;
}

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, value) == 0;
}

std::vector<std::string> registered_tests() {
  std::vector<std::string> names;
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(i);
    for (int j = 0; j < suite.total_test_count(); ++j)
      names.push_back(std::string(suite.name()) + "." + suite.GetTestInfo(j)->name());
  }
  return names;
}

// Excludes the tests outside `label` by appending them as negative patterns to the user's filter
// (GoogleTest filters have no intersection; exact names contain no wildcard).
int apply_label(const std::string& label) {
  if (label == "all") return 0;
  if (label != "unit" && label != "slow") {
    std::fprintf(stderr, "--merc_label must be unit, slow or all, not '%s'\n", label.c_str());
    return 1;
  }
  const std::vector<std::string> all = registered_tests();
  const std::set<std::string> slow(slow_registry().begin(), slow_registry().end());
  const std::set<std::string> known(all.begin(), all.end());
  for (const std::string& s : slow)
    if (!known.count(s)) {
      std::fprintf(stderr, "MERC_SLOW_TEST names '%s', which is not a registered test\n", s.c_str());
      return 1;
    }
  std::string excluded;
  for (const std::string& name : all)
    if ((slow.count(name) > 0) != (label == "slow")) excluded += (excluded.empty() ? "" : ":") + name;
  if (excluded.empty()) return 0;
  std::string filter = GTEST_FLAG_GET(filter);
  filter += (filter.find('-') == std::string::npos ? "-" : ":") + excluded;
  GTEST_FLAG_SET(filter, filter);
  return 0;
}

// Prints every skipped test at the end, and the missing prerequisites, so that a skip is never
// silent (make test greps these lines into its summary: scripts/test_summary.sh).
class SkipSummary : public ::testing::EmptyTestEventListener {
  static std::string reason(const std::string& test_name) {
    for (const MissingPrerequisite& m : missing_registry())
      if (m.test == test_name) return " (missing prerequisite: " + m.what + ")";
    return "";
  }

  void OnTestProgramEnd(const ::testing::UnitTest& unit) override {
    if (unit.skipped_test_count() == 0) return;
    std::printf("[merc] %d test(s) SKIPPED in %s:\n", unit.skipped_test_count(), program_.c_str());
    for (int i = 0; i < unit.total_test_suite_count(); ++i) {
      const ::testing::TestSuite& suite = *unit.GetTestSuite(i);
      for (int j = 0; j < suite.total_test_count(); ++j) {
        const ::testing::TestInfo& t = *suite.GetTestInfo(j);
        if (t.should_run() && t.result()->Skipped()) {
          const std::string name = std::string(suite.name()) + "." + t.name();
          std::printf("[merc]   %s%s\n", name.c_str(), reason(name).c_str());
        }
      }
    }
    std::fflush(stdout);
  }

 public:
  explicit SkipSummary(std::string program) : program_(std::move(program)) {}

 private:
  std::string program_;
};

}  // namespace

bool mark_slow(const char* full_name) {
  slow_registry().emplace_back(full_name);
  return true;
}

const std::vector<std::string>& slow_tests() { return slow_registry(); }

// CI: any value but empty, "0" or "false" (CI systems set "true", some "1").
bool prerequisites_required() {
  const char* ci = std::getenv("CI");
  const bool on_ci = ci != nullptr && *ci != '\0' && std::strcmp(ci, "0") != 0 && std::strcmp(ci, "false") != 0;
  return on_ci || env_is("MERC_REQUIRE_PREREQUISITES", "1");
}

void note_missing_prerequisite(const std::string& test_name, const std::string& what) {
  missing_registry().push_back({test_name, what});
}

std::string current_test_name() {
  const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
  return t ? std::string(t->test_suite_name()) + "." + t->name() : std::string("?");
}

}  // namespace merc::test_support

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string label = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--merc_label=", 0) == 0) {
      label = arg.substr(std::strlen("--merc_label="));
    } else {
      std::fprintf(stderr, "unknown argument '%s' (GoogleTest flags and --merc_label=unit|slow|all)\n", argv[i]);
      return 1;
    }
  }
  if (int rc = merc::test_support::apply_label(label)) return rc;
  const char* slash = std::strrchr(argv[0], '/');
  ::testing::UnitTest::GetInstance()->listeners().Append(
      new merc::test_support::SkipSummary(slash ? slash + 1 : argv[0]));
  return RUN_ALL_TESTS();
}
