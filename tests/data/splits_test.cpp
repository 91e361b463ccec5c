#include "merc/data/splits.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "merc/core/error.h"
#include "test_datasets.h"

namespace merc::data {
namespace {

SplitScheme scheme_with_train(int64_t n_train) {
  SplitScheme s{"given", {{"train", {}}, {"test", {n_train}}}};
  for (int64_t i = 0; i < n_train; ++i) s.partitions[0].dialogues.push_back(i);
  return s;
}

TEST(SplitRng, FirstOutputsMatchSplitMix64Reference) {
  // SplitMix64 with seed 0: first output 0xE220A8397B1DCDAF (Vigna's reference implementation).
  SplitRng rng(0);
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFull);
  SplitRng r2(0);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(r2.below(7), 7u);
}

TEST(CarveValidation, MovesRoundedFractionOfWholeDialoguesDeterministically) {
  const SplitScheme base = scheme_with_train(52);
  const SplitScheme a = carve_validation(base, 0.2, 7);
  const SplitScheme b = carve_validation(base, 0.2, 7);
  ASSERT_EQ(a.partitions.size(), 3u);
  EXPECT_EQ(a.partitions[0].name, "train");
  EXPECT_EQ(a.partitions[1].name, "valid");
  EXPECT_EQ(a.partitions[2].name, "test");
  EXPECT_EQ(a.partitions[1].dialogues.size(), 10u);  // round(0.2 * 52) = round(10.4) = 10
  EXPECT_EQ(a.partitions[0].dialogues.size(), 42u);
  EXPECT_EQ(a.partitions[1].dialogues, b.partitions[1].dialogues);  // same seed, same split
  std::set<int64_t> all(a.partitions[0].dialogues.begin(), a.partitions[0].dialogues.end());
  for (int64_t i : a.partitions[1].dialogues) EXPECT_TRUE(all.insert(i).second) << "overlap at " << i;
  EXPECT_EQ(all.size(), 52u);
  EXPECT_TRUE(std::is_sorted(a.partitions[1].dialogues.begin(), a.partitions[1].dialogues.end()));
  const SplitScheme c = carve_validation(base, 0.2, 8);
  EXPECT_NE(a.partitions[1].dialogues, c.partitions[1].dialogues);  // seed matters
}

TEST(CarveValidation, KeepsAtLeastOneDialogueOnEachSide) {
  EXPECT_EQ(carve_validation(scheme_with_train(2), 0.01, 0).partitions[1].dialogues.size(), 1u);
  EXPECT_EQ(carve_validation(scheme_with_train(3), 0.99, 0).partitions[0].dialogues.size(), 1u);
  EXPECT_THROW(carve_validation(scheme_with_train(1), 0.5, 0), Error);
  EXPECT_THROW(carve_validation(scheme_with_train(5), 1.5, 0), Error);
}

TEST(EnsureValidation, OnlyTouchesSchemesWithoutOne) {
  Dataset ds = testing::tiny_dataset();
  ds.split_schemes.push_back({"other", {{"train", {0}}, {"valid", {1}}, {"test", {2}}}});
  EXPECT_EQ(ensure_validation(ds, 0.5, 1), 1);
  EXPECT_TRUE(has_validation(ds.split_schemes[0]));
  EXPECT_EQ(ds.split_schemes[1].partitions[1].dialogues, (std::vector<int64_t>{1}));
  EXPECT_NO_THROW(ds.validate("tiny"));
  EXPECT_EQ(ensure_validation(ds, 0.5, 1), 0);
}

TEST(LeaveOneSessionOut, OneFoldPerSessionNumberedBySession) {
  Dataset ds;
  ds.info.class_names = {"x"};
  for (const char* id : {"Ses02F_a", "Ses01M_b", "Ses02M_c", "Ses05F_d", "Ses01F_e"}) {
    Dialogue d;
    d.id = id;
    ds.dialogues.push_back(d);
  }
  const auto folds = leave_one_session_out(ds);
  ASSERT_EQ(folds.size(), 3u);
  EXPECT_EQ(folds[0].name, "loso-1");
  EXPECT_EQ(folds[0].find("test")->dialogues, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(folds[0].find("train")->dialogues, (std::vector<int64_t>{0, 2, 3}));
  EXPECT_EQ(folds[1].name, "loso-2");
  EXPECT_EQ(folds[2].name, "loso-5");
  EXPECT_EQ(folds[2].find("test")->dialogues, (std::vector<int64_t>{3}));

  ds.dialogues[2].id = "dia3";
  try {
    leave_one_session_out(ds);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dia3"), std::string::npos);
  }
}

}  // namespace
}  // namespace merc::data
