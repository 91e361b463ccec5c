#pragma once
// NumpyRandomState: a bit-exact re-implementation of the part of numpy's LEGACY global generator
// (`np.random.seed(s)`, `np.random.RandomState(s)`, `np.random.randint`, `np.random.random_sample`)
// that the published missing-modality code uses (GCNet's `random_mask`, copied by MoMKE and ComP,
// method_reference.md §2.4a). With it, the masks of a published run can be reproduced draw for draw.
//
// What numpy does (numpy/random/_mt19937.pyx, mtrand.pyx, _bounded_integers.pyx,
// src/distributions/distributions.c; stream stable since numpy 1.0 by the RandomState policy):
// * Generator: MT19937, 624 words of state + a position (pos == 624 means "reload before the next
//   draw"). An integer seed s in [0, 2^32) goes through `init_genrand(s)` (the same as
//   std::mt19937(s)); an array seed goes through `init_by_array(key)` (Matsumoto & Nishimura's
//   reference code). Both leave pos = 624.
// * randint(low, high) with the default int64 dtype draws from the closed range [0, rng] with
//   rng = high - low - 1 and adds low:
//     rng == 0            -> low, consuming NO draws;
//     rng <  2^32 - 1     -> mask = smallest 2^k - 1 >= rng; repeat v = next_uint32() & mask
//                            until v <= rng ("masked rejection"; one fresh 32-bit draw per try,
//                            no buffering of 32-bit words for 32/64-bit dtypes);
//     rng == 2^32 - 1     -> next_uint32();
//     larger ranges       -> the same with next_uint64() = (next_uint32() << 32) | next_uint32().
// * random_sample(): (a >> 5, b >> 6) from two draws, (a * 2^26 + b) / 2^53.
// Verified against python3-numpy 1.24 by scripts/numpy_random_reference.py (values pasted into
// tests/data/numpy_random_test.cpp).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace merc::data {

class NumpyRandomState {
 public:
  static constexpr int kStateWords = 624;

  // np.random.RandomState(seed) for an integer seed in [0, 2^32).
  explicit NumpyRandomState(uint32_t seed = 0) { seed_int(seed); }

  // np.random.seed(seed) with an integer seed (init_genrand).
  void seed_int(uint32_t seed);
  // np.random.seed(key) with a 1-d array of uint32 words (init_by_array); an empty key is an error.
  void seed_array(const std::vector<uint32_t>& key);
  // Seeds above 2^32 - 1 cannot be an integer numpy seed; they map to seed_array({low word, high
  // word}) = np.random.seed([s & 0xffffffff, s >> 32]), so every uint64 seed stays reproducible in
  // Python. Seeds below 2^32 use seed_int.
  void seed_u64(uint64_t seed);

  uint32_t next_uint32();
  uint64_t next_uint64();  // (first << 32) | second, as numpy's mt19937_next64
  double random_sample();  // [0, 1), 53 bits

  // np.random.randint(low, high) (int64 dtype); high <= low is a merc::Error (numpy: ValueError).
  int64_t randint(int64_t low, int64_t high);
  // np.random.randint(low, high, size=n): n values in C order.
  std::vector<int64_t> randint(int64_t low, int64_t high, int64_t n);
  void randint_fill(int64_t low, int64_t high, int64_t* out, int64_t n);

  // The full state as bytes for checkpoints: "MRCNPRS1" + 624 little-endian uint32 key words +
  // little-endian uint32 position (0..624). set_state checks size, tag and position and throws
  // merc::Error naming what was wrong; the object is unchanged on error.
  std::string state() const;
  void set_state(const std::string& bytes);

  // numpy's get_state()[1] and [2], for comparisons with Python.
  const std::array<uint32_t, kStateWords>& key() const { return key_; }
  int position() const { return pos_; }

 private:
  void reload();  // regenerates all 624 words (MT19937 "twist"), pos_ = 0

  std::array<uint32_t, kStateWords> key_{};
  int pos_ = kStateWords;
};

}  // namespace merc::data
