// The decision behind merc's OpenBLAS kernel re-exec (merc/core/blas_cores.h).
#include "merc/core/blas_cores.h"

#include <gtest/gtest.h>

namespace merc::core {
namespace {

CpuFeatures avx2_cpu() {
  CpuFeatures c;
  c.avx2 = c.fma = true;
  return c;
}

TEST(BlasCores, FallbackKernelsOnAnAvx2CpuSwitchToHaswell) {
  EXPECT_EQ(decide_blas_core(nullptr, nullptr, "Prescott", avx2_cpu()).coretype, "Haswell");
  EXPECT_EQ(decide_blas_core(nullptr, nullptr, "prescott", avx2_cpu()).coretype, "Haswell");  // any case
  EXPECT_EQ(decide_blas_core(nullptr, nullptr, "Nehalem", avx2_cpu()).coretype, "Haswell");
  EXPECT_EQ(decide_blas_core(nullptr, nullptr, "Sandybridge", avx2_cpu()).coretype, "Haswell");  // AVX, no AVX2
  EXPECT_EQ(decide_blas_core("", nullptr, "Prescott", avx2_cpu()).coretype, "Haswell");  // empty = unset
}

TEST(BlasCores, LeavesTheProcessAloneOtherwise) {
  const auto none = [](const BlasCoreDecision& d) { return d.coretype.empty() && !d.reason.empty(); };
  EXPECT_TRUE(none(decide_blas_core("Haswell", nullptr, "Prescott", avx2_cpu())));  // the user's choice
  EXPECT_TRUE(none(decide_blas_core(nullptr, "default", "Prescott", avx2_cpu())));  // opted out
  EXPECT_TRUE(none(decide_blas_core(nullptr, nullptr, nullptr, avx2_cpu())));      // not OpenBLAS (MKL, ...)
  EXPECT_TRUE(none(decide_blas_core(nullptr, nullptr, "", avx2_cpu())));
  EXPECT_TRUE(none(decide_blas_core(nullptr, nullptr, "Haswell", avx2_cpu())));     // detected a good core
  EXPECT_TRUE(none(decide_blas_core(nullptr, nullptr, "Zen", avx2_cpu())));
  EXPECT_TRUE(none(decide_blas_core(nullptr, nullptr, "Prescott", CpuFeatures{})));   // nothing better to run
  CpuFeatures no_fma = avx2_cpu();
  no_fma.fma = false;
  EXPECT_TRUE(none(decide_blas_core(nullptr, nullptr, "Prescott", no_fma)));
}

}  // namespace
}  // namespace merc::core
