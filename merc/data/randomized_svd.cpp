#include "merc/data/randomized_svd.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <ATen/Parallel.h>

#include "merc/core/error.h"

namespace merc::data {
namespace {

// Rows per parallel task: a few thousand multiply-adds each keeps scheduling overhead small.
constexpr int64_t kSparseRowGrain = 256;

// Orthonormal basis of the column space of y ((n, l) float64), n >= l.
torch::Tensor qr_orthonormal_basis(const torch::Tensor& y) {
  return std::get<0>(torch::linalg_qr(y, "reduced")).contiguous();
}

}  // namespace

CsrMatrix CsrMatrix::transposed() const {
  check();
  CsrMatrix t;
  t.rows = cols;
  t.cols = rows;
  t.row_ptr.assign(static_cast<size_t>(cols + 1), 0);
  for (int64_t c : col_index) ++t.row_ptr[static_cast<size_t>(c + 1)];
  for (int64_t c = 0; c < cols; ++c) t.row_ptr[static_cast<size_t>(c + 1)] += t.row_ptr[static_cast<size_t>(c)];
  t.col_index.resize(col_index.size());
  t.values.resize(values.size());
  std::vector<int64_t> next(t.row_ptr.begin(), t.row_ptr.end() - 1);
  // Visiting rows in order keeps the transposed rows' column indices increasing.
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = row_ptr[static_cast<size_t>(r)]; k < row_ptr[static_cast<size_t>(r + 1)]; ++k) {
      const int64_t dst = next[static_cast<size_t>(col_index[static_cast<size_t>(k)])]++;
      t.col_index[static_cast<size_t>(dst)] = r;
      t.values[static_cast<size_t>(dst)] = values[static_cast<size_t>(k)];
    }
  }
  return t;
}

torch::Tensor CsrMatrix::to_dense() const {
  check();
  torch::Tensor out = torch::zeros({rows, cols}, torch::kFloat64);
  double* p = out.data_ptr<double>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = row_ptr[static_cast<size_t>(r)]; k < row_ptr[static_cast<size_t>(r + 1)]; ++k)
      p[r * cols + col_index[static_cast<size_t>(k)]] = values[static_cast<size_t>(k)];
  return out;
}

double CsrMatrix::squared_norm() const {
  double s = 0.0;
  for (double v : values) s += v * v;
  return s;
}

void CsrMatrix::check() const {
  MERC_CHECK(rows >= 0 && cols >= 0, "CsrMatrix: negative shape ({}, {})", rows, cols);
  MERC_CHECK(static_cast<int64_t>(row_ptr.size()) == rows + 1 && row_ptr.front() == 0 &&
                 row_ptr.back() == nnz() && col_index.size() == values.size(),
             "CsrMatrix: row_ptr has {} entries (want {}) ending at {}, {} column indices, {} values",
             row_ptr.size(), rows + 1, row_ptr.back(), col_index.size(), values.size());
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = row_ptr[static_cast<size_t>(r)], e = row_ptr[static_cast<size_t>(r + 1)];
    MERC_CHECK(b <= e, "CsrMatrix: row_ptr decreases at row {}", r);
    for (int64_t k = b; k < e; ++k) {
      const int64_t c = col_index[static_cast<size_t>(k)];
      MERC_CHECK(c >= 0 && c < cols && (k == b || c > col_index[static_cast<size_t>(k - 1)]),
                 "CsrMatrix: row {} has column {} out of order or out of [0, {})", r, c, cols);
    }
  }
}

CsrMatrix csr_from_dense(const torch::Tensor& dense) {
  MERC_CHECK(dense.dim() == 2, "csr_from_dense: want a 2-d tensor, got {} dims", dense.dim());
  const torch::Tensor d = dense.to(torch::kFloat64).contiguous();
  CsrMatrix m;
  m.rows = d.size(0);
  m.cols = d.size(1);
  const double* p = d.data_ptr<double>();
  for (int64_t r = 0; r < m.rows; ++r) {
    for (int64_t c = 0; c < m.cols; ++c) {
      const double v = p[r * m.cols + c];
      if (v != 0.0) {
        m.col_index.push_back(c);
        m.values.push_back(v);
      }
    }
    m.row_ptr.push_back(m.nnz());
  }
  return m;
}

torch::Tensor sparse_times_dense(const CsrMatrix& a, const torch::Tensor& d) {
  TORCH_CHECK(d.dim() == 2 && d.size(0) == a.cols && d.scalar_type() == torch::kFloat64,
              "sparse_times_dense: want a (", a.cols, ", k) float64 matrix, got ", d.sizes(), " ",
              d.scalar_type());
  const torch::Tensor dc = d.contiguous();
  const int64_t k = dc.size(1);
  torch::Tensor out = torch::zeros({a.rows, k}, torch::kFloat64);
  const double* dp = dc.data_ptr<double>();
  double* op = out.data_ptr<double>();
  // Each output row is one task's, accumulated in the row's stored order: the result is the same
  // for any number of threads.
  at::parallel_for(0, a.rows, kSparseRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      double* orow = op + r * k;
      for (int64_t e = a.row_ptr[static_cast<size_t>(r)]; e < a.row_ptr[static_cast<size_t>(r + 1)]; ++e) {
        const double v = a.values[static_cast<size_t>(e)];
        const double* drow = dp + a.col_index[static_cast<size_t>(e)] * k;
        for (int64_t j = 0; j < k; ++j) orow[j] += v * drow[j];
      }
    }
  });
  return out;
}

