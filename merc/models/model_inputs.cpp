#include "merc/models/model_inputs.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/core/error.h"

namespace merc::models {

namespace {
std::string inputs_shape_text(const torch::Tensor& t) {
  return t.defined() ? fmt::format("({})", fmt::join(t.sizes(), ", ")) : std::string("undefined");
}

void inputs_expect_shape(const torch::Tensor& t, std::vector<int64_t> shape, const char* model, const char* what) {
  MERC_CHECK(t.defined() && t.sizes().vec() == shape, "{}: expected batch.{} of shape ({}), got {}", model, what,
             fmt::join(shape, ", "), inputs_shape_text(t));
}
}  // namespace

void check_dims(const ModelDims& dims, const char* model) {
  MERC_CHECK(dims.num_used() > 0, "{}: the model reads no modality ({})", model, dims.describe());
  for (data::Modality m : data::kAllModalities)
    MERC_CHECK(!dims.use[data::index_of(m)] || dims.input_dims[data::index_of(m)] > 0,
               "{}: modality {} is used but has input dim {}", model, data::modality_name(m),
               dims.input_dims[data::index_of(m)]);
  MERC_CHECK(dims.task == data::Task::kRegression || dims.num_classes >= 2,
             "{}: classification needs at least 2 classes, got {}", model, dims.num_classes);
  MERC_CHECK(dims.num_speakers >= 1, "{}: expected at least 1 speaker slot, got {}", model, dims.num_speakers);
}

data::DialogueBatch checked_batch(const data::DialogueBatch& batch, const ModelDims& dims, const char* model) {
  data::DialogueBatch b = batch.layout == data::BatchLayout::kBatchMajor ? batch : batch.batch_major();
  MERC_CHECK(b.utterance_mask.defined() && b.utterance_mask.dim() == 2,
             "{}: expected batch.utterance_mask of shape (B, T), got {}", model, inputs_shape_text(b.utterance_mask));
  const int64_t B = b.utterance_mask.size(0), T = b.utterance_mask.size(1);
  inputs_expect_shape(b.modality_mask, {B, T, data::kNumModalities}, model, "modality_mask");
  inputs_expect_shape(b.speaker, {B, T}, model, "speaker");
  inputs_expect_shape(b.lengths, {B}, model, "lengths");
  for (data::Modality m : data::kAllModalities) {
    const int i = data::index_of(m);
    if (!dims.use[i]) continue;
    MERC_CHECK(b.features[i].defined(), "{}: the model reads {} features but the batch has none", model,
               data::modality_name(m));
    MERC_CHECK(b.features[i].dim() == 3 && b.features[i].size(0) == B && b.features[i].size(1) == T &&
                   b.features[i].size(2) == dims.input_dims[i],
               "{}: expected {} features of shape ({}, {}, {}), got {}", model, data::modality_name(m), B, T,
               dims.input_dims[i], inputs_shape_text(b.features[i]));
  }
  return b;
}

torch::Tensor masked_modality(const data::DialogueBatch& batch, data::Modality m) {
  const int i = data::index_of(m);
  return batch.features[i] * batch.modality_mask.select(2, i).unsqueeze(-1).to(batch.features[i].dtype());
}

torch::Tensor fused_input(const data::DialogueBatch& batch, const ModelDims& dims) {
  std::vector<torch::Tensor> parts;
  for (data::Modality m : data::kAllModalities)
    if (dims.use[data::index_of(m)]) parts.push_back(masked_modality(batch, m));
  return torch::cat(parts, 2);
}

torch::Tensor zero_padding(const torch::Tensor& y, const torch::Tensor& utterance_mask) {
  // masked_fill, not a product: a NaN or inf computed at padding must not survive as NaN * 0.
  auto padding = utterance_mask.logical_not();
  while (padding.dim() < y.dim()) padding = padding.unsqueeze(-1);
  return y.masked_fill(padding, 0);
}

int64_t fused_dim(const ModelDims& dims) {
  int64_t d = 0;
  for (data::Modality m : data::kAllModalities)
    if (dims.use[data::index_of(m)]) d += dims.input_dims[data::index_of(m)];
  return d;
}

}  // namespace merc::models
