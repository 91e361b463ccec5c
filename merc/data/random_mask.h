#pragma once
// GCNet's random missing-modality mask (`random_mask(view_num, input_len, missing_rate)` in
// zeroQiaoba/GCNet gcnet/train_gcnet.py, the CPM-Net scheme; the same function is in ComP's
// train_mr.py; method_reference.md §2.4a), re-implemented so that, driven by a NumpyRandomState in
// the same state as numpy's global generator, it returns the same matrix bit for bit.
//
// Algorithm (one_rate = 1 - missing_rate, V = view_num, L = input_len; all arithmetic in double,
// int() truncates toward zero, as in Python):
//   one_rate <= 1/V : one-hot of randint(0, V, size=L)        -> exactly one view kept per row
//   one_rate == 1   : all ones (numpy's randint(1, 2) draws nothing: no randomness consumed)
//   otherwise       : A = max(L, 32); repeat
//       keep  = one-hot of randint(0, V, size=A)              (>= 1 view per row)
//       n1    = V*A*one_rate - A                              (ones still to add)
//       it    = randint(0, 100, size=(A, V)) < int(100 * n1 / (V*A))
//       a     = #(it AND keep)                                (overlaps wasted)
//       it    = randint(0, 100, size=(A, V)) < int(100 * (n1 / (1 - a/n1)) / (V*A))
//       M     = it OR keep
//     until |one_rate - mean(M)| < 0.005; return the first L rows of M.
// Draw order: randint fills are row-major (row r, views 0..V-1), exactly as numpy fills (A, V).
// So mean(M) is within 0.005 of one_rate over the A >= 32 rows drawn; the L returned rows of a short
// input (L < 32) can deviate more. A rate above 1 - 1/V keeps exactly one view (effective missing
// rate 1 - 1/V; GCNet asserts rate <= 0.7 for V = 3).
//
// Differences from Python, only where Python would fail: rates outside [0, 1] or NaN are a
// merc::Error (Python loops forever or crashes); so is a length/rate for which no count of ones k
// has |k/(A*V) - one_rate| < 0.005, where Python's loop can never end (random_mask_can_finish;
// for V = 3 and rates 0.1 ... 0.6 the only such case is A = 33 at rate 0.5); a loop that has not met
// the tolerance after kRandomMaskMaxTries tries throws (a backstop; typical rates need ~10). A zero
// denominator 1 - a/n1 (Python: OverflowError converting inf to int) rejects the pass and draws
// again, so the protocol never stops a run there; every draw sequence Python completes is
// reproduced unchanged.

#include <cstdint>
#include <vector>

#include "merc/data/numpy_random.h"

namespace merc::data {

inline constexpr int64_t kRandomMaskMinRows = 32;      // GCNet: alldata_len = max(input_len, 32)
inline constexpr double kRandomMaskTolerance = 0.005;  // GCNet: while error >= 0.005
inline constexpr int64_t kRandomMaskMaxTries = 10000;  // ours; typical rates need ~10 tries

// (rows, views) keep matrix, row-major, 1 = view kept. GCNet's column order for V = 3 is
// (audio, text, visual).
struct RandomMask {
  int64_t rows = 0;
  int views = 0;
  std::vector<uint8_t> keep;

  uint8_t at(int64_t row, int view) const { return keep[static_cast<size_t>(row * views + view)]; }
  double mean() const;  // fraction of ones (0 for an empty matrix)
};

// False when GCNet's loop can never end for this length and rate (see above); true for the
// one-hot and all-ones paths.
bool random_mask_can_finish(int64_t input_len, double missing_rate, int view_num = 3);

// GCNet's random_mask(view_num, input_len, missing_rate), advancing `rng` exactly as numpy's
// global generator would advance. view_num >= 1, input_len >= 0, missing_rate in [0, 1].
RandomMask random_mask(NumpyRandomState& rng, int64_t input_len, double missing_rate, int view_num = 3);

}  // namespace merc::data
