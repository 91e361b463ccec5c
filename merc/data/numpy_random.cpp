#include "merc/data/numpy_random.h"

#include <algorithm>
#include <cstring>

#include "merc/core/error.h"

namespace merc::data {
namespace {

// MT19937 constants (Matsumoto & Nishimura 1998).
constexpr int kN = NumpyRandomState::kStateWords;
constexpr int kM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfU;
constexpr uint32_t kUpperMask = 0x80000000U;
constexpr uint32_t kLowerMask = 0x7fffffffU;

constexpr char kStateTag[] = "MRCNPRS1";  // 8 bytes, no terminator stored
constexpr size_t kTagBytes = 8;
constexpr size_t kStateBytes = kTagBytes + 4 * kN + 4;

// Smallest 2^k - 1 >= max (numpy's gen_mask).
uint64_t gen_mask(uint64_t max) {
  uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  return mask;
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
}

uint32_t get_u32(const std::string& in, size_t offset) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[offset + i])) << (8 * i);
  return v;
}

}  // namespace

void NumpyRandomState::seed_int(uint32_t seed) {
  key_[0] = seed;
  for (int i = 1; i < kN; ++i) {
    key_[i] = 1812433253U * (key_[i - 1] ^ (key_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  }
  pos_ = kN;
}

void NumpyRandomState::seed_array(const std::vector<uint32_t>& key) {
  MERC_CHECK(!key.empty(), "NumpyRandomState::seed_array: the seed array is empty (numpy: ValueError)");
  seed_int(19650218U);
  const size_t len = key.size();
  int i = 1;
  size_t j = 0;
  for (size_t k = std::max<size_t>(kN, len); k > 0; --k) {
    key_[i] = (key_[i] ^ ((key_[i - 1] ^ (key_[i - 1] >> 30)) * 1664525U)) + key[j] + static_cast<uint32_t>(j);
    ++i;
    ++j;
    if (i >= kN) {
      key_[0] = key_[kN - 1];
      i = 1;
    }
    if (j >= len) j = 0;
  }
  for (int k = kN - 1; k > 0; --k) {
    key_[i] = (key_[i] ^ ((key_[i - 1] ^ (key_[i - 1] >> 30)) * 1566083941U)) - static_cast<uint32_t>(i);
    ++i;
    if (i >= kN) {
      key_[0] = key_[kN - 1];
      i = 1;
    }
  }
  key_[0] = 0x80000000U;  // guarantees a non-zero state
  pos_ = kN;
}

void NumpyRandomState::seed_u64(uint64_t seed) {
  if (seed <= 0xffffffffULL) {
    seed_int(static_cast<uint32_t>(seed));
  } else {
    seed_array({static_cast<uint32_t>(seed & 0xffffffffULL), static_cast<uint32_t>(seed >> 32)});
  }
}

void NumpyRandomState::reload() {
  auto twist = [](uint32_t upper, uint32_t lower, uint32_t far) {
    const uint32_t y = (upper & kUpperMask) | (lower & kLowerMask);
    return far ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
  };
  int kk = 0;
  for (; kk < kN - kM; ++kk) key_[kk] = twist(key_[kk], key_[kk + 1], key_[kk + kM]);
  for (; kk < kN - 1; ++kk) key_[kk] = twist(key_[kk], key_[kk + 1], key_[kk + kM - kN]);
  key_[kN - 1] = twist(key_[kN - 1], key_[0], key_[kM - 1]);
  pos_ = 0;
}

uint32_t NumpyRandomState::next_uint32() {
  if (pos_ >= kN) reload();
  uint32_t y = key_[pos_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

uint64_t NumpyRandomState::next_uint64() {
  const uint64_t hi = next_uint32();
  const uint64_t lo = next_uint32();
  return (hi << 32) | lo;
}

double NumpyRandomState::random_sample() {
  const uint32_t a = next_uint32() >> 5;
  const uint32_t b = next_uint32() >> 6;
  return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
}

void NumpyRandomState::randint_fill(int64_t low, int64_t high, int64_t* out, int64_t n) {
  MERC_CHECK(high > low, "randint: low >= high ({} >= {})", low, high);
  MERC_CHECK(n >= 0, "randint: negative size {}", n);
  // Closed range [0, rng]; unsigned arithmetic because high - low may exceed INT64_MAX.
  const uint64_t rng = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) - 1U;
  const uint64_t off = static_cast<uint64_t>(low);
  auto emit = [&](int64_t i, uint64_t v) { out[i] = static_cast<int64_t>(off + v); };
  if (rng == 0) {
    for (int64_t i = 0; i < n; ++i) emit(i, 0);  // numpy draws nothing here
  } else if (rng == 0xffffffffULL) {
    for (int64_t i = 0; i < n; ++i) emit(i, next_uint32());
  } else if (rng < 0xffffffffULL) {
    const auto range = static_cast<uint32_t>(rng);
    const auto mask = static_cast<uint32_t>(gen_mask(rng));
    for (int64_t i = 0; i < n; ++i) {
      uint32_t v = 0;
      while ((v = next_uint32() & mask) > range) {
      }
      emit(i, v);
    }
  } else if (rng == ~0ULL) {
    for (int64_t i = 0; i < n; ++i) emit(i, next_uint64());
  } else {
    const uint64_t mask = gen_mask(rng);
    for (int64_t i = 0; i < n; ++i) {
      uint64_t v = 0;
      while ((v = next_uint64() & mask) > rng) {
      }
      emit(i, v);
    }
  }
}

int64_t NumpyRandomState::randint(int64_t low, int64_t high) {
  int64_t v = 0;
  randint_fill(low, high, &v, 1);
  return v;
}

std::vector<int64_t> NumpyRandomState::randint(int64_t low, int64_t high, int64_t n) {
  MERC_CHECK(n >= 0, "randint: negative size {}", n);
  std::vector<int64_t> out(static_cast<size_t>(n));
  randint_fill(low, high, out.data(), n);
  return out;
}

std::string NumpyRandomState::state() const {
  std::string out(kStateTag, kTagBytes);
  out.reserve(kStateBytes);
  for (uint32_t w : key_) put_u32(out, w);
  put_u32(out, static_cast<uint32_t>(pos_));
  return out;
}

void NumpyRandomState::set_state(const std::string& bytes) {
  MERC_CHECK(bytes.size() == kStateBytes, "NumpyRandomState::set_state: expected {} bytes, got {}", kStateBytes,
             bytes.size());
  MERC_CHECK(std::memcmp(bytes.data(), kStateTag, kTagBytes) == 0,
             "NumpyRandomState::set_state: bytes do not start with the tag '{}' (not a saved NumpyRandomState)",
             kStateTag);
  const uint32_t pos = get_u32(bytes, kTagBytes + 4 * kN);
  MERC_CHECK(pos <= static_cast<uint32_t>(kN), "NumpyRandomState::set_state: position {} outside 0..{}", pos, kN);
  for (int i = 0; i < kN; ++i) key_[i] = get_u32(bytes, kTagBytes + 4 * static_cast<size_t>(i));
  pos_ = static_cast<int>(pos);
}

}  // namespace merc::data
