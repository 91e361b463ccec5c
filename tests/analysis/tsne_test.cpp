// t-SNE end to end on small Gaussian clusters: separated clusters stay separated, the KL falls
// after early exaggeration, exact and Barnes-Hut agree, a seed gives one output, bad input is a
// clear merc::Error.
#include "merc/analysis/tsne.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../support/error_text.h"
#include "gaussian_clusters.h"
#include "merc/analysis/tsne_affinities.h"
#include "merc/analysis/tsne_gradient.h"

namespace merc::analysis {
namespace tsne_test_detail {

// Short schedules keep the suite fast: 100 exaggerated + 200 final iterations on 120 points.
TsneOptions small_tsne_options(double theta) {
  TsneOptions o;
  o.perplexity = 10.0;
  o.theta = theta;
  o.exaggeration_iterations = 100;
  o.max_iter = 300;
  o.learning_rate = 50.0;
  o.seed = 7;
  return o;
}

double exact_kl_of(const torch::Tensor& x, double perplexity, const torch::Tensor& y) {
  const torch::Tensor p = dense_joint_affinities(squared_distances(x), perplexity);
  std::vector<double> grad(static_cast<size_t>(y.numel()));
  const torch::Tensor yc = y.contiguous();
  return exact_gradient(p, yc.data_ptr<double>(), y.size(0), y.size(1), 1.0, grad.data(), true);
}

}  // namespace tsne_test_detail

namespace {

using namespace tsne_test_detail;
using testing_support::error_text;

TEST(Tsne, SeparatedClustersStaySeparated) {
  const testing::Clusters c = testing::gaussian_clusters(4, 30, 16, 8.0, 1);
  const TsneResult r = tsne(c.x, small_tsne_options(0.5));
  ASSERT_EQ(r.embedding.size(0), 120);
  ASSERT_EQ(r.embedding.size(1), 2);
  // Clusters 8 standard deviations apart share no neighbours in the input; 0.95 of the 10
  // nearest embedded neighbours carrying the point's own label allows a stray point or two.
  EXPECT_GT(testing::knn_label_agreement(r.embedding, c.labels, 10), 0.95);
}

TEST(Tsne, KlFallsAfterEarlyExaggeration) {
  const testing::Clusters c = testing::gaussian_clusters(3, 40, 10, 5.0, 2);
  const TsneResult r = tsne(c.x, small_tsne_options(0.5));
  std::vector<double> final_kl;
  for (const TsneProgress& p : r.history)
    if (!p.exaggerated) final_kl.push_back(p.kl_divergence);
  ASSERT_GE(final_kl.size(), 3u);  // checks at 150, 200, 250, 300
  for (size_t i = 1; i < final_kl.size(); ++i)
    EXPECT_LE(final_kl[i], final_kl[i - 1] * (1.0 + 1e-6)) << "check " << i;  // monotone up to rounding
  EXPECT_LT(final_kl.back(), final_kl.front());
  EXPECT_EQ(r.kl_divergence, final_kl.back());
  EXPECT_EQ(r.iterations, 300);
}

TEST(Tsne, ExactAndBarnesHutAgreeOnASmallSet) {
  const testing::Clusters c = testing::gaussian_clusters(3, 40, 10, 5.0, 3);
  const TsneResult exact = tsne(c.x, small_tsne_options(0.0));
  const TsneResult bh = tsne(c.x, small_tsne_options(0.5));
  EXPECT_EQ(exact.neighbors, 119);
  EXPECT_EQ(bh.neighbors, 30);
  // Both embeddings judged by the same exact KL(P || Q): the approximations (30-neighbour P,
  // theta 0.5 repulsion) may cost at most 10 % of the exact optimum on this easy set.
  const double kl_exact = exact_kl_of(c.x, 10.0, exact.embedding), kl_bh = exact_kl_of(c.x, 10.0, bh.embedding);
  // Exact runs report the exact KL, of the last gradient evaluation, i.e. one step before the
  // returned embedding (as sklearn's kl_divergence_): equal to within that step's change.
  EXPECT_NEAR(kl_exact, exact.kl_divergence, 1e-3 * kl_exact);
  EXPECT_LT(std::fabs(kl_bh - kl_exact), 0.1 * kl_exact) << "exact " << kl_exact << " Barnes-Hut " << kl_bh;
}

TEST(Tsne, SameSeedSameEmbedding) {
  const testing::Clusters c = testing::gaussian_clusters(2, 40, 6, 4.0, 4);
  TsneOptions o = small_tsne_options(0.5);
  o.init = TsneInit::kRandom;
  const TsneResult a = tsne(c.x, o), b = tsne(c.x, o);
  EXPECT_TRUE(torch::equal(a.embedding, b.embedding));
  EXPECT_EQ(a.kl_divergence, b.kl_divergence);
  o.seed = 8;
  EXPECT_FALSE(torch::equal(a.embedding, tsne(c.x, o).embedding));
}

TEST(Tsne, PcaInitIsScaledFirstPrincipalDirection) {
  testing::Clusters c = testing::gaussian_clusters(2, 50, 5, 0.0, 5);
  c.x.select(1, 3).mul_(20.0);  // coordinate 3 carries nearly all variance
  const torch::Tensor y = tsne_initial_embedding(c.x, 2, TsneInit::kPca, 0);
  const torch::Tensor first = y.select(1, 0);
  const double sd = std::sqrt((first - first.mean()).pow(2).mean().item<double>());
  EXPECT_NEAR(sd, 1e-4, 1e-16);  // sklearn's scale, to rounding
  const torch::Tensor corr = torch::corrcoef(torch::stack({y.select(1, 0), c.x.select(1, 3).to(torch::kFloat64)}));
  EXPECT_GT(std::fabs(corr[0][1].item<double>()), 0.999);  // the first component is that coordinate
}

TEST(Tsne, LearningRateAutoIsSklearns) {
  const testing::Clusters c = testing::gaussian_clusters(2, 30, 4, 4.0, 6);
  TsneOptions o = small_tsne_options(0.5);
  o.learning_rate.reset();
  o.max_iter = o.exaggeration_iterations = 1;
  EXPECT_EQ(tsne(c.x, o).learning_rate, 50.0);  // max(60 / 12 / 4, 50)
}

TEST(Tsne, BadInputIsAClearError) {
  const TsneOptions o = small_tsne_options(0.5);
  const torch::Tensor ok = testing::gaussian_clusters(2, 10, 3, 4.0, 7).x;
  EXPECT_NE(error_text([&] { tsne(torch::zeros({1, 3}), o); }).find("at least 2 points"), std::string::npos);
  EXPECT_NE(error_text([&] { tsne(ok.narrow(0, 0, 8), o); }).find("perplexity 10 must be"), std::string::npos);
  EXPECT_NE(error_text([&] { tsne(ok.reshape({20, 3, 1}), o); }).find("want (N, D) points"), std::string::npos);
  EXPECT_NE(error_text([&] { tsne(ok.to(torch::kInt64), o); }).find("float32 or float64"), std::string::npos);
  torch::Tensor bad = ok.clone();
  bad[4][1] = std::numeric_limits<float>::quiet_NaN();
  bad[9][0] = std::numeric_limits<float>::infinity();
  EXPECT_NE(error_text([&] { tsne(bad, o); }).find("2 of 20 rows hold NaN or infinite values (first: row 4)"),
            std::string::npos);
  TsneOptions exact = o;
  exact.theta = 0.0;
  EXPECT_NE(error_text([&] {
              tsne(torch::zeros({20001, 2}), exact);
            }).find("exact t-SNE (theta 0) on 20001 points"),
            std::string::npos);
  TsneOptions three = o;
  three.dims = 3;
  EXPECT_NE(error_text([&] { tsne(ok, three); }).find("2 dimensions only"), std::string::npos);
}

}  // namespace
}  // namespace merc::analysis
