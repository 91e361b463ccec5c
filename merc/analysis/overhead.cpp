#include "merc/analysis/overhead.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#ifdef MERC_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "merc/core/error.h"

namespace merc::analysis {

namespace overhead_detail {

int64_t status_kb(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    int64_t kb = -1;
    fields >> kb;
    return kb;
  }
  return -1;
}

bool is_cuda(const torch::Device& device) { return device.is_cuda(); }

// Waits for the device's queued kernels, so that a forward's wall time includes them (CUDA runs
// asynchronously; the CPU has nothing to wait for).
void synchronize(const torch::Device& device) {
  if (is_cuda(device)) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

// Starts the memory measurement: the baseline now, the peak reset where the source allows it.
MemoryReport begin_memory(const torch::Device& device) {
  MemoryReport m;
#ifdef MERC_WITH_CUDA
  if (is_cuda(device)) {
    const int index = device.has_index() ? device.index() : 0;
    namespace alloc = c10::cuda::CUDACachingAllocator;
    alloc::resetPeakStats(index);
    m.source = "cuda_caching_allocator";
    // allocated_bytes[0] is StatType::AGGREGATE in LibTorch 1.13 and 2.x (the enum moved namespaces).
    m.baseline_bytes = alloc::getDeviceStats(index).allocated_bytes[0].current;
    m.peak_reset = true;
    return m;
  }
#else
  MERC_CHECK(!is_cuda(device), "overhead: this merc was built without CUDA; cannot measure device '{}'",
             device.str());
#endif
  m.source = "process_rss";
  m.peak_reset = reset_peak_rss();
  m.baseline_bytes = read_process_memory().rss_bytes;
  return m;
}

void end_memory(const torch::Device& device, MemoryReport* m) {
#ifdef MERC_WITH_CUDA
  if (is_cuda(device)) {
    const int index = device.has_index() ? device.index() : 0;
    m->peak_bytes = c10::cuda::CUDACachingAllocator::getDeviceStats(index).allocated_bytes[0].peak;
    return;
  }
#endif
  m->peak_bytes = read_process_memory().hwm_bytes;
}

double forward_ms(models::Model& model, const OverheadInput& input, const models::ForwardContext& ctx,
                  const torch::Device& device) {
  synchronize(device);
  const auto t0 = std::chrono::steady_clock::now();
  const models::ModelOutput out = model.forward(input.batch, ctx);
  synchronize(device);
  const auto t1 = std::chrono::steady_clock::now();
  MERC_CHECK(out.logits.defined(), "overhead: the model's forward returned no logits");
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

}  // namespace overhead_detail

ParameterCounts count_parameters(const torch::nn::Module& module) {
  ParameterCounts c;
  for (const torch::Tensor& p : module.parameters(/*recurse=*/true)) {
    c.total += p.numel();
    if (p.requires_grad()) c.trainable += p.numel();
  }
  for (const torch::Tensor& b : module.buffers(/*recurse=*/true))
    if (b.defined()) c.buffers += b.numel();
  return c;
}

LatencyStats summarize_latency(std::vector<double> samples_ms) {
  MERC_CHECK(!samples_ms.empty(), "latency statistics of no samples");
  std::sort(samples_ms.begin(), samples_ms.end());
  const size_t n = samples_ms.size();
  auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(n - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, n - 1);
    return samples_ms[lo] + (pos - static_cast<double>(lo)) * (samples_ms[hi] - samples_ms[lo]);
  };
  LatencyStats s;
  s.samples = static_cast<int64_t>(n);
  s.median_ms = quantile(0.5);
  s.p95_ms = quantile(0.95);
  s.mean_ms = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0) / static_cast<double>(n);
  s.min_ms = samples_ms.front();
  s.max_ms = samples_ms.back();
  return s;
}

