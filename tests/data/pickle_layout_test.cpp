// pickle_layout: conversions from hand-built pickle value trees (no files involved).

#include "merc/data/readers/pickle_layout.h"

#include <gtest/gtest.h>

#include <cstring>

#include "merc/core/error.h"

namespace merc::data {
namespace {

using io::DType;
using io::NdArray;
using io::PyRef;
using io::PyType;
using io::PyValue;

template <typename T>
PyRef array(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values, PyType type = PyType::kNdArray) {
  NdArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(T));
  std::memcpy(a.data.data(), values.data(), a.data.size());
  return PyValue::array(type, std::move(a));
}
PyRef list(std::vector<PyRef> items) { return PyValue::collection(PyType::kList, std::move(items)); }
PyRef ints(std::vector<int64_t> v) {
  std::vector<PyRef> items;
  for (int64_t x : v) items.push_back(PyValue::integer(x));
  return list(items);
}

// Expects a FormatError naming "f.pkl" whose message contains `what`.
template <typename F>
void expect_error(F&& f, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "no error, expected '" << what << "'";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), "f.pkl");
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(PickleLayout, MatrixFromIntArrayListOfListsAndRowArrays) {
  const FeatureMatrix a = matrix_from(*array<int32_t>(DType::kInt32, {2, 3}, {1, 2, 3, 4, 5, -6}), "f.pkl", "x");
  EXPECT_EQ(a.rows, 2);
  EXPECT_EQ(a.cols, 3);
  EXPECT_EQ(a.values, (std::vector<float>{1, 2, 3, 4, 5, -6}));
  const FeatureMatrix b = matrix_from(*list({list({PyValue::floating(0.5), PyValue::integer(2)}),
                                            list({PyValue::floating(-1.5), PyValue::boolean(true)})}),
                                      "f.pkl", "x");
  EXPECT_EQ(b.values, (std::vector<float>{0.5f, 2.0f, -1.5f, 1.0f}));
  // Rows as (1, D) float64 arrays.
  const FeatureMatrix c = matrix_from(*list({array<double>(DType::kFloat64, {1, 2}, {7, 8}),
                                            array<double>(DType::kFloat64, {2}, {9, 10})}),
                                      "f.pkl", "x");
  EXPECT_EQ(c.rows, 2);
  EXPECT_EQ(c.values, (std::vector<float>{7, 8, 9, 10}));
  EXPECT_TRUE(matrix_from(*list({}), "f.pkl", "x").empty());
}

TEST(PickleLayout, MatrixFromRejectsRaggedOneDAndText) {
  expect_error([] { matrix_from(*list({ints({1, 2, 3}), ints({1, 2})}), "f.pkl", "videoAudio['a']"); },
               "videoAudio['a'] row 1 has 2 values but row 0 has 3");
  expect_error([] { matrix_from(*array<float>(DType::kFloat32, {3}, {1, 2, 3}), "f.pkl", "x"); },
               "x should be a 2-D numeric array");
  expect_error([] { matrix_from(*PyValue::str("abc"), "f.pkl", "x"); }, "x should be a 2-D array or a list of vectors");
}

TEST(PickleLayout, IntListAcceptsIntsAndNumpyIntsButNotFloats) {
  const auto numpy_int = array<int64_t>(DType::kInt64, {}, {5}, PyType::kNumpyScalar);
  EXPECT_EQ(int_list(*list({PyValue::integer(1), numpy_int, PyValue::boolean(false)}), "f.pkl", "l"),
            (std::vector<int64_t>{1, 5, 0}));
  EXPECT_EQ(int_list(*array<int32_t>(DType::kInt32, {2}, {3, 4}), "f.pkl", "l"), (std::vector<int64_t>{3, 4}));
  expect_error([] { int_list(*list({PyValue::floating(2.0)}), "f.pkl", "videoLabels['a']"); },
               "videoLabels['a'][0] should be an integer");
}

TEST(PickleLayout, IdListFromSetsDictKeysAndIntArrays) {
  EXPECT_EQ(id_list(*PyValue::collection(PyType::kSet, {PyValue::str("b"), PyValue::str("a")}), "f.pkl", "s"),
            (std::vector<std::string>{"b", "a"}));  // pickle order, not sorted
  EXPECT_EQ(id_list(*PyValue::dict({{PyValue::integer(12), PyValue::none()}}), "f.pkl", "s"),
            (std::vector<std::string>{"12"}));
  EXPECT_EQ(id_list(*array<int64_t>(DType::kInt64, {2}, {7, 1040}), "f.pkl", "s"), (std::vector<std::string>{"7", "1040"}));
  expect_error([] { id_list(*PyValue::integer(3), "f.pkl", "trainVid"); }, "trainVid should be a set or list");
}

