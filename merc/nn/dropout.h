#pragma once
// Dropout with a counter-based mask: the same function as torch's dropout (each element zeroed
// with probability p, the others scaled by 1 / (1 - p), identity outside training), computed in
// one parallel pass.
//
// Why not torch::dropout: LibTorch 1.13 (CPU, no MKL) draws the Bernoulli mask one element at a
// time from the single mt19937 generator, serially; ComP drops ~20 M activations per training
// step at p = 0.5, and the generator alone was 3-7 % of its step (perf, docs/benchmarks.md).
//
// The mask: one 64-bit value is drawn from torch's default CPU generator per call (so
// torch::manual_seed makes runs reproducible and checkpoints that save the generator state resume
// exactly); element i is kept when a keyed 32-bit hash of (seed, i) (two rounds of Wellons'
// lowbias32, dropout.cpp) is below (1 - p) * 2^32. The mask depends only on the seed and the
// element index, not on the thread count or the CPU's vector width. Backward recomputes the mask
// from the seed instead of storing it.
//
// Tensors other than CPU float32 (CUDA, double) go to torch::dropout. The backward pass is not
// itself differentiable (no double backward), as none of merc's losses needs it.
// The random stream differs from torch::dropout's, so a model that switches to it trains with
// other masks than before (same statistics).

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

// x: any shape. Returns x itself when !training or p == 0. p must be in [0, 1).
torch::Tensor counter_dropout(const torch::Tensor& x, double p, bool training);

// The same with an explicit mask seed (no generator draw): deterministic, for tests.
torch::Tensor counter_dropout_with_seed(const torch::Tensor& x, double p, uint64_t seed);

class DropoutImpl : public torch::nn::Cloneable<DropoutImpl> {
 public:
  explicit DropoutImpl(double p = 0.5);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& x) { return merc::nn::counter_dropout(x, p, is_training()); }

  double p;
};
TORCH_MODULE(Dropout);

}  // namespace merc::nn
