#pragma once
// Test labels and prerequisites, shared by every merc test executable (tests/support/test_main.cpp
// is their main).
//
// Labels. A test is `unit` unless declared with MERC_SLOW_TEST, which files it under `slow` by its
// exact "Suite.Name". CTest runs each executable twice, `--merc_label=unit` (the default `make test`)
// and `--merc_label=slow` (label `slow`, `make test-all`); run by hand, an executable runs both unless
// given `--merc_label`. Selecting by a registered label, not by a substring of the name, keeps a test
// such as "ApproximatesSlowlyDecayingSpectrum" in the default run.
//
// Prerequisites. Some tests read ../shared/data or run /usr/bin/python3 with numpy. Where one is
// missing, MERC_REQUIRE_PREREQUISITE skips the test and the summary at the end of the run counts it
// ("[merc] N test(s) SKIPPED ..."); on CI (environment CI=true, or MERC_REQUIRE_PREREQUISITES=1) a
// missing prerequisite is a failure, because there everything the suite reads is provided.

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace merc::test_support {

// Files "Suite.Name" under the `slow` label; returns true so it can initialise a static.
bool mark_slow(const char* full_name);
const std::vector<std::string>& slow_tests();

// True when a missing prerequisite must fail the test (CI set to anything but "", "0" or "false",
// or MERC_REQUIRE_PREREQUISITES=1).
bool prerequisites_required();
// Records a skip for the end-of-run summary.
void note_missing_prerequisite(const std::string& test_name, const std::string& what);
std::string current_test_name();

}  // namespace merc::test_support

// Wraps TEST only (not TEST_F / TEST_P): a slow fixture test needs its own macro.
#define MERC_SLOW_TEST(suite, name)                                                                         \
  [[maybe_unused]] static const bool merc_slow_label_##suite##_##name = ::merc::test_support::mark_slow( \
      #suite "." #name);                                                                                    \
  TEST(suite, name)

// `what` is anything streamable: MERC_REQUIRE_PREREQUISITE(fs::exists(p), p << " not present").
// Use it in the test body: like ASSERT_*, it returns from the function it is in, so inside a
// helper it ends only the helper.
#define MERC_REQUIRE_PREREQUISITE(condition, what)                                                   \
  do {                                                                                               \
    if (!(condition)) {                                                                              \
      std::ostringstream merc_prereq_what_;                                                          \
      merc_prereq_what_ << what;                                                                     \
      if (::merc::test_support::prerequisites_required())                                           \
        FAIL() << "missing prerequisite (required on CI): " << merc_prereq_what_.str();              \
      ::merc::test_support::note_missing_prerequisite(::merc::test_support::current_test_name(),     \
                                                      merc_prereq_what_.str());                      \
      GTEST_SKIP() << "missing prerequisite: " << merc_prereq_what_.str();                          \
    }                                                                                                \
  } while (false)