TEST(PickleLayout, DecodeSpeakersEachEncoding) {
  const auto letters = list({PyValue::str("M"), PyValue::str("F")});
  EXPECT_EQ(decode_speakers(*letters, SpeakerEncoding::kMaleFemale, "f.pkl", "s").index, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(decode_speakers(*letters, SpeakerEncoding::kFemaleMale, "f.pkl", "s").index, (std::vector<int64_t>{1, 0}));
  const auto other = list({PyValue::str(""), PyValue::str("M")});
  EXPECT_EQ(decode_speakers(*other, SpeakerEncoding::kMaleElseOther, "f.pkl", "s").index, (std::vector<int64_t>{1, 0}));
  expect_error([&] { decode_speakers(*other, SpeakerEncoding::kMaleFemale, "f.pkl", "s"); }, "s[0] is speaker ''");
  const SpeakerCodes hot = decode_speakers(*array<float>(DType::kFloat32, {2, 3}, {0, 0, 1, 1, 0, 0}),
                                           SpeakerEncoding::kOneHot, "f.pkl", "s");
  EXPECT_EQ(hot.index, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(hot.name, (std::vector<std::string>{"slot2", "slot0"}));
  EXPECT_EQ(hot.slots, 3);
  expect_error([] { decode_speakers(*list({ints({0, 0})}), SpeakerEncoding::kOneHot, "f.pkl", "s"); },
               "s[0] is an all-zero speaker vector");
}

TEST(PickleLayout, SplitFromIdsErrorsAndWarning) {
  const std::unordered_map<std::string, int64_t> index = {{"a", 0}, {"b", 1}, {"c", 2}};
  std::vector<std::string> warnings;
  const SplitScheme s = split_from_ids("given", {{"train", "trainVid", {"b", "a"}}, {"test", "testVid", {}}}, index,
                                       "f.pkl", "videoIDs", &warnings);
  EXPECT_EQ(s.partitions[0].dialogues, (std::vector<int64_t>{1, 0}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("1 of 3 dialogues"), std::string::npos);
  expect_error([&] { split_from_ids("g", {{"train", "trainVid", {"a", "a"}}}, index, "f.pkl", "videoIDs", nullptr); },
               "trainVid lists dialogue 'a' twice");
}

TEST(PickleLayout, ExpectTupleNamesTheLayoutAndWhatArrived) {
  expect_error([] { expect_tuple(*PyValue::dict({}), "f.pkl", {"a", "b"}); }, "expected a 2-tuple (a, b), got dict");
  expect_error([] { expect_tuple(*ints({1}), "f.pkl", {"a", "b"}); }, "expected a 2-tuple (a, b), got a 1-list");
}

TEST(PickleLayout, DetectionHintsNeverThrow) {
  EXPECT_EQ(matrix_cols_hint(*PyValue::none()), -1);
  EXPECT_EQ(matrix_cols_hint(*list({ints({1, 2, 3})})), 3);
  EXPECT_EQ(matrix_cols_hint(*array<float>(DType::kFloat32, {1, 4}, {0, 0, 0, 0})), 4);
  EXPECT_EQ(first_element_kind(*list({PyValue::floating(1.0)})), 'f');
  EXPECT_EQ(first_element_kind(*list({PyValue::str("M")})), 's');
  EXPECT_EQ(first_element_kind(*list({ints({0, 1})})), 'v');
  EXPECT_EQ(first_element_kind(*PyValue::integer(1)), '?');
  EXPECT_EQ(first_dict_value(*list({})), nullptr);
}

}  // namespace
}  // namespace merc::data

namespace merc::data {
namespace {

TEST(PickleLayoutSentiment, BinaryLabelCountsZeroAsPositive) {
  EXPECT_EQ(binary_label_from_score(-3.0), 0);
  EXPECT_EQ(binary_label_from_score(-1e-9), 0);
  EXPECT_EQ(binary_label_from_score(0.0), 1);  // the has-zero convention; non-zero Acc-2 drops it by score
  EXPECT_EQ(binary_label_from_score(-0.0), 1);  // -0.0 >= 0 in IEEE arithmetic
  EXPECT_EQ(binary_label_from_score(2.4), 1);
}

TEST(PickleLayoutSentiment, CmuDatasetNameFromFileNamesIgnoringCase) {
  EXPECT_EQ(cmu_dataset_name("CMUMOSI_features_raw_2way.pkl"), "CMU-MOSI");
  EXPECT_EQ(cmu_dataset_name("/data/MOSEI/unaligned_50.pkl"), "CMU-MOSEI");
  EXPECT_EQ(cmu_dataset_name("IEMOCAP_features_raw_4way.pkl"), "");
}

}  // namespace
}  // namespace merc::data
