#include "merc/core/progress.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "merc/core/error.h"

namespace merc {
namespace {

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(65.4), "1:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(NAN), "?");
}

TEST(Progress, AutoIsABarOnlyOnATerminal) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(parse_progress_mode("auto", file), ProgressMode::kLog);  // a file is not a TTY
  EXPECT_EQ(parse_progress_mode("bar", file), ProgressMode::kBar);
  EXPECT_EQ(parse_progress_mode("none", file), ProgressMode::kNone);
  EXPECT_THROW(parse_progress_mode("fancy", file), Error);
  std::fclose(file);
}

TEST(Progress, BarDrawsCountsAndStatusThenClears) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    ProgressBar bar(ProgressMode::kBar, file, "epoch 1/3", 4);
    bar.update(4, "loss 0.5000");  // the last step always draws
    bar.finish();
  }
  std::rewind(file);
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, file);
  const std::string text(buf, n);
  EXPECT_NE(text.find("epoch 1/3 [########################] 4/4 loss 0.5000"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K");  // cleared for the caller's summary line
  std::fclose(file);
  // Log mode writes nothing per step.
  std::FILE* quiet = std::tmpfile();
  {
    ProgressBar bar(ProgressMode::kLog, quiet, "x", 2);
    bar.update(1, "y");
  }
  EXPECT_EQ(std::ftell(quiet), 0);
  std::fclose(quiet);
}

}  // namespace
}  // namespace merc
