#include "merc/metrics/inertia.h"

#include <gtest/gtest.h>

#include "merc/core/error.h"

namespace merc::metrics {
namespace {

TEST(EmotionalInertia, HandCountedDialogues) {
  // Dialogue "d1": A:joy, B:joy, A:joy, B:sad, A:sad, A:sad  (labels joy = 1, sad = 2)
  //   u0 A first -> rest; u1 B first -> rest (same label as A's, but another speaker);
  //   u2 A joy after A joy -> inertia; u3 B sad after B joy -> rest;
  //   u4 A sad after A joy -> rest; u5 A sad after A sad -> inertia.
  // Dialogue "d2": A:joy -> rest (A's history does not carry over from d1); A:-1 (unlabelled) -> rest;
  //   A:joy after the unlabelled one -> rest (the previous label is unknown).
  const std::vector<InertiaUtterance> u = {
      {"d1", 0, 1}, {"d1", 1, 1}, {"d1", 0, 1}, {"d1", 1, 2}, {"d1", 0, 2}, {"d1", 0, 2},
      {"d2", 0, 1}, {"d2", 0, -1}, {"d2", 0, 1},
  };
  const std::vector<bool> want = {false, false, true, false, false, true, false, false, false};
  EXPECT_EQ(emotional_inertia(u), want);
  EXPECT_TRUE(emotional_inertia({}).empty());
}

TEST(EmotionalInertia, UngroupedDialoguesAreAnError) {
  const std::vector<InertiaUtterance> u = {{"d1", 0, 1}, {"d2", 0, 1}, {"d1", 0, 1}};
  EXPECT_THROW(emotional_inertia(u), Error);
}

}  // namespace
}  // namespace merc::metrics
