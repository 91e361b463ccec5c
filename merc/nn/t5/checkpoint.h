#pragma once
// Hugging Face T5 checkpoint folders <-> merc's T5Model.
//
// A folder holds config.json and model.safetensors (preferred) or pytorch_model.bin (read with merc's
// safe torch.save reader: nothing is executed). Names are Hugging Face's except the bias table:
//   merc  ...SelfAttention.relative_attention_bias.embedding.weight
//   HF    ...SelfAttention.relative_attention_bias.weight
// Hugging Face state_dicts also hold the tied copies encoder.embed_tokens.weight and
// decoder.embed_tokens.weight (= shared.weight) and, in tied models, lm_head.weight (= shared.weight):
// accepted and not used (Hugging Face ties them to shared too). An untied model needs lm_head.weight.
// Loading is strict: every missing and every unexpected key in one merc::FormatError (sorted), a
// shape mismatch names the key and both shapes; float16, bfloat16, float32 and float64 tensors are
// converted to the model's dtype, other dtypes are an error naming the key.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "merc/nn/t5/model.h"

namespace merc::nn::t5 {

// merc parameter name <-> Hugging Face key (only the bias table differs).
std::string hf_parameter_name(const std::string& merc_name);
std::string merc_parameter_name(const std::string& hf_name);

struct HfTensor {
  std::string name;      // Hugging Face key
  torch::Tensor value;   // CPU, the file's dtype
};

struct HfStateDict {
  std::string source;            // the file read (for messages)
  std::vector<HfTensor> tensors;  // file order
};

// HRG-SSA's extra cross-attentions, absent from t5-base: pass in T5LoadOptions::keep_initial.
inline constexpr const char* kExtraCrossAttentionPattern = R"(^decoder\.block\.[0-9]+\.layer\.3\.)";

struct T5LoadOptions {
  // ECMAScript regexes searched in merc parameter names: matching parameters may be absent from the
  // checkpoint; they keep their initial values and are listed in T5LoadReport::left_at_init. Present
  // ones are loaded.
  std::vector<std::string> keep_initial;
  // load_t5_pretrained only: the model to build (T5ModelOptions::extra_cross_attention_from).
  int64_t extra_cross_attention_from = -1;
};

struct T5LoadReport {
  std::string source;                     // the weights file
  int64_t loaded = 0;                     // merc parameters filled from it
  std::vector<std::string> left_at_init;  // merc names, sorted (T5LoadOptions::keep_initial)
  std::vector<std::string> tied_copies;   // Hugging Face keys accepted as copies of shared.weight, sorted
};

// One weights file: *.safetensors, anything else as a torch.save file.
HfStateDict read_hf_weights_file(const std::string& path);
// <dir>/model.safetensors, else <dir>/pytorch_model.bin; merc::FormatError naming the folder when
// it has neither (or only a sharded index, which merc does not read).
HfStateDict read_hf_state_dict(const std::string& dir);
// Copies `state` into `model` (any dtype/device; values converted).
T5LoadReport load_t5_state(T5ModelImpl& model, const HfStateDict& state, const T5LoadOptions& options = {});

struct LoadedT5 {
  T5Model model{nullptr};
  T5LoadReport report;
};
// config.json + weights -> a float32 CPU model in eval mode.
LoadedT5 load_t5_pretrained(const std::string& dir, const T5LoadOptions& options = {});

// The model's parameters under Hugging Face names (CPU float32): shared.weight, the stacks, and
// lm_head.weight when untied (tied copies left out, as save_pretrained does).
HfStateDict t5_hf_state_dict(T5ModelImpl& model);
// Writes <dir>/config.json and <dir>/model.safetensors (metadata format=pt, which Hugging Face's
// from_pretrained requires); creates `dir`. Loadable by load_t5_pretrained and by transformers.
void save_t5_pretrained(T5ModelImpl& model, const std::string& dir);

}  // namespace merc::nn::t5
