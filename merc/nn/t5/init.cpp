#include "merc/nn/t5/init.h"

#include <cmath>

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/nn/t5/attention.h"
#include "merc/nn/t5/feed_forward.h"
#include "merc/nn/t5/relative_position_bias.h"
#include "merc/nn/t5/rms_norm.h"

namespace merc::nn::t5 {

namespace init_detail {

void normal(const torch::nn::Linear& layer, double std) {
  if (layer) layer->weight.normal_(0.0, std);
}

double inv_sqrt(int64_t n) { return 1.0 / std::sqrt(static_cast<double>(n)); }

void init_attention(AttentionImpl& a, double factor) {
  const AttentionOptions& o = a.options;
  normal(a.q, factor * inv_sqrt(o.d_model * o.d_kv));
  normal(a.k, factor * inv_sqrt(o.d_model));
  normal(a.v, factor * inv_sqrt(o.d_model));
  normal(a.o, factor * inv_sqrt(o.num_heads * o.d_kv));
  if (a.relative_attention_bias) a.relative_attention_bias->embedding->weight.normal_(0.0, factor * inv_sqrt(o.d_model));
}

void init_feed_forward(DenseActDenseImpl& f, double factor) {
  const FeedForwardOptions& o = f.options;
  for (const torch::nn::Linear& in : {f.wi, f.wi_0, f.wi_1}) normal(in, factor * inv_sqrt(o.d_model));
  normal(f.wo, factor * inv_sqrt(o.d_ff));
}

// A new (rows, d) table: the first min(rows, old rows) rows of `old`, the rest ~ N(0, factor).
torch::Tensor resized(const torch::Tensor& old, int64_t rows, double factor) {
  torch::Tensor t = torch::empty({rows, old.size(1)}, old.options());
  t.normal_(0.0, factor);
  const int64_t keep = std::min(rows, old.size(0));
  t.slice(0, 0, keep).copy_(old.slice(0, 0, keep));
  return t;
}

}  // namespace init_detail

void init_t5_weights(torch::nn::Module& root, double factor) {
  using namespace init_detail;
  torch::NoGradGuard no_grad;
  root.apply([factor](torch::nn::Module& m) {
    if (auto* a = dynamic_cast<AttentionImpl*>(&m)) {
      init_attention(*a, factor);
    } else if (auto* f = dynamic_cast<DenseActDenseImpl*>(&m)) {
      init_feed_forward(*f, factor);
    } else if (auto* n = dynamic_cast<RmsNormImpl*>(&m)) {
      n->weight.fill_(factor);
    } else if (auto* t = dynamic_cast<T5ModelImpl*>(&m)) {
      t->shared->weight.normal_(0.0, factor);
      if (t->lm_head) t->lm_head->weight.normal_(0.0, factor);
    }
  });
}

void resize_token_embeddings(T5ModelImpl& model, int64_t new_vocab, double factor) {
  using namespace init_detail;
  MERC_CHECK(new_vocab >= 1, "resize_token_embeddings: the new vocabulary must have at least 1 id, got {}", new_vocab);
  torch::NoGradGuard no_grad;
  const torch::Tensor table = resized(model.shared->weight, new_vocab, factor);
  model.shared = model.replace_module("shared", torch::nn::Embedding(torch::nn::EmbeddingOptions(new_vocab, table.size(1))));
  model.shared->weight.set_data(table);
  if (model.lm_head) {
    const torch::Tensor head = resized(model.lm_head->weight, new_vocab, factor);
    model.lm_head = model.replace_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(head.size(1), new_vocab).bias(false)));
    model.lm_head->weight.set_data(head);
  }
  model.options.config.vocab_size = new_vocab;
}

}  // namespace merc::nn::t5
