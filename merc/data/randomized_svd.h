#pragma once
// Randomized truncated SVD of a sparse matrix (Halko, Martinsson & Tropp, "Finding structure with
// randomness", SIAM Review 2011: Algorithm 4.4, randomized subspace iteration, then Algorithm 5.1).
// Used by the transcript featurizer to reduce hashed TF-IDF rows to a small dense dimension; like
// scikit-learn's TruncatedSVD it does not centre the matrix (centring would densify it).
//
// Determinism: the Gaussian test matrix comes from std::mt19937_64 and a Box-Muller transform
// written here (std::normal_distribution's algorithm is implementation-defined); the sparse
// products compute each output row in one fixed order, so their results do not depend on the
// number of threads; dense QR/SVD run in double precision through LibTorch. Singular vectors are
// defined up to sign, so each right singular vector is flipped to make its largest-magnitude
// entry positive (first such entry on ties).

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace merc::data {

// Sparse (rows x cols) double matrix, compressed sparse rows. Column indices are strictly
// increasing within a row; explicit zeros are allowed but never produced by this project.
struct CsrMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> row_ptr = {0};  // rows + 1 entries, row_ptr[0] = 0
  std::vector<int64_t> col_index;      // nnz
  std::vector<double> values;          // nnz

  int64_t nnz() const { return static_cast<int64_t>(values.size()); }
  CsrMatrix transposed() const;
  torch::Tensor to_dense() const;  // (rows, cols) float64, for tests and small matrices
  // Squared Frobenius norm, summed in row order.
  double squared_norm() const;
  // Throws merc::Error when row_ptr/col_index are inconsistent (a programming error, not data).
  void check() const;
};

// Entries of `dense` ((rows, cols), any floating dtype) that are not zero.
CsrMatrix csr_from_dense(const torch::Tensor& dense);

// a (rows x cols) times d ((cols, k) float64, contiguous) -> (rows, k) float64.
torch::Tensor sparse_times_dense(const CsrMatrix& a, const torch::Tensor& d);

// (rows, cols) float64 of independent standard normals from std::mt19937_64(seed), filled in
// row-major order, two per Box-Muller pair.
torch::Tensor gaussian_matrix(int64_t rows, int64_t cols, uint64_t seed);

// Flips columns of `v` ((n, k) float64) in place so each column's largest-|value| entry is > 0.
void make_signs_deterministic(torch::Tensor& v);

struct RandomizedSvdOptions {
  int64_t rank = 100;          // k: triplets wanted; 1 <= k <= min(rows, non-empty columns)
  int64_t oversample = 10;     // p: extra random directions (Halko §4.2 recommends 5-10)
  int power_iterations = 4;    // q: subspace iterations; error decays like (s_{k+1}/s_k)^(2q+1)
  uint64_t seed = 0;
};

struct TruncatedSvd {
  torch::Tensor singular_values;  // (k) float64, descending
  torch::Tensor components;       // (cols, k) float64: right singular vectors V_k (orthonormal columns)
};

// Columns of `a` without entries are left out of the computation (their rows of V_k are exactly
// 0), so the cost scales with the columns in use, not with `a.cols`.

TruncatedSvd randomized_svd(const CsrMatrix& a, const RandomizedSvdOptions& options);

}  // namespace merc::data
