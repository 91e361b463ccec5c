#include "merc/data/random_mask.h"

#include <algorithm>
#include <cmath>

#include "merc/core/error.h"

namespace merc::data {
namespace {

// One row per draw of randint(0, V, size=rows): a one-hot row with the drawn view set.
void one_hot_rows(NumpyRandomState& rng, int64_t rows, int views, std::vector<uint8_t>& out) {
  out.assign(static_cast<size_t>(rows * views), 0);
  const std::vector<int64_t> pick = rng.randint(0, views, rows);
  for (int64_t r = 0; r < rows; ++r) out[static_cast<size_t>(r * views + pick[static_cast<size_t>(r)])] = 1;
}

// Python's int(x) for the thresholds: truncation toward zero; non-finite or huge values would make
// Python raise, so they are errors here too.
int64_t python_int(double x, int64_t rows, double missing_rate) {
  MERC_CHECK(std::isfinite(x) && std::fabs(x) < 9.0e18,
             "random_mask: threshold {} is not a finite integer (rows {}, missing rate {}); GCNet's code "
             "would fail here too",
             x, rows, missing_rate);
  return static_cast<int64_t>(std::trunc(x));
}

}  // namespace

double RandomMask::mean() const {
  if (keep.empty()) return 0.0;
  int64_t ones = 0;
  for (uint8_t k : keep) ones += k;
  return static_cast<double>(ones) / static_cast<double>(keep.size());
}

bool random_mask_can_finish(int64_t input_len, double missing_rate, int view_num) {
  const double one_rate = 1.0 - missing_rate;
  if (one_rate <= 1.0 / view_num || one_rate == 1.0) return true;
  const int64_t cells = std::max(input_len, kRandomMaskMinRows) * view_num;
  const auto cells_d = static_cast<double>(cells);
  // The loop's test on the count of ones k, with the same floating-point expression; only the
  // integers next to one_rate * cells can pass.
  const auto nearest = static_cast<int64_t>(std::floor(one_rate * cells_d));
  for (int64_t k = std::max<int64_t>(0, nearest - 1); k <= std::min(cells, nearest + 2); ++k) {
    if (std::fabs(one_rate - static_cast<double>(k) / cells_d) < kRandomMaskTolerance) return true;
  }
  return false;
}

RandomMask random_mask(NumpyRandomState& rng, int64_t input_len, double missing_rate, int view_num) {
  MERC_CHECK(view_num >= 1, "random_mask: view_num must be >= 1, got {}", view_num);
  MERC_CHECK(input_len >= 0, "random_mask: input_len must be >= 0, got {}", input_len);
  MERC_CHECK(missing_rate >= 0.0 && missing_rate <= 1.0, "random_mask: missing rate must be in [0, 1], got {}",
             missing_rate);
  RandomMask m;
  m.rows = input_len;
  m.views = view_num;
  const double one_rate = 1.0 - missing_rate;

  if (one_rate <= 1.0 / view_num) {
    one_hot_rows(rng, input_len, view_num, m.keep);
    return m;
  }
  if (one_rate == 1.0) {
    m.keep.assign(static_cast<size_t>(input_len * view_num), 1);
    return m;
  }

  MERC_CHECK(random_mask_can_finish(input_len, missing_rate, view_num),
             "random_mask: no count of ones over {} rows x {} views is within {} of keep rate {}, so GCNet's loop "
             "would never end",
             std::max(input_len, kRandomMaskMinRows), view_num, kRandomMaskTolerance, one_rate);
  const int64_t all_rows = std::max(input_len, kRandomMaskMinRows);
  const int64_t cells = all_rows * view_num;
  const auto cells_d = static_cast<double>(cells);
  std::vector<uint8_t> keep;
  std::vector<int64_t> draws(static_cast<size_t>(cells));
  std::vector<uint8_t> matrix(static_cast<size_t>(cells));
  for (int64_t tries = 0;; ++tries) {
    MERC_CHECK(tries < kRandomMaskMaxTries,
               "random_mask: no mask within {} of keep rate {} after {} tries ({} rows x {} views)",
               kRandomMaskTolerance, one_rate, kRandomMaskMaxTries, all_rows, view_num);
    one_hot_rows(rng, all_rows, view_num, keep);

    const double one_num = cells_d * one_rate - static_cast<double>(all_rows);
    const int64_t threshold1 = python_int(one_num / cells_d * 100.0, input_len, missing_rate);
    rng.randint_fill(0, 100, draws.data(), cells);
    int64_t overlap = 0;
    for (int64_t c = 0; c < cells; ++c) {
      overlap += (draws[static_cast<size_t>(c)] < threshold1) && keep[static_cast<size_t>(c)];
    }

    const double denominator = 1.0 - static_cast<double>(overlap) / one_num;
    // Every wasted draw overlapped a kept view: GCNet's code divides by zero here and Python stops
    // (OverflowError). A training run must not: the pass is rejected like one that misses the
    // tolerance, and the loop draws again. (Only reachable when n1 is a small whole number, e.g.
    // 35 rows at rate 0.6: n1 = 7.)
    if (denominator == 0.0) continue;
    const double one_num_iter = one_num / denominator;
    const int64_t threshold2 = python_int(one_num_iter / cells_d * 100.0, input_len, missing_rate);
    rng.randint_fill(0, 100, draws.data(), cells);
    int64_t ones = 0;
    for (int64_t c = 0; c < cells; ++c) {
      const auto i = static_cast<size_t>(c);
      matrix[i] = (draws[i] < threshold2) || keep[i];
      ones += matrix[i];
    }
    const double ratio = static_cast<double>(ones) / cells_d;
    if (std::fabs(one_rate - ratio) < kRandomMaskTolerance) break;
  }
  matrix.resize(static_cast<size_t>(input_len * view_num));
  m.keep = std::move(matrix);
  return m;
}

}  // namespace merc::data
