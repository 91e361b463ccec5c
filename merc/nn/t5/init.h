#pragma once
// Weights of a T5 trained from scratch, as Hugging Face's T5PreTrainedModel._init_weights
// (transformers modeling_t5.py), with factor = config.json initializer_factor (default 1):
//   shared (and an untied lm_head)       ~ N(0, factor)
//   attention q                           ~ N(0, factor * (d_model * d_kv)^-1/2)
//   attention k, v                        ~ N(0, factor * d_model^-1/2)
//   attention o                           ~ N(0, factor * (heads * d_kv)^-1/2)
//   relative_attention_bias               ~ N(0, factor * d_model^-1/2)
//   feed-forward wi / wi_0 / wi_1         ~ N(0, factor * d_model^-1/2)
//   feed-forward wo                       ~ N(0, factor * d_ff^-1/2)
//   RMS norm weights                      = factor
// Sizes come from each module's own options, so the rule applies to any module tree that holds
// merc::nn::t5 pieces (a T5Model, HRG-SSA's node-encoder stacks, one extra cross-attention).
// Also resize_token_embeddings, as Hugging Face's (the HRG-SSA release resizes t5-base's 32128-row
// table to its tokenizer's 32110 ids after adding its special tokens).

#include <cstdint>

#include <torch/nn/module.h>

#include "merc/nn/t5/model.h"

namespace merc::nn::t5 {

// Re-initialises, in place, every T5 attention, feed-forward, RMS norm, relative position bias and
// T5Model embedding/head found in `root` (root included). Uses the global torch generator.
void init_t5_weights(torch::nn::Module& root, double factor = 1.0);

// Resizes the shared embedding (and an untied lm_head) to `new_vocab` rows: the first
// min(old, new) rows are kept exactly, new rows ~ N(0, factor); config.vocab_size follows.
// new_vocab < 1 -> merc::Error.
void resize_token_embeddings(T5ModelImpl& model, int64_t new_vocab, double factor = 1.0);

}  // namespace merc::nn::t5
