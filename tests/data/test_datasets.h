#pragma once
// Small hand-built datasets shared by the data-layer tests.

#include <vector>

#include "merc/data/dataset.h"

namespace merc::data::testing {

// Three dialogues of lengths 2, 3, 1 with text (dim 2) and audio (dim 3) features whose values
// encode their position: text[u][j] = 100*dialogue + 10*utt + j, audio likewise + 0.5.
// Dialogue "d1" utterance 1 has audio marked not observed. Classes {neg, pos}; split "given"
// train = {d0, d1}, test = {d2}.
inline Dataset tiny_dataset() {
  Dataset ds;
  ds.info.name = "tiny";
  ds.info.source_format = "test";
  ds.info.class_names = {"neg", "pos"};
  ds.info.num_speakers = 2;
  ds.info.modality_dims = {2, 3, 0};
  const int64_t lengths[] = {2, 3, 1};
  for (int64_t d = 0; d < 3; ++d) {
    Dialogue dlg;
    dlg.id = "d" + std::to_string(d);
    const int64_t L = lengths[d];
    dlg.features[0] = FeatureMatrix(L, 2);
    dlg.features[1] = FeatureMatrix(L, 3);
    for (int64_t u = 0; u < L; ++u) {
      Utterance utt;
      utt.id = dlg.id + "_u" + std::to_string(u);
      utt.speaker = u % 2;
      utt.speaker_name = u % 2 ? "B" : "A";
      utt.label = (d + u) % 2;
      utt.score = static_cast<float>(d) - static_cast<float>(u);
      utt.transcript = "utterance " + std::to_string(u);
      dlg.utterances.push_back(utt);
      for (int64_t j = 0; j < 2; ++j) dlg.features[0].row(u)[j] = static_cast<float>(100 * d + 10 * u + j);
      for (int64_t j = 0; j < 3; ++j) dlg.features[1].row(u)[j] = static_cast<float>(100 * d + 10 * u + j) + 0.5f;
    }
    if (d == 1) {
      dlg.present.assign(static_cast<size_t>(L * kNumModalities), 1);
      dlg.present[1 * kNumModalities + 1] = 0;  // utterance 1, audio
    }
    ds.dialogues.push_back(std::move(dlg));
  }
  ds.split_schemes.push_back({"given", {{"train", {0, 1}}, {"test", {2}}}});
  return ds;
}

// tiny_dataset with per-utterance sequences: dialogue d's utterance u has u + 1 text steps and
// (d + u) % 3 audio steps (so some are empty); step s of text holds 1000*d + 100*u + 10*s + j in
// column j, audio likewise + 0.5. (d1's utterance 1 keeps its audio steps in the dataset although
// the audio is marked not observed: collate must zero them.)
inline Dataset tiny_dataset_with_sequences() {
  Dataset ds = tiny_dataset();
  ds.info.has_sequences = true;
  for (int64_t d = 0; d < static_cast<int64_t>(ds.dialogues.size()); ++d) {
    Dialogue& dlg = ds.dialogues[static_cast<size_t>(d)];
    dlg.sequences[0] = SequenceFeatures(2);
    dlg.sequences[1] = SequenceFeatures(3);
    for (int64_t u = 0; u < dlg.length(); ++u) {
      const int64_t lengths[2] = {u + 1, (d + u) % 3};
      for (int m = 0; m < 2; ++m) {
        SequenceFeatures& s = dlg.sequences[static_cast<size_t>(m)];
        std::vector<float> rows;
        for (int64_t st = 0; st < lengths[m]; ++st)
          for (int64_t j = 0; j < s.dim; ++j)
            rows.push_back(static_cast<float>(1000 * d + 100 * u + 10 * st + j) + (m == 1 ? 0.5f : 0.0f));
        s.append(rows.data(), lengths[m]);
      }
    }
  }
  return ds;
}

}  // namespace merc::data::testing
