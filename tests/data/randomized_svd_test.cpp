#include "merc/data/randomized_svd.h"

#include <gtest/gtest.h>

#include "merc/core/error.h"

// A namespace of its own: the unity build compiles several test files as one translation unit.
namespace merc::data::randomized_svd_test {
namespace {

// (rows, cols) float64 with orthonormal columns: Q of the QR of a fixed Gaussian matrix.
torch::Tensor orthonormal(int64_t rows, int64_t cols, uint64_t seed) {
  return std::get<0>(torch::linalg_qr(gaussian_matrix(rows, cols, seed), "reduced")).contiguous();
}

// U diag(s) V^T with U (m, r), V (n, r) orthonormal: a matrix whose singular values are exactly s
// and right singular vectors exactly V (up to rounding).
struct KnownSvd {
  torch::Tensor a, s, v;
};
KnownSvd known_svd(int64_t m, int64_t n, const std::vector<double>& s) {
  const int64_t r = static_cast<int64_t>(s.size());
  const torch::Tensor u = orthonormal(m, r, 11);
  const torch::Tensor v = orthonormal(n, r, 12);
  const torch::Tensor sv = torch::tensor(s, torch::kFloat64);
  return {u.mul(sv).matmul(v.t()), sv, v};
}

TEST(RandomizedSvd, CsrRoundTripTransposeAndProduct) {
  const torch::Tensor dense =
      torch::tensor({0.0, 2.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 3.5, 0.0, 4.0, 0.5}, torch::kFloat64).reshape({3, 4});
  const CsrMatrix m = csr_from_dense(dense);
  EXPECT_EQ(m.nnz(), 5);
  EXPECT_EQ(m.row_ptr, (std::vector<int64_t>{0, 2, 2, 5}));
  EXPECT_EQ(m.col_index, (std::vector<int64_t>{1, 3, 0, 2, 3}));
  EXPECT_TRUE(torch::equal(m.to_dense(), dense));
  EXPECT_TRUE(torch::equal(m.transposed().to_dense(), dense.t()));
  EXPECT_DOUBLE_EQ(m.squared_norm(), 4.0 + 1.0 + 12.25 + 16.0 + 0.25);
  // Row 0 of m * d by hand: 2 * d[1] - 1 * d[3] with d[i] = (i, 10 i).
  const torch::Tensor d = torch::tensor({0.0, 0.0, 1.0, 10.0, 2.0, 20.0, 3.0, 30.0}, torch::kFloat64).reshape({4, 2});
  const torch::Tensor p = sparse_times_dense(m, d);
  EXPECT_DOUBLE_EQ(p[0][0].item<double>(), 2.0 * 1.0 - 3.0);
  EXPECT_DOUBLE_EQ(p[0][1].item<double>(), 2.0 * 10.0 - 30.0);
  EXPECT_DOUBLE_EQ(p[1][0].item<double>(), 0.0);
  // Every entry is a sum of at most 3 exactly representable products, so dense BLAS agrees exactly.
  EXPECT_TRUE(torch::equal(p, dense.matmul(d)));
  EXPECT_THROW(sparse_times_dense(m, torch::zeros({3, 2}, torch::kFloat64)), c10::Error);
}

TEST(RandomizedSvd, CsrCheckRejectsBrokenStructure) {
  CsrMatrix m = csr_from_dense(torch::eye(3, torch::kFloat64));
  m.col_index[1] = 7;  // out of range
  EXPECT_THROW(m.check(), merc::Error);
  m = csr_from_dense(torch::eye(3, torch::kFloat64));
  m.row_ptr.back() = 2;
  EXPECT_THROW(m.check(), merc::Error);
}

TEST(RandomizedSvd, GaussianMatrixIsSeededStandardNormal) {
  const torch::Tensor g = gaussian_matrix(500, 201, 7);  // odd count: the last pair is cut
  EXPECT_TRUE(torch::equal(g, gaussian_matrix(500, 201, 7)));
  EXPECT_FALSE(torch::equal(g, gaussian_matrix(500, 201, 8)));
  // n = 100500 samples: sd of the mean is 1/sqrt(n) = 0.0032, of the variance sqrt(2/n) = 0.0045;
  // 5 sd bounds. A uniform or wrongly scaled generator fails the variance or the tail check.
  EXPECT_NEAR(g.mean().item<double>(), 0.0, 5 * 0.0032);
  EXPECT_NEAR(g.var().item<double>(), 1.0, 5 * 0.0045);
  // P(|z| > 2) = 0.0455, sd of the fraction sqrt(p (1 - p) / n) = 0.00066.
  EXPECT_NEAR(g.abs().gt(2.0).to(torch::kFloat64).mean().item<double>(), 0.0455, 5 * 0.00066);
  EXPECT_TRUE(torch::isfinite(g).all().item<bool>());
}

TEST(RandomizedSvd, SignConventionMakesLargestLoadingPositive) {
  torch::Tensor v = torch::tensor({0.1, -0.9, -0.5, 0.2, 0.3, 0.1}, torch::kFloat64).reshape({3, 2});
  make_signs_deterministic(v);
  // Column 0's largest |value| is -0.5 and column 1's is -0.9: both columns flip.
  EXPECT_TRUE(torch::equal(v, torch::tensor({-0.1, 0.9, 0.5, -0.2, -0.3, -0.1}, torch::kFloat64).reshape({3, 2})));
  make_signs_deterministic(v);  // idempotent
  EXPECT_TRUE(torch::equal(v, torch::tensor({-0.1, 0.9, 0.5, -0.2, -0.3, -0.1}, torch::kFloat64).reshape({3, 2})));
}

TEST(RandomizedSvd, RecoversExactLowRankMatrix) {
  // Rank 8 <= k + p = 5 + 10: in exact arithmetic A * Omega spans range(A), so the recovered top
  // singular values and vectors are exact; only double rounding (~1e-15 per op, a few thousand
  // ops) remains. 1e-10 relative leaves room for that and fails on any algorithmic error.
  constexpr double kRoundingTol = 1e-10;
  const KnownSvd k = known_svd(120, 300, {100, 50, 25, 12, 6, 3, 1.5, 0.75});
  const CsrMatrix a = csr_from_dense(k.a);
  const TruncatedSvd svd = randomized_svd(a, {/*rank=*/5, /*oversample=*/10, /*power_iterations=*/2, /*seed=*/1});
  ASSERT_EQ(svd.singular_values.sizes(), (c10::IntArrayRef{5}));
  ASSERT_EQ(svd.components.sizes(), (c10::IntArrayRef{300, 5}));
  for (int i = 0; i < 5; ++i) {
    const double want = k.s[i].item<double>();
    EXPECT_NEAR(svd.singular_values[i].item<double>(), want, kRoundingTol * want) << "singular value " << i;
    // Same direction as the true right singular vector, up to sign.
    const double cosine = svd.components.select(1, i).dot(k.v.select(1, i)).abs().item<double>();
    EXPECT_NEAR(cosine, 1.0, kRoundingTol) << "component " << i;
  }
  // Orthonormal components.
  EXPECT_TRUE(torch::allclose(svd.components.t().matmul(svd.components), torch::eye(5, torch::kFloat64), 0, kRoundingTol));
  // Largest loading of each component positive.
  const auto idx = svd.components.abs().argmax(0);
  for (int i = 0; i < 5; ++i) EXPECT_GT(svd.components[idx[i].item<int64_t>()][i].item<double>(), 0.0);
  // Another seed: another test matrix, the same (sign-fixed) answer.
  const TruncatedSvd other = randomized_svd(a, {5, 10, 2, /*seed=*/99});
  EXPECT_TRUE(torch::allclose(other.components, svd.components, 0, kRoundingTol));
}

TEST(RandomizedSvd, EmptyColumnsGetZeroLoadings) {
  // The known matrix with 50 empty columns inserted before it: the same singular values and
  // components, with exactly zero rows for the empty columns.
  const KnownSvd k = known_svd(40, 60, {5, 4, 3, 2, 1});
  const torch::Tensor wide = torch::cat({torch::zeros({40, 50}, torch::kFloat64), k.a}, 1);
  const TruncatedSvd narrow_svd = randomized_svd(csr_from_dense(k.a), {3, 5, 2, 4});
  const TruncatedSvd wide_svd = randomized_svd(csr_from_dense(wide), {3, 5, 2, 4});
  EXPECT_TRUE(torch::equal(wide_svd.components.slice(0, 0, 50), torch::zeros({50, 3}, torch::kFloat64)));
  // Same compacted problem, same seed: bitwise the same numbers.
  EXPECT_TRUE(torch::equal(wide_svd.components.slice(0, 50), narrow_svd.components));
  EXPECT_TRUE(torch::equal(wide_svd.singular_values, narrow_svd.singular_values));
  // Rank is limited by the non-empty columns (3 here), not by the shape (6, 8).
  torch::Tensor three = torch::zeros({6, 8}, torch::kFloat64);
  three.narrow(0, 0, 3).narrow(1, 0, 3).copy_(torch::eye(3, torch::kFloat64));
  EXPECT_THROW(randomized_svd(csr_from_dense(three), {4, 0, 0, 0}), merc::Error);
  EXPECT_NO_THROW(randomized_svd(csr_from_dense(three), {3, 0, 0, 0}));
}

TEST(RandomizedSvd, ApproximatesSlowlyDecayingSpectrum) {
  // Full rank 80 with s_i = 1 / i: nothing is exact. Halko et al. Thm 9.2 / §10: with q power
  // iterations the error of the top singular values shrinks like (s_{k+p+1} / s_k)^(2q+1) =
  // (10 / 21)^9 = 1.3e-3 here (k = 10, p = 10, q = 4), times a modest constant. 1e-2 relative
  // allows the constant; with q = 0 the estimates are off by far more (checked below).
  constexpr double kApproxTol = 1e-2;
  std::vector<double> s;
  for (int i = 1; i <= 80; ++i) s.push_back(1.0 / i);
  const KnownSvd k = known_svd(150, 200, s);
  const CsrMatrix a = csr_from_dense(k.a);
  const TruncatedSvd svd = randomized_svd(a, {10, 10, 4, 3});
  for (int i = 0; i < 10; ++i)
    EXPECT_NEAR(svd.singular_values[i].item<double>(), s[static_cast<size_t>(i)], kApproxTol * s[static_cast<size_t>(i)])
        << "singular value " << i;
  // Without power iterations the 10th value is underestimated by more than the tolerance: the
  // iterations are doing real work (and this test would notice if they were skipped).
  const TruncatedSvd crude = randomized_svd(a, {10, 10, 0, 3});
  EXPECT_LT(crude.singular_values[9].item<double>(), s[9] * (1.0 - kApproxTol));
}

TEST(RandomizedSvd, RejectsBadRank) {
  const CsrMatrix a = csr_from_dense(torch::eye(4, torch::kFloat64));
  EXPECT_THROW(randomized_svd(a, {0, 10, 4, 0}), merc::Error);
  EXPECT_THROW(randomized_svd(a, {5, 10, 4, 0}), merc::Error);
  EXPECT_THROW(randomized_svd(a, {2, -1, 4, 0}), merc::Error);
  EXPECT_NO_THROW(randomized_svd(a, {4, 10, 4, 0}));  // k = min(rows, cols), l capped at 4
}

}  // namespace
}  // namespace merc::data::randomized_svd_test
