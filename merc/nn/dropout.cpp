#include "merc/nn/dropout.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <ostream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/torch.h>

namespace merc::nn {

namespace {

// lowbias32 (C. Wellons, "Hash functions for integers", 2018): a bijective 32-bit mix with two
// multiplies, among the best-measured of its size (avalanche bias 0.17).
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// The keep hash of element i under key (k0, k1): two keyed rounds, so two seeds never give masks
// that are shifts of each other (a single round of mix32(i + seed) would: seeds s and s + d give
// the same mask shifted by d elements, and with ~70 dropout calls per step some pair would be
// d < tensor size apart about once per step). The element index's high half is folded into the
// second key so tensors above 2^32 elements do not repeat their mask.
inline uint32_t keep_hash(uint64_t i, uint32_t k0, uint32_t k1) {
  return mix32(mix32(static_cast<uint32_t>(i) ^ k0) ^ (k1 + static_cast<uint32_t>(i >> 32)));
}

// out[i] = keep(i) ? in[i] * scale : 0 over elements [begin, end); in-place safe (in == out).
// Written so GCC vectorises it: 32-bit integer hashing, an unconditional load and multiply, and the
// drop applied as a bit mask (GCC 12 does not if-convert `keep ? v : 0.0f` here and leaves a
// branch on a coin flip, mispredicted half the time: ~5 ns per element, 13 % of a ComP step).
// On x86-64 GCC also builds an AVX2 clone chosen at load time; integer hashing and one float
// multiply give the same bits in either clone.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
void mask_range(const float* in, float* out, int64_t begin, int64_t end, uint32_t k0, uint32_t k1,
                uint32_t keep_below, float scale) {
  for (int64_t i = begin; i < end; ++i) {
    const float kept = in[i] * scale;
    uint32_t bits;
    std::memcpy(&bits, &kept, sizeof bits);
    bits &= 0U - static_cast<uint32_t>(keep_hash(static_cast<uint64_t>(i), k0, k1) < keep_below);  // all ones or 0
    std::memcpy(out + i, &bits, sizeof bits);
  }
}

// splitmix64's output function (Steele, Lea, Flood 2014): turns the call's seed into the two
// hash keys, so nearby seeds (tests pass 123 and 124) give unrelated keys.
inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void apply_mask(const float* in, float* out, int64_t n, uint64_t seed, uint32_t keep_below, float scale) {
  const uint64_t key = mix64(seed);
  const auto k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  // 64 K elements (256 KiB) per task: below that the OpenMP hand-off costs more than it saves.
  at::parallel_for(0, n, 65536, [=](int64_t begin, int64_t end) {
    mask_range(in, out, begin, end, k0, k1, keep_below, scale);
  });
}

struct MaskParams {
  uint32_t keep_below;
  float scale;
};

MaskParams mask_params(double p) {
  // keep when hash < (1 - p) 2^32. p is in (0, 1) here (p == 0 returns before), so the product is
  // below 2^32 except for p < 1.2e-16 where 1 - p rounds to 1; the clamp then keeps with
  // probability 1 - 2^-32 instead of 1 - p, a difference below 2^-32.
  const double kb = std::min((1.0 - p) * 4294967296.0, 4294967295.0);
  return {static_cast<uint32_t>(kb), static_cast<float>(1.0 / (1.0 - p))};
}

torch::Tensor masked_copy(const torch::Tensor& x, double p, uint64_t seed) {
  const auto in = x.contiguous();
  auto out = torch::empty_like(in);
  const MaskParams mp = mask_params(p);
  apply_mask(in.data_ptr<float>(), out.data_ptr<float>(), in.numel(), seed, mp.keep_below, mp.scale);
  return out;
}

class DropoutFunction : public torch::autograd::Function<DropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, double p,
                               int64_t seed_bits) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed_bits;
    return masked_copy(x, p, static_cast<uint64_t>(seed_bits));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const double p = ctx->saved_data["p"].toDouble();
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    // d out_i / d x_i = keep(i) * scale: the same mask applied to the incoming gradient.
    return {masked_copy(grad[0], p, seed), torch::Tensor(), torch::Tensor()};
  }
};

void check_rate(double p) { TORCH_CHECK(p >= 0.0 && p < 1.0, "merc::nn::counter_dropout: p must be in [0, 1), got ", p); }

uint64_t draw_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

bool fast_path(const torch::Tensor& x) { return x.device().is_cpu() && x.scalar_type() == torch::kFloat32; }

}  // namespace

torch::Tensor counter_dropout_with_seed(const torch::Tensor& x, double p, uint64_t seed) {
  check_rate(p);
  TORCH_CHECK(fast_path(x), "merc::nn::counter_dropout_with_seed: expected a CPU float32 tensor, got ", x.scalar_type(),
              " on ", x.device());
  if (p == 0.0) return x;
  return DropoutFunction::apply(x, p, static_cast<int64_t>(seed));
}

torch::Tensor counter_dropout(const torch::Tensor& x, double p, bool training) {
  check_rate(p);
  if (!training || p == 0.0) return x;
  if (!fast_path(x)) return torch::dropout(x, p, true);
  return counter_dropout_with_seed(x, p, draw_seed());
}

DropoutImpl::DropoutImpl(double p_) : p(p_) { reset(); }

void DropoutImpl::reset() { check_rate(p); }

void DropoutImpl::pretty_print(std::ostream& stream) const { stream << "merc::nn::Dropout(p=" << p << ")"; }

}  // namespace merc::nn
