#include "merc/core/allocator.h"

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace merc::core {
namespace {

#if defined(__GLIBC__)
// glibc counts the live mmapped blocks in mallinfo2().hblks. A 48 MiB block is above glibc's
// largest adaptive mmap threshold (32 MiB), so without the tuning it is always mmapped; with a
// 64 MiB threshold it must come from the heap.
TEST(AllocatorTest, BlocksBelowTheThresholdComeFromTheHeap) {
  unsetenv("MERC_MALLOC");
  const AllocatorTuning t = tune_allocator();
  ASSERT_TRUE(t.applied) << t.reason;
  const size_t before = mallinfo2().hblks;
  void* p = std::malloc(size_t{48} << 20);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, 4096);  // keep the allocation alive and observable
  const size_t during = mallinfo2().hblks;
  std::free(p);
  EXPECT_EQ(during, before);

  // A block above the threshold is still mapped on its own (datasets are returned to the kernel).
  void* big = std::malloc(size_t{80} << 20);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(mallinfo2().hblks, before + 1);
  std::free(big);
}
#endif

TEST(AllocatorTest, EnvironmentCanDisableIt) {
  setenv("MERC_MALLOC", "default", 1);
  const AllocatorTuning t = tune_allocator();
  unsetenv("MERC_MALLOC");
  EXPECT_FALSE(t.applied);
  EXPECT_EQ(t.reason, "MERC_MALLOC=default");
}

TEST(AllocatorTest, RefusesThresholdsMalloptCannotTake) {
  AllocatorSettings s;
  s.trim_threshold_bytes = size_t{3} << 30;  // > INT_MAX
  const AllocatorTuning t = tune_allocator(s);
#if defined(__GLIBC__)
  EXPECT_FALSE(t.applied);
  EXPECT_EQ(t.reason, "thresholds above INT_MAX bytes");
#endif
  tune_allocator();  // leave the process with the defaults the other tests expect
}

}  // namespace
}  // namespace merc::core
