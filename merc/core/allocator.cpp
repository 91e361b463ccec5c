#include "merc/core/allocator.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace merc::core {

AllocatorTuning tune_allocator(const AllocatorSettings& settings) {
  AllocatorTuning t;
  if (const char* env = std::getenv("MERC_MALLOC"); env != nullptr && std::strcmp(env, "default") == 0) {
    t.reason = "MERC_MALLOC=default";
    return t;
  }
#if defined(__GLIBC__)
  // mallopt takes an int.
  constexpr size_t kMax = static_cast<size_t>(std::numeric_limits<int>::max());
  if (settings.mmap_threshold_bytes > kMax || settings.trim_threshold_bytes > kMax) {
    t.reason = "thresholds above INT_MAX bytes";
    return t;
  }
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, static_cast<int>(settings.mmap_threshold_bytes)) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, static_cast<int>(settings.trim_threshold_bytes)) == 1;
  t.applied = mmap_ok && trim_ok;
  if (!t.applied) t.reason = "mallopt refused the settings";
#else
  (void)settings;
  t.reason = "not glibc";
#endif
  return t;
}

}  // namespace merc::core
