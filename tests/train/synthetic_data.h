#pragma once
// A small learnable dataset for trainer tests: 24 dialogues of 3..6 utterances, text (4-d) and
// audio (3-d) features, two speakers. The class is 1 when text[0] + audio[0] > 0 and the score is
// 2 * (text[0] + audio[0]) clipped to [-3, 3], so a linear model can learn both. Split "given":
// train 16 / valid 4 / test 4 dialogues; split "nodev": train 20 / test 4.

#include <algorithm>
#include <cmath>
#include <random>

#include "merc/data/dataset.h"

namespace merc::train::testing {

inline data::Dataset synthetic_dataset(uint32_t seed = 7, int64_t num_dialogues = 24) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  data::Dataset ds;
  ds.info.name = "synthetic";
  ds.info.source_format = "test";
  ds.info.task = data::Task::kClassification;
  ds.info.class_names = {"neg", "pos"};
  ds.info.num_speakers = 2;
  ds.info.modality_dims = {4, 3, 0};
  for (int64_t d = 0; d < num_dialogues; ++d) {
    data::Dialogue dlg;
    dlg.id = "dlg" + std::to_string(d);
    const int64_t len = 3 + d % 4;
    dlg.features[0] = data::FeatureMatrix(len, 4);
    dlg.features[1] = data::FeatureMatrix(len, 3);
    for (int64_t u = 0; u < len; ++u) {
      for (int64_t j = 0; j < 4; ++j) dlg.features[0].row(u)[j] = normal(rng);
      for (int64_t j = 0; j < 3; ++j) dlg.features[1].row(u)[j] = normal(rng);
      const float s = dlg.features[0].row(u)[0] + dlg.features[1].row(u)[0];
      data::Utterance utt;
      utt.id = dlg.id + "_" + std::to_string(u);
      utt.speaker = u % 2;
      utt.speaker_name = u % 2 ? "B" : "A";
      utt.label = s > 0 ? 1 : 0;
      utt.score = std::clamp(2.0f * s, -3.0f, 3.0f);
      dlg.utterances.push_back(utt);
    }
    ds.dialogues.push_back(std::move(dlg));
  }
  auto range = [](int64_t a, int64_t b) {
    std::vector<int64_t> v;
    for (int64_t i = a; i < b; ++i) v.push_back(i);
    return v;
  };
  const int64_t n = num_dialogues;
  const int64_t n_test = n / 6, n_valid = n / 6;
  ds.split_schemes.push_back(data::SplitScheme{
      "given",
      {{"train", range(0, n - n_test - n_valid)}, {"valid", range(n - n_test - n_valid, n - n_test)}, {"test", range(n - n_test, n)}}});
  ds.split_schemes.push_back(data::SplitScheme{"nodev", {{"train", range(0, n - n_test)}, {"test", range(n - n_test, n)}}});
  return ds;
}

}  // namespace merc::train::testing