torch::Tensor gaussian_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  MERC_CHECK(rows >= 0 && cols >= 0, "gaussian_matrix: negative shape ({}, {})", rows, cols);
  std::mt19937_64 gen(seed);
  // 53 random bits -> uniform in (0, 1]; the open end at 0 keeps log() finite.
  auto uniform = [&gen]() { return (static_cast<double>(gen() >> 11) + 1.0) * 0x1.0p-53; };
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  torch::Tensor out = torch::empty({rows, cols}, torch::kFloat64);
  double* p = out.data_ptr<double>();
  const int64_t n = rows * cols;
  for (int64_t i = 0; i < n; i += 2) {
    const double radius = std::sqrt(-2.0 * std::log(uniform()));
    const double angle = kTwoPi * uniform();
    p[i] = radius * std::cos(angle);
    if (i + 1 < n) p[i + 1] = radius * std::sin(angle);
  }
  return out;
}

void make_signs_deterministic(torch::Tensor& v) {
  TORCH_CHECK(v.dim() == 2 && v.scalar_type() == torch::kFloat64 && v.is_contiguous(),
              "make_signs_deterministic: want a contiguous 2-d float64 matrix");
  const int64_t n = v.size(0), k = v.size(1);
  double* p = v.data_ptr<double>();
  for (int64_t j = 0; j < k; ++j) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
      if (std::abs(p[i * k + j]) > std::abs(p[best * k + j])) best = i;
    if (n > 0 && p[best * k + j] < 0)
      for (int64_t i = 0; i < n; ++i) p[i * k + j] = -p[i * k + j];
  }
}

TruncatedSvd randomized_svd(const CsrMatrix& a, const RandomizedSvdOptions& options) {
  a.check();
  // Columns without entries have exactly zero rows in V; leaving them out makes every
  // (cols, l) product, QR and the final SVD proportionally cheaper (a hashed TF-IDF matrix uses a
  // fraction of its buckets).
  std::vector<int64_t> used_cols;  // compact index -> original column
  std::vector<int64_t> compact_of(static_cast<size_t>(a.cols), -1);
  for (int64_t c : a.col_index) compact_of[static_cast<size_t>(c)] = 0;
  for (int64_t c = 0; c < a.cols; ++c)
    if (compact_of[static_cast<size_t>(c)] == 0) {
      compact_of[static_cast<size_t>(c)] = static_cast<int64_t>(used_cols.size());
      used_cols.push_back(c);
    }
  const int64_t num_used = static_cast<int64_t>(used_cols.size());
  const int64_t max_rank = std::min(a.rows, num_used);
  MERC_CHECK(options.rank >= 1 && options.rank <= max_rank,
             "randomized_svd: rank {} must be in [1, min(rows = {}, non-empty columns = {})]", options.rank, a.rows,
             num_used);
  MERC_CHECK(options.oversample >= 0 && options.power_iterations >= 0,
             "randomized_svd: oversample ({}) and power_iterations ({}) must be >= 0",
             options.oversample, options.power_iterations);
  CsrMatrix ac = a;
  ac.cols = num_used;
  for (auto& c : ac.col_index) c = compact_of[static_cast<size_t>(c)];  // order within rows is kept
  const CsrMatrix at = ac.transposed();
  const int64_t width = std::min(options.rank + options.oversample, max_rank);  // l = k + p

  // 1. Range finder: Q spans A * Omega, Omega (used cols, l) Gaussian.
  torch::Tensor q = qr_orthonormal_basis(sparse_times_dense(ac, gaussian_matrix(num_used, width, options.seed)));
  // 2. Subspace iteration, re-orthonormalising after every product so directions belonging to
  //    small singular values are not lost to rounding (Halko Algorithm 4.4).
  for (int it = 0; it < options.power_iterations; ++it) {
    const torch::Tensor z = qr_orthonormal_basis(sparse_times_dense(at, q));  // (used cols, l)
    q = qr_orthonormal_basis(sparse_times_dense(ac, z));                        // (rows, l)
  }
  // 3. B^T = A^T Q (used cols, l); its left singular vectors are A's right singular vectors.
  const torch::Tensor bt = sparse_times_dense(at, q);
  auto [u, s, vh] = torch::linalg_svd(bt, /*full_matrices=*/false);
  TruncatedSvd out;
  out.singular_values = s.slice(0, 0, options.rank).contiguous();
  out.components = torch::zeros({a.cols, options.rank}, torch::kFloat64);
  out.components.index_copy_(0, torch::tensor(used_cols, torch::kInt64), u.slice(1, 0, options.rank));
  make_signs_deterministic(out.components);
  return out;
}

}  // namespace merc::data
