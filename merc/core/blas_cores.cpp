#include "merc/core/blas_cores.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace merc::core {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// OpenBLAS core names whose kernels use no AVX2 (DYNAMIC_ARCH fallbacks for unknown x86 cores and
// the old cores they stand for).
bool sse_only_core(const std::string& name) {
  static const char* const kCores[] = {"prescott", "core2", "penryn", "dunnington", "nehalem",
                                       "sandybridge", "barcelona", "atom", "katmai", "coppermine",
                                       "northwood", "opteron", "opteron_sse3", "bobcat"};
  const std::string n = lower(name);
  return std::any_of(std::begin(kCores), std::end(kCores), [&](const char* c) { return n == c; });
}

}  // namespace

CpuFeatures cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
#endif
  return f;
}

BlasCoreDecision decide_blas_core(const char* env_coretype, const char* env_merc_blas, const char* loaded_core,
                                  const CpuFeatures& cpu) {
  if (env_coretype && *env_coretype) return {"", "OPENBLAS_CORETYPE is set by the caller"};
  if (env_merc_blas && std::string(env_merc_blas) == "default") return {"", "MERC_BLAS=default"};
  if (!loaded_core || !*loaded_core) return {"", "the BLAS is not OpenBLAS"};
  if (!sse_only_core(loaded_core)) return {"", std::string("OpenBLAS already runs its ") + loaded_core + " kernels"};
  if (cpu.avx2 && cpu.fma)
    return {"Haswell", std::string("OpenBLAS fell back to ") + loaded_core + " kernels on an AVX2 CPU"};
  return {"", "the CPU has no AVX2"};
}

std::string loaded_openblas_core() {
  using CoreName = char* (*)();
  const auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!fn) return "";
  const char* name = fn();
  return name ? std::string(name) : std::string();
}

void maybe_reexec_with_fast_blas(char** argv) {
  const std::string core = loaded_openblas_core();
  const BlasCoreDecision d =
      decide_blas_core(std::getenv("OPENBLAS_CORETYPE"), std::getenv("MERC_BLAS"), core.c_str(), cpu_features());
  if (d.coretype.empty()) return;
  if (setenv("OPENBLAS_CORETYPE", d.coretype.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed (no /proc, say): go on with the loaded kernels; leave the variable unset again so
  // that children see the process as it is.
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace merc::core
