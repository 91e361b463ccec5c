#pragma once
// Picking OpenBLAS's kernels for the CPU we run on.
//
// Why: Debian 12's OpenBLAS 0.3.21 is built with DYNAMIC_ARCH and picks its kernels from CPUID
// family/model tables. Cores newer than those tables (the AMD EPYC and Intel Xeon VMs this
// project runs on) fall back to the SSE3 "Prescott" kernels: sgemm, which LibTorch uses for every
// Linear, runs about 2x (AMD, AVX2 kernels) to 2.8x (Intel, AVX-512 kernels) slower
// (docs/benchmarks.md). OpenBLAS reads OPENBLAS_CORETYPE once, when the library is loaded, which
// is before main; so the only remedy from inside the program is to execute it again with the
// variable set. maybe_reexec_with_fast_blas does that once, at the start of `merc`, when:
//   - OPENBLAS_CORETYPE is unset and MERC_BLAS is not "default" (the user's choice wins),
//   - the loaded BLAS is OpenBLAS (openblas_get_corename is found) running SSE-only kernels, and
//   - the CPU has AVX2 + FMA: then it runs the Haswell (AVX2) kernels.
// Haswell, not SkylakeX, also on AVX-512 CPUs: kernels round differently and training amplifies
// that, while the same kernels give the same numbers on different CPUs (the ComP MOSI sweep of
// docs/results.md §6 repeated bit for bit on an AMD EPYC and an Intel Xeon VM with Haswell kernels,
// and not with the Intel VM's fallback kernels). One kernel set for every x86-64 CPU with AVX2
// keeps results comparable between machines; set OPENBLAS_CORETYPE yourself to choose another.

#include <string>

namespace merc::core {

struct CpuFeatures {
  bool avx2 = false, fma = false;
};

// This CPU's features (__builtin_cpu_supports).
CpuFeatures cpu_features();

struct BlasCoreDecision {
  std::string coretype;  // value for OPENBLAS_CORETYPE; empty = leave the process as it is
  std::string reason;    // why (for logs and tests)
};

// The pure decision. env_coretype / env_merc_blas: the environment's OPENBLAS_CORETYPE and
// MERC_BLAS (nullptr = unset); loaded_core: openblas_get_corename() of the loaded library
// (nullptr = not OpenBLAS).
BlasCoreDecision decide_blas_core(const char* env_coretype, const char* env_merc_blas, const char* loaded_core,
                                  const CpuFeatures& cpu);

// The loaded OpenBLAS's core name, or "" when the BLAS is not OpenBLAS.
std::string loaded_openblas_core();

// Applies decide_blas_core to this process: when it names a core type, sets OPENBLAS_CORETYPE and
// replaces the process with a fresh run of the same executable and arguments (/proc/self/exe).
// Returns only when nothing was to be done or the exec failed (then the run goes on with the
// loaded kernels).
void maybe_reexec_with_fast_blas(char** argv);

}  // namespace merc::core
