#include "merc/nn/t5/generate.h"

#include "merc/core/error.h"

namespace merc::nn::t5 {

GenerateOutput greedy_generate(T5ModelImpl& model, const GenerateInput& in, const GenerateOptions& options) {
  MERC_CHECK(options.max_length >= 1, "greedy_generate: max_length must be >= 1, got {}", options.max_length);
  torch::NoGradGuard no_grad;
  const T5Config& c = model.options.config;
  DecodeInput step;
  step.memory = model.encode(in.encoder);
  step.memory_mask = in.encoder.attention_mask;
  step.extra_memory = in.extra_memory;
  step.extra_mask = in.extra_mask;
  const int64_t n = step.memory.size(0);
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(step.memory.device());
  torch::Tensor prefix = torch::full({n, 1}, c.decoder_start_token_id, long_opts);  // (N, 1 + t)
  torch::Tensor finished = torch::zeros({n}, long_opts.dtype(torch::kBool));
  torch::Tensor lengths = torch::full({n}, options.max_length, long_opts);
  for (int64_t t = 0; t < options.max_length; ++t) {
    // The cache holds positions < t: feed only the newest token; otherwise the whole prefix.
    step.input_ids = options.use_cache ? prefix.narrow(1, t, 1) : prefix;
    const DecodeOutput out = model.decode(step);
    if (options.use_cache) step.past = out.cache;
    torch::Tensor next = model.logits(out.states.select(1, -1)).argmax(-1);  // (N)
    next = torch::where(finished, torch::full_like(next, c.pad_token_id), next);
    const torch::Tensor ends = next.eq(c.eos_token_id).logical_and(finished.logical_not());
    lengths = torch::where(ends, torch::full_like(lengths, t + 1), lengths);
    finished = finished.logical_or(ends);
    prefix = torch::cat({prefix, next.unsqueeze(1)}, 1);
    if (finished.all().item<bool>()) break;
  }
  return {prefix.narrow(1, 1, prefix.size(1) - 1), lengths};
}

}  // namespace merc::nn::t5
