#pragma once
// MERC_BENCHMARK_MAIN(): Google Benchmark's main, after the same process set-up as the merc CLI
// (core/allocator.h), so that benchmarks time what `merc train` runs. MERC_MALLOC=default in the
// environment measures glibc's default malloc instead.

#include <benchmark/benchmark.h>

#include "merc/core/allocator.h"

#define MERC_BENCHMARK_MAIN()                                      \
  int main(int argc, char** argv) {                                \
    merc::core::tune_allocator();                                  \
    benchmark::Initialize(&argc, argv);                            \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1; \
    benchmark::RunSpecifiedBenchmarks();                           \
    benchmark::Shutdown();                                         \
    return 0;                                                      \
  }
