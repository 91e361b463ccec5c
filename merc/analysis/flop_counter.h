#pragma once
// FLOPs of a piece of code from an operation count: a thread-local at::RecordFunction callback sees
// every ATen operator the code dispatches, with its input and output shapes, and adds an analytic
// count per operator (MoED's `--overhead` uses fvcore in Python; docs/analysis/overhead.md says how
// the two differ).
//
// Conventions:
// - matrix products (mm, addmm, bmm, baddbmm, matmul, linear, einsum's leaves) and convolutions
//   count multiply-accumulates (MACs): M*N*K for an (M,K)x(K,N) product, output elements times
//   (C_in/groups * kernel size) for a convolution. The bias add of addmm/linear/conv is not counted
//   (as fvcore). flops = 2 * macs (torch's profiler convention: a multiply-add is 2 FLOPs);
//   fvcore's "flop" is one MAC, i.e. macs here.
// - elementwise, activation, softmax and normalisation operators count 1 FLOP per output element
//   (elementwise_flops), kept apart so that either convention can be reported.
// - nested scopes: aten::linear calls aten::addmm (or matmul -> mm) inside, softmax calls _softmax.
//   Only the OUTERMOST counted operator of a nest is counted; operators inside a counted one are
//   ignored. Operators with no formula (views, copies, indexing, RNN wrappers) are not counted, but
//   their counted children are (aten::gru's inner linears count at their own level).

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace merc::analysis {

struct OpFlops {
  int64_t calls = 0;
  int64_t macs = 0;               // matrix products and convolutions
  int64_t elementwise_flops = 0;  // 1 per output element
};

struct FlopCount {
  int64_t macs = 0;               // fvcore's "flops" (1 MAC = 1)
  int64_t elementwise_flops = 0;  // 1 per output element of elementwise/activation/softmax/norm ops
  std::map<std::string, OpFlops> per_op;  // counted operators by name ("aten::addmm", ...)
  // Operators seen outside any counted operator that have no formula, with their call counts:
  // views and copies (free) but also anything a new model uses that the table misses.
  std::map<std::string, int64_t> uncounted;
  int64_t matmul_flops() const { return 2 * macs; }  // torch profiler convention
  int64_t total_flops() const { return 2 * macs + elementwise_flops; }
};

// Runs fn on the calling thread with the counter installed and returns what it dispatched.
// Not reentrant (one count per thread at a time: merc::Error otherwise). Work that fn hands to other
// threads through ATen's intra-op pool is seen where it is dispatched (on this thread).
FlopCount count_flops(const std::function<void()>& fn);

}  // namespace merc::analysis
