#pragma once
// Greedy decoding for T5Model: start every row with decoder_start_token_id, append the argmax token
// each step; a row that emits eos_token_id is finished and gets pad_token_id from then on; stop when
// every row is finished or after max_length tokens. With the key/value cache each step runs only
// the newest token through the decoder; without it each step reruns the whole prefix (same tokens:
// the cache is an optimisation, tested as such).

#include <cstdint>

#include <torch/types.h>

#include "merc/nn/t5/model.h"

namespace merc::nn::t5 {

struct GenerateOptions {
  int64_t max_length = 20;  // generated tokens per row, the decoder start token not counted
  bool use_cache = true;
};

struct GenerateInput {
  EncodeInput encoder;        // source ids (or embeddings) and padding mask
  torch::Tensor extra_memory; // (N, L_x, d_model) HRG-SSA's fused nodes; undefined = none
  torch::Tensor extra_mask;   // (N, L_x) 1/0
};

struct GenerateOutput {
  torch::Tensor tokens;   // (N, L) int64, L <= max_length, start token excluded; pad after a row's EOS
  torch::Tensor lengths;  // (N) int64 tokens per row up to and including its EOS (max_length without one)
};

// Runs without gradients; the caller chooses train/eval mode (eval for deterministic decoding).
GenerateOutput greedy_generate(T5ModelImpl& model, const GenerateInput& input, const GenerateOptions& options = {});

}  // namespace merc::nn::t5
