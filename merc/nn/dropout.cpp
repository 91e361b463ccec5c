#include "merc/nn/dropout.h"

#include <mutex>
#include <ostream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/torch.h>

namespace merc::nn {

namespace {

// splitmix64's output function at counter j (Steele, Lea, Flood 2014): a bijective mix whose
// 64 output bits pass BigCrush; the two 32-bit halves give the keep decisions of elements 2j, 2j+1.
inline uint64_t mix(uint64_t seed, uint64_t j) {
  uint64_t z = seed + (j + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// out[i] = keep(i) ? in[i] * scale : 0 over n contiguous floats; in-place safe.
void apply_mask(const float* in, float* out, int64_t n, uint64_t seed, uint64_t keep_below, float scale) {
  const int64_t pairs = (n + 1) / 2;
  // 16 K pairs (128 KiB of floats) per task: below that the OpenMP hand-off costs more than it saves.
  at::parallel_for(0, pairs, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      const uint64_t z = mix(seed, static_cast<uint64_t>(j));
      const int64_t i = 2 * j;
      // Branch-free: the keep decision is a coin flip, so a branch would mispredict half the time
      // (that made this loop ~10 % of a ComP step).
      out[i] = in[i] * (scale * static_cast<float>((z & 0xFFFFFFFFULL) < keep_below));
      if (i + 1 < n) out[i + 1] = in[i + 1] * (scale * static_cast<float>((z >> 32) < keep_below));
    }
  });
}

struct MaskParams {
  uint64_t keep_below;
  float scale;
};

MaskParams mask_params(double p) {
  // keep when u32 < (1 - p) 2^32; 1 - p in (0, 1] so keep_below is in (0, 2^32].
  return {static_cast<uint64_t>((1.0 - p) * 4294967296.0), static_cast<float>(1.0 / (1.0 - p))};
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
