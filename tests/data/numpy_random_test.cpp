#include "merc/data/numpy_random.h"

#include <random>

#include <gtest/gtest.h>

#include "merc/core/error.h"

namespace merc::data {
namespace {

// Every number below was printed by numpy 1.24.2 (/usr/bin/python3
// scripts/numpy_random_reference.py, section "NumpyRandomState"): for each seed one
// np.random.RandomState(seed) and these calls in this order.
struct StreamCase {
  uint32_t seed;
  std::vector<uint32_t> key_head;  // get_state()[1][:4] right after seeding
  uint32_t key_last;               // get_state()[1][623]
  std::vector<uint32_t> u32;       // randint(0, 2**32, size=8, dtype=np.uint64)
  std::vector<int64_t> r3;         // randint(0, 3, size=20)
  std::vector<int64_t> r100;       // randint(0, 100, size=(8, 3)).ravel()
  std::vector<double> samples;     // 3 x random_sample()
  std::vector<int64_t> big;        // randint(-5, 10**12, size=4): the 64-bit masked path
  uint32_t after_empty_range;      // randint(7, 8, size=3) (no draws) then one uint32
  int64_t scalar3, scalar_signed;  // randint(0, 3), randint(-10, 10)
  int pos_after;                   // get_state()[2] at the end
  uint32_t key0_after;             // get_state()[1][0] at the end
};

const std::vector<StreamCase>& stream_cases() {
  static const std::vector<StreamCase> cases = {
      {0, {0, 1, 1812433255U, 1900727105U}, 1796872496U,
       {2357136044U, 2546248239U, 3071714933U, 3626093760U, 2588848963U, 3684848379U, 2340255427U, 3638918503U},
       {1, 1, 2, 0, 2, 0, 0, 0, 2, 1, 2, 2, 0, 1, 1, 1, 1, 0, 1, 0},
       {80, 69, 79, 47, 64, 82, 99, 88, 49, 29, 19, 19, 14, 39, 32, 65, 9, 57, 32, 31, 74, 23, 35, 75},
       {0.7369181771289581, 0.21655035442437187, 0.13521817340545206},
       {707027360816, 573859581473, 999082124015, 77067811146}, 3876630916U, 1, 0, 80, 2443250962U},
      {1, {1, 1812433254U, 3713160357U, 3109174145U}, 2069268389U,
       {1791095845U, 4282876139U, 3093770124U, 4005303368U, 491263U, 550290313U, 1298508491U, 4290846341U},
       {0, 0, 1, 0, 1, 0, 2, 1, 2, 0, 2, 1, 2, 0, 0, 2, 0, 1, 2, 2},
       {68, 87, 87, 94, 96, 86, 13, 9, 7, 63, 61, 22, 57, 1, 0, 60, 81, 8, 88, 13, 47, 72, 30, 71},
       {0.42110762500505217, 0.9578895301505019, 0.5331652849730171},
       {843057539859, 329781824533, 225110140235, 468298199918}, 3221845289U, 2, 5, 81, 2629073562U},
      {42, {42, 3107752595U, 1895908407U, 3900362577U}, 26719530U,
       {1608637542U, 3421126067U, 4083286876U, 787846414U, 3143890026U, 3348747335U, 2571218620U, 2563451924U},
       {2, 1, 2, 2, 2, 2, 0, 2, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0},
       {48, 90, 58, 41, 91, 59, 79, 14, 61, 61, 46, 61, 50, 54, 63, 2, 50, 6, 20, 72, 38, 17, 3, 88},
       {0.9656320330745594, 0.8083973481164611, 0.3046137691733707},
       {224329980796, 357517482070, 475380997046, 853023440294}, 2126768636U, 2, -8, 86, 723970371U},
      {4294967295U, {4294967295U, 1340201581U, 3941791902U, 3241351924U}, 3413567280U,
       {419326371U, 479346978U, 3918654476U, 2416749639U, 3388880820U, 2260532800U, 3350089942U, 3309765114U},
       {1, 0, 2, 2, 1, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 2, 1, 0, 0},
       {26, 89, 43, 92, 3, 25, 23, 73, 61, 1, 87, 84, 84, 47, 45, 18, 65, 61, 43, 56, 38, 77, 41, 18},
       {0.5914539584274494, 0.005462863219718561, 0.039362532701847974},
       {581668543592, 415009909342, 20543132232, 68893561043}, 412407539U, 1, -8, 83, 2737327253U},
  };
  return cases;
}

TEST(NumpyRandomState, MatchesNumpyLegacyStreamBitExactly) {
  for (const StreamCase& c : stream_cases()) {
    SCOPED_TRACE("seed " + std::to_string(c.seed));
    NumpyRandomState rng(c.seed);
    for (size_t i = 0; i < c.key_head.size(); ++i) EXPECT_EQ(rng.key()[i], c.key_head[i]);
    EXPECT_EQ(rng.key()[623], c.key_last);
    EXPECT_EQ(rng.position(), 624);
    for (uint32_t expected : c.u32) EXPECT_EQ(rng.next_uint32(), expected);
    EXPECT_EQ(rng.randint(0, 3, 20), c.r3);
    EXPECT_EQ(rng.randint(0, 100, 24), c.r100);
    for (double expected : c.samples) EXPECT_EQ(rng.random_sample(), expected);  // exact: same bits
    EXPECT_EQ(rng.randint(-5, 1000000000000LL, 4), c.big);
    EXPECT_EQ(rng.randint(7, 8, 3), (std::vector<int64_t>{7, 7, 7}));
    EXPECT_EQ(rng.next_uint32(), c.after_empty_range);  // proves randint(7, 8) drew nothing
    EXPECT_EQ(rng.randint(0, 3), c.scalar3);
    EXPECT_EQ(rng.randint(-10, 10), c.scalar_signed);
    EXPECT_EQ(rng.position(), c.pos_after);
    EXPECT_EQ(rng.key()[0], c.key0_after);
  }
}

TEST(NumpyRandomState, IntegerSeedingIsStdMt19937) {
  // numpy's init_genrand is the reference MT19937 seeding, the same as std::mt19937.
  for (uint32_t seed : {0U, 5489U, 66U, 4294967295U}) {
    NumpyRandomState rng(seed);
    std::mt19937 reference(seed);
    for (int i = 0; i < 2000; ++i) ASSERT_EQ(rng.next_uint32(), reference()) << "seed " << seed << " draw " << i;
  }
}

TEST(NumpyRandomState, ArraySeedsMatchNumpyInitByArray) {
  // numpy 1.24.2: np.random.RandomState(key), get_state()[1][:4], then randint(0, 2**32, 5, uint64).
  struct Case {
    std::vector<uint32_t> key;
    std::vector<uint32_t> head;
    std::vector<uint32_t> u32;
  };
  const std::vector<Case> cases = {
      {{123, 456}, {2147483648U, 3707152328U, 2086558335U, 2653060115U},
       {517001755U, 4168693834U, 3791367307U, 1007971840U, 686691873U}},
      {{4294967295U, 1}, {2147483648U, 3815009931U, 2272048832U, 3927655324U},
       {3513064626U, 4173773556U, 1691572181U, 3698539093U, 1848737759U}},
      {{5}, {2147483648U, 2796186638U, 190942503U, 2897782440U},
       {2675342405U, 1097127993U, 3185950873U, 1539898300U, 3415330359U}},
  };
  for (const Case& c : cases) {
    NumpyRandomState rng;
    rng.seed_array(c.key);
    for (size_t i = 0; i < c.head.size(); ++i) EXPECT_EQ(rng.key()[i], c.head[i]);
    for (uint32_t expected : c.u32) EXPECT_EQ(rng.next_uint32(), expected);
  }
  NumpyRandomState rng;
  EXPECT_THROW(rng.seed_array({}), Error);
}

TEST(NumpyRandomState, SeedU64UsesIntegerSeedBelow2To32AndArraySeedAbove) {
  NumpyRandomState a;
  a.seed_u64(42);
  EXPECT_EQ(a.next_uint32(), 1608637542U);  // = RandomState(42)
  // 2**40 + 7 -> np.random.seed([7, 256]); numpy 1.24.2: 2635837658 3209733218 3500038837.
  NumpyRandomState b;
  b.seed_u64((1ULL << 40) + 7);
  EXPECT_EQ(b.next_uint32(), 2635837658U);
  EXPECT_EQ(b.next_uint32(), 3209733218U);
  EXPECT_EQ(b.next_uint32(), 3500038837U);
}

TEST(NumpyRandomState, FullRangeAndSixtyFourBitPaths) {
  // randint(0, 2^32) is one raw draw; the full int64 range takes next_uint64 = (first << 32) | second.
  NumpyRandomState a(42), b(42);
  EXPECT_EQ(static_cast<uint32_t>(a.randint(0, 1LL << 32)), b.next_uint32());
  NumpyRandomState c(7), d(7);
  const uint64_t hi = d.next_uint32();
  const uint64_t lo = d.next_uint32();
  EXPECT_EQ(static_cast<uint64_t>(c.randint(INT64_MIN, INT64_MAX)) - static_cast<uint64_t>(INT64_MIN),
            (hi << 32) | lo);
  EXPECT_THROW(a.randint(3, 3), Error);
  EXPECT_THROW(a.randint(4, 3), Error);
  EXPECT_THROW(a.randint(0, 3, -1), Error);
}

TEST(NumpyRandomState, RandomSampleIsInUnitIntervalAndUses53Bits) {
  NumpyRandomState a(3), b(3);
  const double x = a.random_sample();
  const double expected = ((b.next_uint32() >> 5) * 67108864.0 + (b.next_uint32() >> 6)) / 9007199254740992.0;
  EXPECT_EQ(x, expected);
  for (int i = 0; i < 1000; ++i) {
    const double v = a.random_sample();
    ASSERT_GE(v, 0.0);
    ASSERT_LT(v, 1.0);
  }
}

TEST(NumpyRandomState, StateRoundTripResumesTheSameStream) {
  NumpyRandomState rng(66);
  for (int i = 0; i < 1000; ++i) rng.next_uint32();  // cross a reload and stop mid-block
  const std::string saved = rng.state();
  EXPECT_EQ(saved.size(), 8u + 4u * 624u + 4u);
  std::vector<uint32_t> expected;
  for (int i = 0; i < 700; ++i) expected.push_back(rng.next_uint32());

  NumpyRandomState other(1);
  other.set_state(saved);
  EXPECT_EQ(other.position(), 1000 - 624);
  for (int i = 0; i < 700; ++i) ASSERT_EQ(other.next_uint32(), expected[static_cast<size_t>(i)]) << i;
  EXPECT_EQ(other.state(), rng.state());
}

TEST(NumpyRandomState, SetStateRejectsBadBytesAndKeepsTheOldState) {
  NumpyRandomState rng(5);
  const std::string good = NumpyRandomState(9).state();
  const std::string before = rng.state();
  EXPECT_THROW(rng.set_state(""), Error);
  EXPECT_THROW(rng.set_state(good.substr(0, good.size() - 1)), Error);  // truncated
  EXPECT_THROW(rng.set_state(good + "x"), Error);                       // trailing byte
  std::string bad_tag = good;
  bad_tag[0] = 'X';
  EXPECT_THROW(rng.set_state(bad_tag), Error);
  std::string bad_pos = good;
  bad_pos[bad_pos.size() - 4] = static_cast<char>(625 & 0xff);  // 625 = 0x271: low byte 0x71
  bad_pos[bad_pos.size() - 3] = static_cast<char>(625 >> 8);
  try {
    rng.set_state(bad_pos);
    FAIL() << "position 625 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("position 625"), std::string::npos) << e.what();
  }
  EXPECT_EQ(rng.state(), before);
}

}  // namespace
}  // namespace merc::data
