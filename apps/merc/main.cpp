// merc command-line entry point: parse, then dispatch to merc::app (all logic lives in the library).
#include "merc/app/cli.h"
#include "merc/core/blas_cores.h"

int main(int argc, char** argv) {
  // Before anything else: may replace this process with one that runs OpenBLAS's AVX2/AVX-512
  // kernels instead of its SSE3 fallback (merc/core/blas_cores.h).
  merc::core::maybe_reexec_with_fast_blas(argv);
  return merc::app::run_cli(argc, argv);
}
