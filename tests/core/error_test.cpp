#include "merc/core/error.h"

#include <gtest/gtest.h>

namespace merc {
namespace {

TEST(FormatError, MessageStartsWithPathAndKeepsParts) {
  try {
    MERC_FORMAT_ERROR("data/x.pkl", "byte {}: forbidden global {}", 12, "os.system");
    FAIL() << "expected a throw";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()), "data/x.pkl: byte 12: forbidden global os.system");
    EXPECT_EQ(e.path(), "data/x.pkl");
    EXPECT_EQ(e.problem(), "byte 12: forbidden global os.system");
  }
}

TEST(Check, ThrowsWithMessageOnlyWhenFalse) {
  EXPECT_NO_THROW(MERC_CHECK(1 + 1 == 2, "never"));
  EXPECT_THROW(MERC_CHECK(1 + 1 == 3, "expected {} got {}", 3, 2), Error);
}

}  // namespace
}  // namespace merc
