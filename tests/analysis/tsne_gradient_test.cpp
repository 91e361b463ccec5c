// The t-SNE gradient: exact against central finite differences of the KL, Barnes-Hut with
// theta = 0 against exact, and independent of the thread count.
#include "merc/analysis/tsne_gradient.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gaussian_clusters.h"
#include "merc/analysis/tsne_affinities.h"

namespace merc::analysis {
namespace tsne_gradient_test_detail {

struct GradientProblem {
  torch::Tensor p;        // (N, N) joint P
  std::vector<double> y;  // (N, 2) embedding
  int64_t n = 0;
};

GradientProblem random_gradient_problem(int64_t n, uint64_t seed) {
  const testing::Clusters c = testing::gaussian_clusters(3, n / 3, 6, 4.0, seed);
  GradientProblem pr;
  pr.n = c.x.size(0);
  pr.p = dense_joint_affinities(squared_distances(c.x), 5.0);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed + 100);
  const torch::Tensor y = torch::randn({pr.n, 2}, gen, torch::kFloat64).mul_(3.0);
  pr.y.assign(y.data_ptr<double>(), y.data_ptr<double>() + y.numel());
  return pr;
}

}  // namespace tsne_gradient_test_detail

namespace {

using namespace tsne_gradient_test_detail;

TEST(TsneGradient, ExactGradientIsTheDerivativeOfTheKl) {
  const GradientProblem pr = random_gradient_problem(12, 1);
  std::vector<double> grad(pr.y.size()), unused(pr.y.size());
  exact_gradient(pr.p, pr.y.data(), pr.n, 2, 1.0, grad.data(), false);
  const double h = 1e-5;
  double max_err = 0.0, max_grad = 0.0;
  for (size_t c = 0; c < pr.y.size(); ++c) {
    std::vector<double> yp = pr.y, ym = pr.y;
    yp[c] += h;
    ym[c] -= h;
    const double fd = (exact_gradient(pr.p, yp.data(), pr.n, 2, 1.0, unused.data(), true) -
                       exact_gradient(pr.p, ym.data(), pr.n, 2, 1.0, unused.data(), true)) /
                      (2 * h);
    max_err = std::max(max_err, std::fabs(fd - grad[c]));
    max_grad = std::max(max_grad, std::fabs(grad[c]));
  }
  ASSERT_GT(max_grad, 1e-3);  // a gradient worth comparing
  // Central differences: truncation h^2 |f'''| ~ 1e-10 plus rounding eps |KL| / h ~ 1e-11;
  // 1e-7 leaves room and still catches a missing factor or term (errors of order max_grad).
  EXPECT_LT(max_err, 1e-7) << "largest gradient entry " << max_grad;
}

TEST(TsneGradient, BarnesHutWithThetaZeroIsTheExactGradient) {
  const GradientProblem pr = random_gradient_problem(60, 2);
  std::vector<double> exact(pr.y.size()), bh(pr.y.size());
  const double kl_exact = exact_gradient(pr.p, pr.y.data(), pr.n, 2, 1.0, exact.data(), true);
  // Every off-diagonal entry of P is >= machine epsilon, so the sparse P holds every pair.
  const double kl_bh = barnes_hut_gradient(data::csr_from_dense(pr.p), pr.y.data(), pr.n, 0.0, 1.0, bh.data(), true);
  for (size_t c = 0; c < exact.size(); ++c)
    EXPECT_NEAR(bh[c], exact[c], 1e-12 * (1.0 + std::fabs(exact[c])));  // sums in another order only
  EXPECT_NEAR(kl_bh, kl_exact, 1e-12);
  // With theta 0.5 the repulsion is approximated: still close (a few percent of the gradient).
  std::vector<double> approx(pr.y.size());
  barnes_hut_gradient(data::csr_from_dense(pr.p), pr.y.data(), pr.n, 0.5, 1.0, approx.data(), false);
  double err = 0.0, norm = 0.0;
  for (size_t c = 0; c < exact.size(); ++c) {
    err += (approx[c] - exact[c]) * (approx[c] - exact[c]);
    norm += exact[c] * exact[c];
  }
  EXPECT_LT(std::sqrt(err / norm), 0.05);
}

TEST(TsneGradient, BarnesHutDoesNotDependOnTheThreadCount) {
  const GradientProblem pr = random_gradient_problem(300, 3);
  const data::CsrMatrix p = data::csr_from_dense(pr.p);
  const int saved = at::get_num_threads();
  std::vector<double> one(pr.y.size()), two(pr.y.size());
  at::set_num_threads(1);
  const double kl1 = barnes_hut_gradient(p, pr.y.data(), pr.n, 0.5, 12.0, one.data(), true);
  at::set_num_threads(2);
  const double kl2 = barnes_hut_gradient(p, pr.y.data(), pr.n, 0.5, 12.0, two.data(), true);
  at::set_num_threads(saved);
  EXPECT_EQ(one, two);  // bitwise: per-point sums, serial totals
  EXPECT_EQ(kl1, kl2);
}

TEST(TsneGradient, BarnesHutHandlesDuplicatePoints) {
  // Three copies of one point and two others: the copies stay one leaf (no endless splitting),
  // attract/repel nothing among themselves, but count towards Z as the exact sum does.
  const std::vector<double> y = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2.0, 1.0, -1.0, 0.0};
  const torch::Tensor p = torch::full({5, 5}, 1.0 / 20.0, torch::kFloat64).fill_diagonal_(0.0);
  std::vector<double> exact(10), bh(10);
  exact_gradient(p, y.data(), 5, 2, 1.0, exact.data(), false);
  barnes_hut_gradient(data::csr_from_dense(p), y.data(), 5, 0.0, 1.0, bh.data(), false);
  for (size_t c = 0; c < 10; ++c) EXPECT_NEAR(bh[c], exact[c], 1e-14);
}

}  // namespace
}  // namespace merc::analysis
