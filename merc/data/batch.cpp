#include "merc/data/batch.h"

#include <algorithm>
#include <cstring>

#include "merc/core/error.h"

namespace merc::data {

int64_t DialogueBatch::max_length() const {
  if (!utterance_mask.defined()) return 0;
  return layout == BatchLayout::kBatchMajor ? utterance_mask.size(1) : utterance_mask.size(0);
}

namespace {
torch::Tensor swap01(const torch::Tensor& t) { return t.defined() ? t.transpose(0, 1).contiguous() : t; }

DialogueBatch swapped(const DialogueBatch& b, BatchLayout target) {
  if (b.layout == target) return b;
  DialogueBatch out = b;
  out.layout = target;
  for (auto& f : out.features) f = swap01(f);
  out.speaker = swap01(b.speaker);
  out.utterance_mask = swap01(b.utterance_mask);
  out.modality_mask = swap01(b.modality_mask);
  for (auto& f : out.unmasked_features) f = swap01(f);
  for (auto* group : {&out.sequence, &out.sequence_mask, &out.unmasked_sequence, &out.unmasked_sequence_mask})
    for (auto& s : *group) s = swap01(s);
  out.unmasked_modality_mask = swap01(b.unmasked_modality_mask);
  out.protocol_keep = swap01(b.protocol_keep);
  out.label = swap01(b.label);
  out.score = swap01(b.score);
  out.semantic = swap01(b.semantic);
  return out;
}

torch::Tensor move(const torch::Tensor& t, const torch::Device& d) { return t.defined() ? t.to(d) : t; }

// Copies a dialogue's L rows into row b of the contiguous (B, T, D) tensor `dst`.
// `what` names the rows in errors ("text" features, "semantic" vectors).
void copy_rows(torch::Tensor& dst, int64_t b, int64_t L, const FeatureMatrix& src, const std::string& dialogue,
               const char* what, const char* noun) {
  const int64_t T = dst.size(1), D = dst.size(2);
  MERC_CHECK(src.rows == L && src.cols == D && static_cast<int64_t>(src.values.size()) == L * D,
             "collate: dialogue '{}' {} {} are {}x{}, expected {}x{}", dialogue, what, noun, src.rows, src.cols, L, D);
  // Row b starts at b*T*D; the dialogue's rows are contiguous.
  std::memcpy(dst.data_ptr<float>() + b * T * D, src.values.data(), src.values.size() * sizeof(float));
}
}  // namespace

// Named (not anonymous): the library is a unity build.
namespace batch_detail {

// The longest sequence of modality m over the batch's utterances, at least 1 (see
// DialogueBatch::sequence); checks first that every dialogue carries sequences of the right shape.
int64_t longest_sequence(const std::vector<const Dialogue*>& dialogues, Modality m, int64_t dim) {
  int64_t longest = 1;
  for (const Dialogue* d : dialogues) {
    const SequenceFeatures& s = d->sequences[static_cast<size_t>(index_of(m))];
    MERC_CHECK(!s.empty() && s.dim == dim && s.num_utterances() == d->length() &&
                   static_cast<int64_t>(s.values.size()) == s.total_steps() * dim,
               "collate: dialogue '{}' {} sequences hold {} utterances of dim {}, expected {} of dim {} (the dataset "
               "declares sequences)", d->id, modality_name(m), s.num_utterances(), s.dim, d->length(), dim);
    for (int64_t u = 0; u < d->length(); ++u) longest = std::max(longest, s.length(u));
  }
  return longest;
}

// Copies dialogue `d`'s sequences of modality m into row b of the contiguous (B, T, L, D) `seq`
// and (B, T, L) `mask` (both zero-initialised), skipping utterances where m is not observed.
void copy_sequences(torch::Tensor& seq, torch::Tensor& mask, int64_t b, const Dialogue& d, Modality m) {
  const SequenceFeatures& s = d.sequences[static_cast<size_t>(index_of(m))];
  const int64_t T = seq.size(1), L = seq.size(2), D = seq.size(3);
  float* dst = seq.data_ptr<float>();
  bool* real = mask.data_ptr<bool>();
  for (int64_t t = 0; t < d.length(); ++t) {
    const int64_t len = s.length(t);
    if (len == 0 || !d.is_present(t, m)) continue;
    const int64_t cell = (b * T + t) * L;  // first step of utterance slot (b, t)
    std::memcpy(dst + cell * D, s.step(t, 0), static_cast<size_t>(len * D) * sizeof(float));
    std::fill(real + cell, real + cell + len, true);
  }
}

// Fills batch.sequence / sequence_mask for every modality the dataset has.
void collate_sequences(DialogueBatch& batch, const std::vector<const Dialogue*>& dialogues, const DatasetInfo& info) {
  const int64_t B = static_cast<int64_t>(dialogues.size()), T = batch.utterance_mask.size(1);
  for (Modality m : kAllModalities) {
    const auto k = static_cast<size_t>(index_of(m));
    const int64_t dim = info.modality_dims[k];
    if (dim == 0) continue;
    const int64_t L = longest_sequence(dialogues, m, dim);
    batch.sequence[k] = torch::zeros({B, T, L, dim}, torch::kFloat32);
    batch.sequence_mask[k] = torch::zeros({B, T, L}, torch::kBool);
    for (int64_t b = 0; b < B; ++b)
      copy_sequences(batch.sequence[k], batch.sequence_mask[k], b, *dialogues[static_cast<size_t>(b)], m);
  }
}

}  // namespace batch_detail

DialogueBatch DialogueBatch::time_major() const { return swapped(*this, BatchLayout::kTimeMajor); }
DialogueBatch DialogueBatch::batch_major() const { return swapped(*this, BatchLayout::kBatchMajor); }

DialogueBatch DialogueBatch::to(const torch::Device& device) const {
  DialogueBatch out = *this;
  for (auto& f : out.features) f = move(f, device);
  out.speaker = move(speaker, device);
  out.utterance_mask = move(utterance_mask, device);
  out.modality_mask = move(modality_mask, device);
  for (auto& f : out.unmasked_features) f = move(f, device);
  for (auto* group : {&out.sequence, &out.sequence_mask, &out.unmasked_sequence, &out.unmasked_sequence_mask})
    for (auto& s : *group) s = move(s, device);
  out.unmasked_modality_mask = move(unmasked_modality_mask, device);
  out.protocol_keep = move(protocol_keep, device);
  out.label = move(label, device);
  out.score = move(score, device);
  out.lengths = move(lengths, device);
  out.semantic = move(semantic, device);
  return out;
}

DialogueBatch collate(const std::vector<const Dialogue*>& dialogues, const DatasetInfo& info) {
  MERC_CHECK(!dialogues.empty(), "collate: expected at least one dialogue, got none");
  const int64_t B = static_cast<int64_t>(dialogues.size());
  int64_t T = 0;
  for (const Dialogue* d : dialogues) T = std::max(T, d->length());
  MERC_CHECK(T > 0, "collate: every dialogue in the batch is empty");

  DialogueBatch batch;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  const auto b8 = torch::TensorOptions().dtype(torch::kBool);
  batch.speaker = torch::zeros({B, T}, i64);
  batch.utterance_mask = torch::zeros({B, T}, b8);
  batch.modality_mask = torch::zeros({B, T, kNumModalities}, b8);
  batch.label = torch::full({B, T}, -1, i64);
  batch.score = torch::zeros({B, T}, f32);
  batch.lengths = torch::zeros({B}, i64);
  for (int m = 0; m < kNumModalities; ++m) {
    const int64_t dim = info.modality_dims[static_cast<size_t>(m)];
    if (dim > 0) batch.features[static_cast<size_t>(m)] = torch::zeros({B, T, dim}, f32);
  }
  if (info.semantic_dim > 0) batch.semantic = torch::zeros({B, T, info.semantic_dim}, f32);

  auto spk = batch.speaker.accessor<int64_t, 2>();
  auto umask = batch.utterance_mask.accessor<bool, 2>();
  auto mmask = batch.modality_mask.accessor<bool, 3>();
  auto lab = batch.label.accessor<int64_t, 2>();
  auto sc = batch.score.accessor<float, 2>();
  auto len = batch.lengths.accessor<int64_t, 1>();
  for (int64_t b = 0; b < B; ++b) {
    const Dialogue& d = *dialogues[static_cast<size_t>(b)];
    const int64_t L = d.length();
    batch.dialogue_id.push_back(d.id);
    batch.transcript.emplace_back();
    batch.speaker_name.emplace_back();
    for (const Utterance& u : d.utterances) {
      batch.transcript.back().push_back(u.transcript);
      batch.speaker_name.back().push_back(u.speaker_name);
    }
    len[b] = L;
    for (int64_t t = 0; t < L; ++t) {
      const Utterance& u = d.utterances[static_cast<size_t>(t)];
      spk[b][t] = u.speaker;
      umask[b][t] = true;
      lab[b][t] = u.label;
      sc[b][t] = u.score;
      for (int m = 0; m < kNumModalities; ++m)
        mmask[b][t][m] = info.modality_dims[static_cast<size_t>(m)] > 0 && d.is_present(t, static_cast<Modality>(m));
    }
    for (int m = 0; m < kNumModalities; ++m) {
      torch::Tensor& f = batch.features[static_cast<size_t>(m)];
      if (!f.defined() || L == 0) continue;
      copy_rows(f, b, L, d.features[static_cast<size_t>(m)], d.id, modality_name(static_cast<Modality>(m)), "features");
      // Missing modalities are zero in the model input, whatever the source file held.
      if (!d.present.empty()) {
        for (int64_t t = 0; t < L; ++t)
          if (!d.is_present(t, static_cast<Modality>(m))) f[b][t].zero_();
      }
    }
    if (batch.semantic.defined() && L > 0) copy_rows(batch.semantic, b, L, d.semantic, d.id, "semantic", "vectors");
  }
  if (info.has_sequences) batch_detail::collate_sequences(batch, dialogues, info);
  return batch;
}

torch::Tensor target_mask(const DialogueBatch& batch, Task task) {
  const torch::Tensor real = batch.utterance_mask.reshape({-1});
  if (task == Task::kClassification) return real & (batch.label.reshape({-1}) >= 0);
  return real & ~torch::isnan(batch.score.reshape({-1}));
}

torch::Tensor flatten_utterances(const torch::Tensor& x) {
  if (!x.defined()) return x;
  MERC_CHECK(x.dim() >= 2, "flatten_utterances: expected a (B, T, ...) tensor, got {} dimension(s)", x.dim());
  return x.flatten(0, 1);
}

}  // namespace merc::data
