#include "merc/data/readers/feature_folders.h"

#include <gtest/gtest.h>

#include <cstring>

#include "imer_test_util.h"
#include "semantic_test_util.h"

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

TEST(SemanticFolder, ReadsOneVectorPerUtteranceIdAndAveragesTime) {
  using namespace semantic_testing;
  ScratchDir scratch("semantic_folder");
  const std::filesystem::path dir = scratch.path() / "minilm-keywords";
  std::filesystem::create_directories(dir);
  write_vector_file(dir, "u0", {3}, {1, 2, 3});
  write_vector_file(dir, "u1", {2, 3}, {1, 2, 3, 3, 6, 9});  // [T, K]: time mean [2, 4, 6]
  write_vector_file(dir, "u2", {1, 3}, {7, 8, 9});           // squeezes to [3]
  write_vector_file(dir, "not_in_dataset", {5}, {0, 0, 0, 0, 0});  // other files are ignored
  Dataset ds = one_dialogue({{"u0", "F"}, {"u1", "M"}, {"u2", "F"}});
  load_semantic_folder(ds, dir.string() + "/");  // trailing slash: the source is still the folder name
  EXPECT_EQ(ds.info.semantic_dim, 3);
  EXPECT_EQ(ds.info.semantic_source, "minilm-keywords");
  const FeatureMatrix& s = ds.dialogues[0].semantic;
  ASSERT_EQ(s.rows, 3);
  ASSERT_EQ(s.cols, 3);
  EXPECT_EQ(s.values, (std::vector<float>{1, 2, 3, 2, 4, 6, 7, 8, 9}));
  // Not a modality: no feature dims and no presence mask appear.
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, kNumModalities>{0, 0, 0}));
  EXPECT_TRUE(ds.dialogues[0].present.empty());
  EXPECT_NO_THROW(ds.validate("semantic"));
}

TEST(SemanticFolder, MissingFileDifferentDimAndFaceDirectoryNameTheFile) {
  using namespace semantic_testing;
  ScratchDir scratch("semantic_errors");
  const std::filesystem::path dir = scratch.path();
  write_vector_file(dir, "u0", {3}, {1, 2, 3});
  Dataset ds = one_dialogue({{"u0", "F"}, {"u1", "M"}});
  expect_format_error([&] { load_semantic_folder(ds, dir); },
                      {"no semantic vector for utterance 'u1'", (dir / "u1.npy").string()});
  // A face directory is a modality layout, not a semantic vector.
  std::filesystem::create_directories(dir / "u1");
  write_vector_file(dir / "u1", "F_0001", {3}, {1, 2, 3});
  expect_format_error([&] { load_semantic_folder(ds, dir); },
                      {"no semantic vector for utterance 'u1'", (dir / "u1.npy").string()});
  write_vector_file(dir, "u1", {2, 4}, std::vector<float>(8, 1.0f));
  expect_format_error([&] { load_semantic_folder(ds, dir); },
                      {(dir / "u1.npy").string(), "semantic vector of utterance 'u1' has dim 4",
                       (dir / "u0.npy").string() + " has dim 3"});
  // A failed load leaves the dataset as it was.
  EXPECT_EQ(ds.info.semantic_dim, 0);
  EXPECT_TRUE(ds.dialogues[0].semantic.empty());
  expect_format_error([&] { load_semantic_folder(ds, dir / "nope"); },
                      {(dir / "nope").string(), "semantic vector folder does not exist"});
}

// MELD / DailyDialog tables number dialogues per split file: 'dia0_utt0' is in train and in dev.
TEST(SemanticFolder, RepeatedUtteranceIdsAreFiledByDialogueId) {
  using namespace semantic_testing;
  ScratchDir scratch("semantic_by_dialogue");
  const std::filesystem::path dir = scratch.path();
  Dataset ds = one_dialogue({{"dia0_utt0", "F"}});
  ds.dialogues[0].id = "train/dia0";
  ds.dialogues.push_back(ds.dialogues[0]);
  ds.dialogues[1].id = "dev/dia0";
  std::filesystem::create_directories(dir / "train" / "dia0");
  write_vector_file(dir / "train" / "dia0", "dia0_utt0", {2}, {1, 2});
  write_vector_file(dir, "dia0_utt0", {2}, {9, 9});  // the flat name is not used: it is ambiguous
  expect_format_error([&] { load_semantic_folder(ds, dir); },
                      {"no semantic vector for utterance 'dia0_utt0'",
                       (dir / "dev" / "dia0" / "dia0_utt0.npy").string(),
                       "utterance ids repeat in this dataset, so each file is <dialogue id>/<uid>.npy"});
  std::filesystem::create_directories(dir / "dev" / "dia0");
  write_vector_file(dir / "dev" / "dia0", "dia0_utt0", {2}, {3, 4});
  load_semantic_folder(ds, dir);
  EXPECT_EQ(ds.dialogues[0].semantic.values, (std::vector<float>{1, 2}));
  EXPECT_EQ(ds.dialogues[1].semantic.values, (std::vector<float>{3, 4}));

  ds.dialogues[1].id = "../dia0";  // a dialogue id never names a path outside the folder
  expect_format_error([&] { load_semantic_folder(ds, dir); }, {"dialogue id '../dia0' cannot name a sub-folder"});
}

}  // namespace
}  // namespace merc::data
