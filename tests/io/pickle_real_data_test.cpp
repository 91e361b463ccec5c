// The pickle reader on the real MOSI files of /work/shared/data (skipped when absent). Expected
// numbers were computed once with /usr/bin/python3 (numpy 1.24):
//   d = pickle.load(open(path, 'rb'), encoding='latin1')
// and the expressions quoted beside each constant.

#include <gtest/gtest.h>
#include "test_labels.h"

#include <cmath>
#include <filesystem>
#include <string>

#include "merc/io/pickle.h"

namespace merc::io {
namespace {

const std::string kMosiDir = std::string(MERC_SHARED_DATA_DIR) + "/mosi/";

// Sums over thousands of doubles in a different order than numpy's pairwise summation: allow a
// relative rounding difference far above 1 ulp-per-add but far below any real data change.
constexpr double kSumRelTol = 1e-9;

TEST(PickleRealDataTest, MosiLabelPickleProtocol4) {
  const std::string path = kMosiDir + "CMUMOSI_features_raw_2way.pkl";
  MERC_REQUIRE_PREREQUISITE(std::filesystem::exists(path), path);
  const PyRef root = load_pickle_file(path);
  ASSERT_EQ(root->type(), PyType::kList);
  ASSERT_EQ(root->size(), 7u);
  const auto& d = root->items();
  const PyValue& ids = *d[0];
  const PyValue& labels = *d[1];
  ASSERT_EQ(ids.size(), 93u);
  EXPECT_EQ(labels.size(), 93u);
  EXPECT_EQ(d[2]->size(), 93u);
  EXPECT_EQ(d[3]->size(), 93u);
  // len(d[4]), len(d[5]), len(d[6]) -> 52 10 31; utterances per split 1284 229 686.
  const size_t expect_sets[3] = {52, 10, 31};
  const size_t expect_utts[3] = {1284, 229, 686};
  for (int s = 0; s < 3; ++s) {
    const PyValue& set = *d[4 + s];
    EXPECT_EQ(set.type(), PyType::kSet);
    EXPECT_EQ(set.size(), expect_sets[s]);
    size_t utts = 0;
    for (const auto& vid : set.items()) utts += ids.get(*vid)->size();
    EXPECT_EQ(utts, expect_utts[s]);
  }
  // list(ids)[0] -> '03bSnISJMiM' with 13 utterances '03bSnISJMiM_1', ...; labels 2.4, -0.8.
  EXPECT_EQ(ids.dict_items()[0].first->as_str(), "03bSnISJMiM");
  const PyRef first = ids.get("03bSnISJMiM");
  ASSERT_EQ(first->size(), 13u);
  EXPECT_EQ(first->items()[0]->as_str(), "03bSnISJMiM_1");
  const PyRef lab = labels.get("03bSnISJMiM");
  EXPECT_EQ(lab->items()[0]->type(), PyType::kNumpyScalar);
  EXPECT_EQ(lab->items()[0]->as_float(), 2.4);  // the same double: the scalar's 8 raw bytes
  EXPECT_EQ(lab->items()[1]->as_float(), -0.8);
  EXPECT_EQ(d[2]->get("03bSnISJMiM")->items()[0]->as_str(), "");
  // Sentences are numpy arrays of dtype '<U...' (fixed-width text), decoded to object arrays of
  // str: d[3]['03bSnISJMiM'] has shape (13,), [0][:25] is:
  const NdArray& sentences = d[3]->get("03bSnISJMiM")->as_array();
  EXPECT_EQ(sentences.shape, (std::vector<int64_t>{13}));
  const std::string& sentence = sentences.objects.at(0)->as_str();
  EXPECT_EQ(sentence.substr(0, 25), "ANYHOW IT WAS REALLY GOOD");
  // sum(float(x) for v in labels for x in labels[v]) -> 154.5166666666596
  double sum = 0;
  for (const auto& [vid, list] : labels.dict_items())
    for (const auto& x : list->items()) sum += x->as_float();
  EXPECT_NEAR(sum, 154.5166666666596, 154.5 * kSumRelTol);
}

TEST(PickleRealDataTest, MosiAudioPython2Pickle) {
  const std::string path = kMosiDir + "audio_2way.pickle";
  MERC_REQUIRE_PREREQUISITE(std::filesystem::exists(path), path);
  const PyRef root = load_pickle_file(path);
  ASSERT_EQ(root->type(), PyType::kTuple);
  ASSERT_EQ(root->size(), 7u);
  const auto& d = root->items();
  const NdArray& train = d[0]->as_array();
  EXPECT_EQ(train.dtype, DType::kFloat64);
  EXPECT_EQ(train.shape, (std::vector<int64_t>{62, 63, 73}));
  EXPECT_EQ(d[1]->as_array().shape, (std::vector<int64_t>{62, 63}));
  EXPECT_EQ(d[2]->as_array().shape, (std::vector<int64_t>{31, 63, 73}));
  EXPECT_EQ(d[3]->as_array().shape, (std::vector<int64_t>{31, 63}));
  EXPECT_EQ(d[4]->as_int(), 63);
  ASSERT_EQ(d[5]->size(), 62u);
  ASSERT_EQ(d[6]->size(), 31u);
  // a[5][:3] -> [35, 30, 30]; a[6][:3] -> [20, 30, 18]
  EXPECT_EQ(d[5]->items()[0]->as_int(), 35);
  EXPECT_EQ(d[5]->items()[2]->as_int(), 30);
  EXPECT_EQ(d[6]->items()[2]->as_int(), 18);
  // a[0][0,0,0] -> 212.83; a[0][3,5,7] -> -0.1915; a[0][61,62,72] -> 0.0 (padding)
  EXPECT_EQ(train.get_double(0), 212.83);
  EXPECT_EQ(train.get_double((3 * 63 + 5) * 73 + 7), -0.1915);
  EXPECT_EQ(train.get_double((61 * 63 + 62) * 73 + 72), 0.0);
  // a[0].sum() -> 274101.1158831002; a[1].sum() -> 709.0; a[2].sum() -> 133119.29940993848
  double s0 = 0, s1 = 0, s2 = 0;
  for (double x : train.to_float64()) s0 += x;
  for (double x : d[1]->as_array().to_float64()) s1 += x;
  for (double x : d[2]->as_array().to_float64()) s2 += x;
  EXPECT_NEAR(s0, 274101.1158831002, 274101.0 * kSumRelTol);
  EXPECT_EQ(s1, 709.0);  // 0/1 labels: exact
  EXPECT_NEAR(s2, 133119.29940993848, 133119.0 * kSumRelTol);
  EXPECT_EQ(d[2]->as_array().get_double(30 * 63 * 73), 188.28);  // a[2][30,0,0]
}

}  // namespace
}  // namespace merc::io
