#pragma once
// What a model costs at inference (MoED's `--testing --overhead`, method_reference §4.8, and more):
// parameter counts, latency per dialogue and per utterance, peak memory and FLOPs per utterance,
// with the settings they were measured under. `merc eval --overhead` (app/overhead_cmd.h) feeds it
// a run's model and data; docs/analysis/overhead.md describes the conventions.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "merc/analysis/flop_counter.h"
#include "merc/data/batch.h"
#include "merc/models/model.h"

namespace merc::analysis {

// ---- parameters ----
struct ParameterCounts {
  int64_t total = 0;      // elements of every parameter (module.parameters(), recursively)
  int64_t trainable = 0;  // of those with requires_grad
  int64_t buffers = 0;    // elements of buffers (BatchNorm running statistics): state, not parameters
  int64_t frozen() const { return total - trainable; }
};
ParameterCounts count_parameters(const torch::nn::Module& module);

// ---- latency statistics ----
struct LatencyStats {
  int64_t samples = 0;
  double median_ms = 0.0;
  double p95_ms = 0.0;  // linear interpolation between order statistics at 0.95 * (n - 1) (numpy's default)
  double mean_ms = 0.0;
  double min_ms = 0.0;
  double max_ms = 0.0;
};
// merc::Error when samples is empty.
LatencyStats summarize_latency(std::vector<double> samples_ms);

// ---- process memory (Linux /proc/self/status) ----
struct ProcessMemory {
  int64_t rss_bytes = -1;  // VmRSS: resident now
  int64_t hwm_bytes = -1;  // VmHWM: peak resident ("high water mark") since start or the last reset
};
// -1 fields where /proc/self/status is unreadable or lacks the line.
ProcessMemory read_process_memory();
// Resets VmHWM to the current RSS (writes "5" to /proc/self/clear_refs, Linux >= 4.0); false when the
// kernel refuses, and VmHWM then stays the peak since the process started.
bool reset_peak_rss();

struct MemoryReport {
  // "process_rss" (CPU: VmRSS before, VmHWM after) or "cuda_caching_allocator" (allocated bytes
  // before, the allocator's peak allocated bytes after, peak statistics reset before measuring).
  std::string source;
  int64_t baseline_bytes = 0;  // before the measured forwards (after warm-up)
  int64_t peak_bytes = 0;      // peak during the measured forwards (see peak_reset)
  // CPU: whether VmHWM was reset to the baseline first; when false peak_bytes is the process's
  // peak since start (loading data included) and growth_bytes() is only an upper bound.
  bool peak_reset = false;
  int64_t growth_bytes() const { return peak_bytes - baseline_bytes; }
};

// ---- the measurement ----
struct OverheadSettings {
  int64_t warmup = 5;    // untimed forwards of the first batch (allocator and thread-pool warm-up)
  int64_t repeats = 10;  // timed passes over every batch
  torch::Device device = torch::kCPU;  // where the model and the batches are
};

// One input of the measurement: a batch (normally one dialogue, B = 1) already on the device with
// its missing-modality protocol applied.
struct OverheadInput {
  data::DialogueBatch batch;
  int64_t utterances = 0;  // real utterances in it (utterance_mask.sum())
};

struct OverheadReport {
  // settings
  std::string device;        // "cpu", "cuda:0"
  int64_t threads = 0;       // at::get_num_threads() during the measurement
  int64_t warmup = 0;
  int64_t repeats = 0;
  int64_t batch_size = 0;    // B of every input (1 for per-dialogue timing)
  int64_t max_length = 0;    // the largest T among the inputs
  int64_t dialogues = 0;     // inputs measured (batches times B)
  int64_t utterances = 0;    // real utterances over all inputs
  // results
  ParameterCounts params;
  LatencyStats per_dialogue;   // one sample per input and repeat: the forward's wall time
  LatencyStats per_utterance;  // each sample divided by the input's utterances
  MemoryReport memory;
  FlopCount flops;             // one forward of every input, summed
  double macs_per_utterance() const;
  double flops_per_utterance() const;  // 2 * MACs + elementwise, per utterance
};

// Measures model (in eval mode, no grad) on the inputs in the ForwardContext ctx: warm-up, then the
// timed repeats (memory peak over these), then one counted forward per input. merc::Error when
// inputs is empty.
OverheadReport measure_overhead(models::Model& model, const std::vector<OverheadInput>& inputs,
                                const models::ForwardContext& ctx, const OverheadSettings& settings);

// MoED's dummy input (B = 1, T utterances, method_reference §4.8): standard-normal features of
// every modality dims has (input_dims > 0) and semantic vectors when dims.semantic_dim > 0, two
// alternating speakers (one when dims.num_speakers == 1), every modality observed, labels 0
// (classification) or scores 0 (regression). Batch-major, on the CPU; seeded.
data::DialogueBatch dummy_batch(const models::ModelDims& dims, int64_t length, uint64_t seed);

}  // namespace merc::analysis
