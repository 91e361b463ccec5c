#pragma once
// The input-space side of t-SNE (van der Maaten & Hinton 2008; van der Maaten 2014): nearest
// neighbours, per-point Gaussian bandwidths calibrated to a perplexity, and the symmetrised joint
// probabilities P that the embedding is fitted to. Conventions follow scikit-learn 1.2's
// sklearn/manifold/_t_sne.py and _utils.pyx (natural-log entropy, squared Euclidean distances,
// binary search on beta = 1 / (2 sigma^2) starting at 1, tolerance 1e-5 nats, 100 steps).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "merc/data/randomized_svd.h"  // data::CsrMatrix

namespace merc::analysis {

// The k nearest other points of every point, nearest first (ties: smaller index first).
struct NeighborGraph {
  int64_t num_points = 0;
  int64_t k = 0;
  std::vector<int64_t> index;       // (N, k) row-major
  std::vector<double> sq_distance;  // (N, k) squared Euclidean distances, float64
};

// x: (N, D) float32 or float64, N >= 2, 1 <= k <= N - 1. Blocked brute force: each block of rows
// is multiplied against all points (BLAS, x's dtype) to pick k + a few candidates per row by
// ||a||^2 + ||b||^2 - 2 a.b, whose distances are then recomputed exactly in float64 and sorted;
// the extra candidates absorb the rounding of the BLAS shortcut at the k-th neighbour.
NeighborGraph nearest_neighbors(const torch::Tensor& x, int64_t k);

// (N, N) float64 squared Euclidean distances of x's rows (N, D), diagonal 0 (exact t-SNE).
torch::Tensor squared_distances(const torch::Tensor& x);

// One point's conditional distribution p_{j|i} = exp(-beta d_j) / sum_l exp(-beta d_l) over the
// `count` squared distances `sq_dist`, with beta found by binary search so that the entropy
// -sum p log p (nats) is log(perplexity) within kPerplexityTolerance. Writes p (count values) and
// returns beta and the entropy reached (after at most kPerplexitySteps steps).
struct CalibratedRow {
  double beta = 1.0;
  double entropy = 0.0;
};
inline constexpr double kPerplexityTolerance = 1e-5;  // sklearn's PERPLEXITY_TOLERANCE
inline constexpr int kPerplexitySteps = 100;          // sklearn's n_steps
CalibratedRow calibrate_row(const double* sq_dist, int64_t count, double perplexity, double* p);

// Conditional P of every row of a neighbour graph: (N, k) row-major, each row sums to 1.
// `entropies` (optional) receives each row's entropy (N).
std::vector<double> conditional_affinities(const NeighborGraph& graph, double perplexity,
                                           std::vector<double>* entropies = nullptr);

// Joint P = (C + C^T) / sum(C + C^T) of the conditional affinities C (N x N with the graph's
// pattern): symmetric, sums to 1, columns increasing within each row (the Barnes-Hut input).
data::CsrMatrix joint_affinities(const NeighborGraph& graph, const std::vector<double>& conditional);

// Exact t-SNE's P from all pairwise squared distances (N, N): conditional rows over every other
// point, symmetrised and normalised, then max(P, machine epsilon) off the diagonal and 0 on it,
// as sklearn's _joint_probabilities. Returns (N, N) float64.
torch::Tensor dense_joint_affinities(const torch::Tensor& sq_distances, double perplexity,
                                     std::vector<double>* entropies = nullptr);

}  // namespace merc::analysis