ProcessMemory read_process_memory() {
  std::ifstream in("/proc/self/status");
  ProcessMemory m;
  if (!in) return m;
  std::stringstream text;
  text << in.rdbuf();
  const int64_t rss = overhead_detail::status_kb(text.str(), "VmRSS");
  const int64_t hwm = overhead_detail::status_kb(text.str(), "VmHWM");
  m.rss_bytes = rss < 0 ? -1 : rss * 1024;
  m.hwm_bytes = hwm < 0 ? -1 : hwm * 1024;
  return m;
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

double OverheadReport::macs_per_utterance() const {
  return utterances > 0 ? static_cast<double>(flops.macs) / static_cast<double>(utterances) : 0.0;
}

double OverheadReport::flops_per_utterance() const {
  return utterances > 0 ? static_cast<double>(flops.total_flops()) / static_cast<double>(utterances) : 0.0;
}

OverheadReport measure_overhead(models::Model& model, const std::vector<OverheadInput>& inputs,
                                const models::ForwardContext& ctx, const OverheadSettings& settings) {
  MERC_CHECK(!inputs.empty(), "overhead: nothing to measure (no input batches)");
  MERC_CHECK(settings.repeats >= 1, "overhead: repeats must be at least 1 (got {})", settings.repeats);
  torch::NoGradGuard no_grad;
  model.eval();
  OverheadReport r;
  r.device = settings.device.str();
  r.threads = at::get_num_threads();
  r.warmup = settings.warmup;
  r.repeats = settings.repeats;
  r.batch_size = inputs.front().batch.batch_size();
  for (const OverheadInput& in : inputs) {
    r.max_length = std::max(r.max_length, in.batch.max_length());
    r.dialogues += in.batch.batch_size();
    r.utterances += in.utterances;
  }
  r.params = count_parameters(model);

  for (int64_t i = 0; i < settings.warmup; ++i)
    overhead_detail::forward_ms(model, inputs.front(), ctx, settings.device);
  r.memory = overhead_detail::begin_memory(settings.device);
  std::vector<double> per_dialogue, per_utterance;
  for (int64_t rep = 0; rep < settings.repeats; ++rep) {
    for (const OverheadInput& in : inputs) {
      const double ms = overhead_detail::forward_ms(model, in, ctx, settings.device);
      per_dialogue.push_back(ms);
      per_utterance.push_back(ms / static_cast<double>(std::max<int64_t>(in.utterances, 1)));
    }
  }
  overhead_detail::end_memory(settings.device, &r.memory);
  r.per_dialogue = summarize_latency(per_dialogue);
  r.per_utterance = summarize_latency(per_utterance);

  r.flops = count_flops([&] {
    for (const OverheadInput& in : inputs) model.forward(in.batch, ctx);
  });
  return r;
}

data::DialogueBatch dummy_batch(const models::ModelDims& dims, int64_t length, uint64_t seed) {
  MERC_CHECK(length >= 1, "dummy batch: length must be at least 1 (got {})", length);
  torch::manual_seed(seed);
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  data::DialogueBatch b;
  b.layout = data::BatchLayout::kBatchMajor;
  auto has = torch::zeros({data::kNumModalities}, torch::kBool);
  for (int m = 0; m < data::kNumModalities; ++m) {
    const auto i = static_cast<size_t>(m);
    if (dims.input_dims[i] <= 0) continue;
    b.features[i] = torch::randn({1, length, dims.input_dims[i]}, f32);
    has[m].fill_(true);
  }
  const int64_t speakers = std::max<int64_t>(dims.num_speakers, 1);
  b.speaker = (torch::arange(length, torch::kInt64) % std::min<int64_t>(speakers, 2)).unsqueeze(0);
  b.utterance_mask = torch::ones({1, length}, torch::kBool);
  b.modality_mask = has.view({1, 1, data::kNumModalities}).expand({1, length, data::kNumModalities}).contiguous();
  const bool cls = dims.task == data::Task::kClassification;
  b.label = cls ? torch::zeros({1, length}, torch::kInt64) : torch::full({1, length}, -1, torch::kInt64);
  b.score = cls ? torch::full({1, length}, NAN, f32) : torch::zeros({1, length}, f32);
  b.lengths = torch::full({1}, length, torch::kInt64);
  b.dialogue_id = {"dummy"};
  if (dims.semantic_dim > 0) b.semantic = torch::randn({1, length, dims.semantic_dim}, f32);
  return b;
}

}  // namespace merc::analysis
