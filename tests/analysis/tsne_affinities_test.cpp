// Input-space side of t-SNE: neighbours equal brute force, the binary search reaches the
// perplexity in every row, P is symmetric and sums to 1.
#include "merc/analysis/tsne_affinities.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gaussian_clusters.h"

namespace merc::analysis {
namespace {

TEST(TsneAffinities, NearestNeighborsEqualBruteForceInFloat64) {
  const testing::Clusters c = testing::gaussian_clusters(3, 40, 64, 6.0, 1);
  const int64_t n = c.x.size(0), k = 9;
  const NeighborGraph g = nearest_neighbors(c.x, k);
  const torch::Tensor d = squared_distances(c.x);  // exact float64
  for (int64_t i = 0; i < n; ++i) {
    const torch::Tensor row = d[i].clone();
    row[i] = 1e300;
    const auto [dist, idx] = row.topk(k, 0, /*largest=*/false);
    for (int64_t t = 0; t < k; ++t) {
      EXPECT_EQ(g.index[static_cast<size_t>(i * k + t)], idx[t].item<int64_t>()) << "row " << i << " rank " << t;
      // 1e-9 relative: both are float64 sums of 64 squares, by differences vs by the norm trick.
      EXPECT_NEAR(g.sq_distance[static_cast<size_t>(i * k + t)], dist[t].item<double>(), 1e-9 * dist[t].item<double>());
    }
  }
}

TEST(TsneAffinities, BinarySearchFindsTheHandComputedBandwidth) {
  // d = (0, ln(3)/2): beta = 2 gives p = (3/4, 1/4); the search starts at beta = 1 (entropy too
  // high) and doubles once, so it lands on 2 exactly.
  const double d[2] = {0.0, std::log(3.0) / 2.0};
  const double target_entropy = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  double p[2];
  const CalibratedRow r = calibrate_row(d, 2, std::exp(target_entropy), p);
  EXPECT_DOUBLE_EQ(r.beta, 2.0);
  EXPECT_NEAR(p[0], 0.75, 1e-15);
  EXPECT_NEAR(p[1], 0.25, 1e-15);
}

TEST(TsneAffinities, EveryRowsEntropyIsLogPerplexity) {
  // Distances in the hundreds (64-d): exp(-d) underflows for every neighbour at the starting
  // beta = 1 unless the row is shifted by its minimum.
  const testing::Clusters c = testing::gaussian_clusters(3, 50, 64, 6.0, 2);
  const double perplexity = 20.0;
  std::vector<double> entropy;
  const NeighborGraph g = nearest_neighbors(c.x, 60);
  const std::vector<double> cond = conditional_affinities(g, perplexity, &entropy);
  for (int64_t i = 0; i < g.num_points; ++i) {
    // The search stops once within its own tolerance.
    EXPECT_NEAR(entropy[static_cast<size_t>(i)], std::log(perplexity), kPerplexityTolerance) << "row " << i;
    double sum = 0.0, h = 0.0;
    for (int64_t t = 0; t < g.k; ++t) {
      const double p = cond[static_cast<size_t>(i * g.k + t)];
      sum += p;
      h -= p > 0 ? p * std::log(p) : 0.0;
    }
    EXPECT_NEAR(sum, 1.0, 1e-12);                           // normalised in float64 over 60 terms
    EXPECT_NEAR(h, entropy[static_cast<size_t>(i)], 1e-9);  // the reported entropy is the row's
  }
  std::vector<double> dense_entropy;
  dense_joint_affinities(squared_distances(c.x), perplexity, &dense_entropy);
  for (double h : dense_entropy) EXPECT_NEAR(h, std::log(perplexity), kPerplexityTolerance);
}

TEST(TsneAffinities, JointPIsTheSymmetrisedConditionalSummingToOne) {
  const testing::Clusters c = testing::gaussian_clusters(2, 30, 8, 5.0, 3);
  const NeighborGraph g = nearest_neighbors(c.x, 12);
  const std::vector<double> cond = conditional_affinities(g, 4.0);
  const torch::Tensor p = joint_affinities(g, cond).to_dense();
  const int64_t n = g.num_points;
  torch::Tensor dense_cond = torch::zeros({n, n}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < g.k; ++t)
      dense_cond[i][g.index[static_cast<size_t>(i * g.k + t)]] = cond[static_cast<size_t>(i * g.k + t)];
  // Each row of C sums to 1, so sum(C + C^T) = 2N.
  const torch::Tensor expected = (dense_cond + dense_cond.t()) / (2.0 * static_cast<double>(n));
  EXPECT_LT((p - expected).abs().max().item<double>(), 1e-16);  // a few roundings of values <= 1/N
  EXPECT_NEAR(p.sum().item<double>(), 1.0, 1e-12);
  EXPECT_TRUE(torch::equal(p, p.t()));
}

}  // namespace
}  // namespace merc::analysis
