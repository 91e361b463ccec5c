#pragma once
// Small hand-built dataset and helpers shared by the model tests.

#include <cmath>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "merc/data/batch.h"
#include "merc/data/dataset.h"
#include "merc/data/missing_protocol.h"
#include "merc/models/model.h"

namespace merc::models::testing {

// Four dialogues of lengths 4, 2, 5, 1 with text (dim 3), audio (dim 2) and visual (dim 4)
// features (smooth pseudo-random values in [-1, 1]), 3 classes, a score per utterance, speakers
// alternating 0/1 except dialogue 2 which has speakers 0, 0, 1, 0, 1. Dialogue 1 utterance 0 has
// visual marked not observed (its stored values are non-zero: collate must mask them).
inline data::Dataset sweep_dataset() {
  data::Dataset ds;
  ds.info.name = "sweep";
  ds.info.source_format = "test";
  ds.info.class_names = {"neg", "neu", "pos"};
  ds.info.num_speakers = 2;
  ds.info.modality_dims = {3, 2, 4};
  const int64_t lengths[] = {4, 2, 5, 1};
  const int64_t speakers2[] = {0, 0, 1, 0, 1};
  for (int64_t d = 0; d < 4; ++d) {
    data::Dialogue dlg;
    dlg.id = "s" + std::to_string(d);
    const int64_t L = lengths[d];
    for (int m = 0; m < data::kNumModalities; ++m) dlg.features[m] = data::FeatureMatrix(L, ds.info.modality_dims[m]);
    for (int64_t u = 0; u < L; ++u) {
      data::Utterance utt;
      utt.id = dlg.id + "_" + std::to_string(u);
      utt.speaker = d == 2 ? speakers2[u] : u % 2;
      utt.label = (d + 2 * u) % 3;
      utt.score = static_cast<float>(std::sin(1.0 + d + 0.7 * u));
      dlg.utterances.push_back(utt);
      for (int m = 0; m < data::kNumModalities; ++m)
        for (int64_t j = 0; j < ds.info.modality_dims[m]; ++j)
          dlg.features[m].row(u)[j] = static_cast<float>(std::sin(0.3 + 1.7 * d + 1.3 * u + 0.9 * j + 2.1 * m));
    }
    if (d == 1) {
      dlg.present.assign(static_cast<size_t>(L * data::kNumModalities), 1);
      dlg.present[0 * data::kNumModalities + 2] = 0;
    }
    ds.dialogues.push_back(std::move(dlg));
  }
  return ds;
}

inline data::DialogueBatch collate_indices(const data::Dataset& ds, const std::vector<int>& indices) {
  std::vector<const data::Dialogue*> ptrs;
  for (int i : indices) ptrs.push_back(&ds.dialogues[static_cast<size_t>(i)]);
  return data::collate(ptrs, ds.info);
}

// Task loss on the real, labelled utterances: cross-entropy (classification) or MSE on the score.
inline torch::Tensor task_loss(const torch::Tensor& logits, const data::DialogueBatch& b, data::Task task) {
  if (task == data::Task::kRegression) {
    const auto mask = b.utterance_mask & torch::isfinite(b.score);
    return (logits.squeeze(-1) - torch::nan_to_num(b.score)).pow(2).masked_select(mask).mean();
  }
  const auto C = logits.size(-1);
  return torch::nn::functional::cross_entropy(logits.reshape({-1, C}), b.label.reshape({-1}),
                                              torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1));
}

// Dialogues 0-3 of sweep_dataset() with protocol-removed entries (apply_missing): single missing
// modalities, one utterance with two missing (dialogue 2, utterance 3), and dialogue 1 utterance 0
// whose visual the DATA lacks. `dbl`: features (and their unmasked copies) in float64.
inline data::DialogueBatch protocol_batch(const data::Dataset& ds, bool dbl) {
  data::DialogueBatch b = collate_indices(ds, {0, 1, 2, 3});
  torch::Tensor keep = torch::ones_like(b.modality_mask);
  auto drop = [&](int64_t d, int64_t t, data::Modality m) { keep[d][t][static_cast<int64_t>(m)] = false; };
  drop(0, 1, data::Modality::kAudio);
  drop(0, 2, data::Modality::kText);
  drop(2, 0, data::Modality::kVisual);
  drop(2, 3, data::Modality::kAudio);
  drop(2, 3, data::Modality::kVisual);
  drop(3, 0, data::Modality::kText);
  data::apply_missing(b, keep);
  if (dbl)
    for (int m = 0; m < data::kNumModalities; ++m) {
      b.features[m] = b.features[m].to(torch::kFloat64);
      b.unmasked_features[m] = b.unmasked_features[m].to(torch::kFloat64);
    }
  return b;
}

}  // namespace merc::models::testing
