#pragma once
// Process-wide malloc settings for training and evaluation.
//
// Why: LibTorch's CPU allocator is plain posix_memalign, so every activation and gradient of a step
// is a fresh malloc. glibc serves blocks above its mmap threshold (128 KiB, adapting up to 32 MiB)
// with a new mmap and gives freed memory back to the kernel, so every step re-faults and re-zeroes
// its activations: on ComP's published MOSI shape (activations of 32 x 65 x 256 floats = 2 MiB)
// page faults and page clearing were ~13 % of a 2-thread training step (perf, 2026-12-05;
// docs/benchmarks.md). Keeping blocks below
// `mmap_threshold_bytes` on the heap and trimming the heap top only beyond `trim_threshold_bytes`
// lets a step reuse the pages of the previous one. The cost is that the process keeps its peak
// heap (plus up to the trim threshold) resident after a step instead of returning it.
//
// Blocks above the mmap threshold (whole datasets, large feature matrices) are still mapped and
// unmapped individually, so loading and converting large files behaves as before.

#include <cstddef>
#include <string>

namespace merc::core {

struct AllocatorSettings {
  size_t mmap_threshold_bytes = size_t{64} << 20;  // 64 MiB: above every per-step tensor of the models
  size_t trim_threshold_bytes = size_t{1} << 30;   // 1 GiB kept free at the heap top before trimming
};

struct AllocatorTuning {
  bool applied = false;  // false when disabled (MERC_MALLOC=default), not supported (non-glibc) or refused
  std::string reason;    // why not applied, or "" when applied
};

// Applies `settings` with mallopt unless the environment variable MERC_MALLOC is "default". Safe
// to call more than once; call it at program start, before the first large allocation.
AllocatorTuning tune_allocator(const AllocatorSettings& settings = {});

}  // namespace merc::core
