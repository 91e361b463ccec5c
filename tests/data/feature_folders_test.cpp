#include "merc/data/readers/feature_folders.h"

#include <gtest/gtest.h>

#include <cstring>

#include "imer_test_util.h"

namespace merc::data {
namespace {

using testing::expect_format_error;
using testing::imer_fixture;
using testing::row_of;

io::NdArray float_array(std::vector<int64_t> shape, const std::vector<float>& values) {
  io::NdArray a;
  a.dtype = io::DType::kFloat32;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());  // memcpy(null, null, 0) is UB
  return a;
}

TEST(FeatureFolders, SqueezeKeepsVectorsAndAveragesTime) {
  // (1, 3, 1) squeezes to [3]
  EXPECT_EQ(squeeze_to_vector(float_array({1, 3, 1}, {1, 2, 3}), "f"), (std::vector<float>{1, 2, 3}));
  // (2, 3): time mean of [1, 2, 3] and [3, 6, 9]
  EXPECT_EQ(squeeze_to_vector(float_array({2, 3}, {1, 2, 3, 3, 6, 9}), "f"), (std::vector<float>{2, 4, 6}));
  // (1, 1) is a 1-d feature, not a 0-d scalar
  EXPECT_EQ(squeeze_to_vector(float_array({1, 1}, {7}), "f"), (std::vector<float>{7}));
  expect_format_error([] { squeeze_to_vector(float_array({2, 2, 2}, std::vector<float>(8, 0.0f)), "x.npy"); },
                      {"x.npy", "[D] or [T, D]", "(2, 2, 2)"});
  expect_format_error([] { squeeze_to_vector(float_array({0, 4}, {}), "e.npy"); }, {"e.npy", "empty"});
}

Dataset one_dialogue(std::vector<std::pair<std::string, std::string>> uid_speaker) {
  Dataset ds;
  ds.info.class_names = {"a"};
  ds.info.num_speakers = 2;
  Dialogue d;
  d.id = "d";
  for (auto& [uid, spk] : uid_speaker) {
    Utterance u;
    u.id = uid;
    u.speaker_name = spk;
    u.speaker = spk == "M" ? 1 : 0;
    d.utterances.push_back(u);
  }
  ds.dialogues.push_back(d);
  return ds;
}

TEST(FeatureFolders, FacesBySpeakerOrAllFaces) {
  const std::map<Modality, std::filesystem::path> video = {{Modality::kVisual, imer_fixture("features/iemocap/video")}};
  // Speaker F: faces F_0001 [1,2], F_0002 [3,4] -> [2,3]; with all faces also M_0001 [100,100].
  Dataset by_speaker = one_dialogue({{"Ses01F_impro01_F000", "F"}});
  load_feature_folders(by_speaker, video, FeatureFolderOptions{true});
  EXPECT_EQ(row_of(by_speaker.dialogues[0], Modality::kVisual, 0), (std::vector<float>{2.0f, 3.0f}));
  Dataset all = one_dialogue({{"Ses01F_impro01_F000", "F"}});
  load_feature_folders(all, video, FeatureFolderOptions{false});
  EXPECT_EQ(row_of(all.dialogues[0], Modality::kVisual, 0), (std::vector<float>{104.0f / 3.0f, 106.0f / 3.0f}));
  EXPECT_EQ(all.info.modality_dims[2], 2);
  EXPECT_EQ(all.info.modality_sources[2], "video");
}

TEST(FeatureFolders, NoFaceAnywhereAndUnsafeIdsAreErrors) {
  const std::map<Modality, std::filesystem::path> video = {{Modality::kVisual, imer_fixture("features/iemocap/video")}};
  // Its only face folder is empty: no dimension can be known.
  Dataset empty = one_dialogue({{"Ses01M_script01_1_F000", "F"}});
  expect_format_error([&] { load_feature_folders(empty, video); }, {"no visual feature was found"});
  Dataset escape = one_dialogue({{"../video/Ses05F_impro02_M000", "M"}});
  expect_format_error([&] { load_feature_folders(escape, video); }, {"cannot name a feature file"});
  Dataset both = one_dialogue({{"x", "F"}});
  expect_format_error([&] { load_feature_folders(both, video); }, {"no features for utterance 'x'", "x.npy"});
}

}  // namespace
}  // namespace merc::data
