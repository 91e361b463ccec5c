#pragma once
// Points in well separated Gaussian clusters, for the t-SNE tests: cluster c's centre is
// `separation` along coordinate c (c < dim), points scatter around it with unit variance.

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace merc::analysis::testing {

struct Clusters {
  torch::Tensor x;              // (clusters * per_cluster, dim) float32
  std::vector<int64_t> labels;  // cluster of each row
};

inline Clusters gaussian_clusters(int64_t clusters, int64_t per_cluster, int64_t dim, double separation,
                                  uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  Clusters c;
  c.x = torch::randn({clusters * per_cluster, dim}, gen, torch::kFloat32);
  for (int64_t k = 0; k < clusters; ++k) {
    c.x.narrow(0, k * per_cluster, per_cluster).select(1, k % dim).add_(separation);
    for (int64_t i = 0; i < per_cluster; ++i) c.labels.push_back(k);
  }
  return c;
}

// Fraction of points whose k nearest neighbours in `y` ((N, d) float64) carry their label.
inline double knn_label_agreement(const torch::Tensor& y, const std::vector<int64_t>& labels, int64_t k) {
  const torch::Tensor d = torch::cdist(y, y).fill_diagonal_(1e300);
  const torch::Tensor nn = std::get<1>(d.topk(k, 1, /*largest=*/false));
  int64_t agree = 0;
  for (int64_t i = 0; i < y.size(0); ++i)
    for (int64_t t = 0; t < k; ++t)
      agree += labels[static_cast<size_t>(nn[i][t].item<int64_t>())] == labels[static_cast<size_t>(i)];
  return static_cast<double>(agree) / static_cast<double>(y.size(0) * k);
}

}  // namespace merc::analysis::testing
