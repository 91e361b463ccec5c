#include "merc/nn/t5/model.h"

#include <cmath>
#include <ostream>

#include <torch/nn/functional/loss.h>

#include "merc/core/error.h"

namespace merc::nn::t5 {

torch::Tensor shift_right(const torch::Tensor& labels, int64_t decoder_start_token_id, int64_t pad_token_id) {
  MERC_CHECK(labels.dim() == 2 && labels.scalar_type() == torch::kLong, "t5 shift_right: labels must be (N, L) int64, got {} {}",
             labels.sizes(), c10::toString(labels.scalar_type()));
  torch::Tensor shifted = torch::full_like(labels, decoder_start_token_id);
  if (labels.size(1) > 1) shifted.narrow(1, 1, labels.size(1) - 1).copy_(labels.narrow(1, 0, labels.size(1) - 1));
  return shifted.masked_fill(shifted.eq(-100), pad_token_id);
}

T5ModelImpl::T5ModelImpl(const T5ModelOptions& o) : options(o) { reset(); }

void T5ModelImpl::reset() {
  const T5Config& c = options.config;
  shared = register_module("shared", torch::nn::Embedding(c.vocab_size, c.d_model));
  encoder = register_module("encoder", Stack(encoder_stack_options(c)));
  decoder = register_module("decoder", Stack(decoder_stack_options(c, options.extra_cross_attention_from)));
  if (!c.tie_word_embeddings)
    lm_head = register_module("lm_head",
                              torch::nn::Linear(torch::nn::LinearOptions(c.d_model, c.vocab_size).bias(false)));
}

void T5ModelImpl::pretty_print(std::ostream& stream) const {
  const T5Config& c = options.config;
  stream << "merc::nn::t5::T5Model(vocab=" << c.vocab_size << ", d_model=" << c.d_model << ", layers=" << c.num_layers
         << "+" << c.num_decoder_layers << ", " << c.feed_forward_proj << (c.tie_word_embeddings ? ", tied" : ", untied")
         << ")";
}

torch::Tensor T5ModelImpl::embed(const torch::Tensor& ids, const torch::Tensor& embeds, const char* what) {
  MERC_CHECK(ids.defined() != embeds.defined(), "T5Model::{}: give exactly one of input_ids and inputs_embeds", what);
  if (embeds.defined()) return embeds;
  MERC_CHECK(ids.dim() == 2 && ids.scalar_type() == torch::kLong, "T5Model::{}: input_ids must be (N, L) int64, got {} {}",
             what, ids.sizes(), c10::toString(ids.scalar_type()));
  return shared(ids);
}

torch::Tensor T5ModelImpl::encode(const EncodeInput& in) {
  StackInput s;
  s.embeddings = embed(in.input_ids, in.inputs_embeds, "encode");
  s.padding_mask = in.attention_mask;
  return encoder->forward(s).states;
}

DecodeOutput T5ModelImpl::decode(const DecodeInput& in) {
  MERC_CHECK(in.memory.defined(), "T5Model::decode: needs the encoder states (memory)");
  StackInput s;
  s.embeddings = embed(in.input_ids, in.inputs_embeds, "decode");
  s.padding_mask = in.attention_mask;
  s.memory = in.memory;
  s.memory_mask = in.memory_mask;
  s.past = in.past;
  s.extra_memory = in.extra_memory;
  s.extra_mask = in.extra_mask;
  StackOutput out = decoder->forward(s);
  return {out.states, std::move(out.cache)};
}

torch::Tensor T5ModelImpl::logits(const torch::Tensor& states) {
  MERC_CHECK(states.dim() >= 1 && states.size(-1) == options.config.d_model, "T5Model::logits: expected (..., {}), got {}",
             options.config.d_model, states.sizes());
  if (lm_head) return lm_head(states);
  // Tied: T5 rescales the states before the shared embedding (Mesh TensorFlow's convention).
  const double scale = 1.0 / std::sqrt(static_cast<double>(options.config.d_model));
  return torch::matmul(states * scale, shared->weight.t());
}

torch::Tensor T5ModelImpl::shift_right(const torch::Tensor& labels) const {
  return t5::shift_right(labels, options.config.decoder_start_token_id, options.config.pad_token_id);
}

Seq2SeqOutput T5ModelImpl::forward(const Seq2SeqInput& in) {
  MERC_CHECK(in.labels.defined() || in.decoder_input_ids.defined(),
             "T5Model::forward: give labels or decoder_input_ids");
  Seq2SeqOutput out;
  // 1. Encode the source.
  out.encoder_states = encode(in.encoder);
  // 2. Decode with teacher forcing: the labels shifted right.
  DecodeInput d;
  d.input_ids = in.decoder_input_ids.defined() ? in.decoder_input_ids : shift_right(in.labels);
  d.attention_mask = in.decoder_attention_mask;
  d.memory = out.encoder_states;
  d.memory_mask = in.encoder.attention_mask;
  d.extra_memory = in.extra_memory;
  d.extra_mask = in.extra_mask;
  // 3. Logits and the LM loss over the labels that count.
  out.logits = logits(decode(d).states);
  if (in.labels.defined()) {
    MERC_CHECK(in.labels.sizes() == out.logits.sizes().slice(0, 2), "T5Model::forward: labels {} for logits {}",
               in.labels.sizes(), out.logits.sizes());
    namespace F = torch::nn::functional;
    const auto acc = out.logits.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;  // half: float32
    out.loss = F::cross_entropy(out.logits.reshape({-1, out.logits.size(-1)}).to(acc), in.labels.reshape(-1),
                                F::CrossEntropyFuncOptions().ignore_index(in.ignore_index));
  }
  return out;
}

}  // namespace merc::nn::t5
