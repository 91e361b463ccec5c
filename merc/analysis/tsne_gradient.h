#pragma once
// The embedding-space side of t-SNE: the gradient of KL(P || Q) with respect to the embedding Y,
// where q_ij = w_ij / Z, w_ij = 1 / (1 + |y_i - y_j|^2) (Student t, one degree of freedom) and
// Z = sum_{k != l} w_kl:
//     dC/dy_i = 4 sum_j (p_ij - q_ij) w_ij (y_i - y_j)
//             = 4 (sum_j p_ij w_ij (y_i - y_j)  -  sum_j w_ij^2 (y_i - y_j) / Z)
//                  attractive (P's neighbours)       repulsive (all points)
// (van der Maaten & Hinton 2008, eq. 5; van der Maaten 2014, eq. 3-5). The factor 4 is included,
// as in scikit-learn (whose learning rates are therefore 4x those of bhtsne/openTSNE).
//
// Barnes-Hut (van der Maaten 2014): the repulsive sum of point i is approximated by a quadtree
// over Y: a cell whose (max side)^2 < theta^2 |y_i - centre of mass|^2 acts as one point of its
// size at its centre of mass (sklearn's criterion). theta = 0 opens every cell: exact sums.
//
// Determinism: every point's forces and its share of Z are computed on their own and summed per
// point in a fixed order; Z and the KL are then summed over points serially. Results therefore do
// not depend on the number of threads or their scheduling (at::parallel_for).

#include <torch/torch.h>

#include <cstdint>

#include "merc/data/randomized_svd.h"  // data::CsrMatrix

namespace merc::analysis {

// Embedding y: (N, dims) row-major float64; grad: (N, dims), overwritten. p_scale multiplies P
// (early exaggeration). Returns KL(p_scale P || Q) when compute_kl, else NaN.

// Exact: p is (N, N) float64 joint P (dense_joint_affinities), any dims >= 1. O(N^2).
// KL = sum_{i != j} p_ij log(p_ij / max(q_ij, eps)), sklearn's _kl_divergence.
double exact_gradient(const torch::Tensor& p, const double* y, int64_t n, int64_t dims, double p_scale, double* grad,
                      bool compute_kl);

// Barnes-Hut, dims == 2: p is the sparse joint P (joint_affinities). The KL returned is the
// estimate sklearn reports: the sum over P's non-zero pairs of p log(p / q) with q = w / Z_BH.
double barnes_hut_gradient(const data::CsrMatrix& p, const double* y, int64_t n, double theta, double p_scale,
                           double* grad, bool compute_kl);

}  // namespace merc::analysis
