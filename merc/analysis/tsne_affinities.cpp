#include "merc/analysis/tsne_affinities.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "merc/core/error.h"

namespace merc::analysis {
namespace tsne_affinities_detail {

// Candidates beyond k taken from the BLAS distances before the exact float64 re-ranking: the
// shortcut's rounding (about 1e-7 relative in float32) can only swap points whose distances are
// that close, which a margin of 8 covers with room.
constexpr int64_t kCandidateMargin = 8;
// Elements of one (rows x N) distance block: 4 Mi floats/doubles keeps it in a few tens of MB.
constexpr int64_t kBlockElements = int64_t{1} << 22;
constexpr int64_t kRowGrain = 16;

template <typename T>
double exact_sq_distance(const T* a, const T* b, int64_t dim) {
  double s = 0.0;
  for (int64_t d = 0; d < dim; ++d) {
    const double diff = static_cast<double>(a[d]) - static_cast<double>(b[d]);
    s += diff * diff;
  }
  return s;
}

struct Candidate {
  double sq_distance;
  int64_t index;
  bool operator<(const Candidate& o) const {
    return sq_distance < o.sq_distance || (sq_distance == o.sq_distance && index < o.index);
  }
};

// Rows [row0, row0 + rows) of the graph from their BLAS candidates (rows, c) int64.
template <typename T>
void rerank_block(const T* x, int64_t dim, int64_t row0, const torch::Tensor& candidates, NeighborGraph* g) {
  const int64_t rows = candidates.size(0), c = candidates.size(1), k = g->k;
  const int64_t* cand = candidates.data_ptr<int64_t>();
  at::parallel_for(0, rows, kRowGrain, [&](int64_t begin, int64_t end) {
    std::vector<Candidate> row;
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = row0 + r;
      row.clear();
      for (int64_t t = 0; t < c; ++t) {
        const int64_t j = cand[r * c + t];
        if (j != i) row.push_back({exact_sq_distance(x + i * dim, x + j * dim, dim), j});
      }
      std::sort(row.begin(), row.end());
      for (int64_t t = 0; t < k; ++t) {
        g->index[static_cast<size_t>(i * k + t)] = row[static_cast<size_t>(t)].index;
        g->sq_distance[static_cast<size_t>(i * k + t)] = row[static_cast<size_t>(t)].sq_distance;
      }
    }
  });
}

template <typename T>
void fill_neighbors(const torch::Tensor& x, NeighborGraph* g) {
  const int64_t n = x.size(0), dim = x.size(1);
  // k + margin candidates, plus one for the point itself (removed by index in rerank_block).
  const int64_t c = std::min(n, g->k + kCandidateMargin + 1);
  const torch::Tensor norms = x.pow(2).sum(1);
  const torch::Tensor xt = x.t();
  const int64_t block = std::max<int64_t>(1, kBlockElements / n);
  for (int64_t row0 = 0; row0 < n; row0 += block) {
    const int64_t rows = std::min(block, n - row0);
    const torch::Tensor xb = x.narrow(0, row0, rows);
    torch::Tensor d = torch::addmm(norms.unsqueeze(0), xb, xt, /*beta=*/1, /*alpha=*/-2);
    d.add_(norms.narrow(0, row0, rows).unsqueeze(1));
    // The point itself must be a candidate so that removing it leaves k + margin others.
    d.narrow(1, row0, rows).diagonal().fill_(-std::numeric_limits<double>::infinity());
    const torch::Tensor cand = std::get<1>(d.topk(c, /*dim=*/1, /*largest=*/false, /*sorted=*/false)).contiguous();
    rerank_block(x.data_ptr<T>(), dim, row0, cand, g);
  }
}

// Entropy (nats) and normalised p of one row at bandwidth beta. Distances are shifted by their
// minimum d0 before exponentiating: p is unchanged, and large distances (hundreds, in 512-d)
// no longer underflow every exp to 0. H = log S + beta (sum p d - d0), S = sum exp(-beta (d - d0)).
double row_entropy(const double* d, int64_t count, double d0, double beta, double* p) {
  double sum = 0.0;
  for (int64_t j = 0; j < count; ++j) {
    p[j] = std::exp(-(d[j] - d0) * beta);
    sum += p[j];
  }
  double mean_d = 0.0;
  for (int64_t j = 0; j < count; ++j) {
    p[j] /= sum;
    mean_d += p[j] * d[j];
  }
  return std::log(sum) + beta * (mean_d - d0);
}

}  // namespace tsne_affinities_detail

NeighborGraph nearest_neighbors(const torch::Tensor& x, int64_t k) {
  MERC_CHECK(x.dim() == 2, "nearest_neighbors: want (N, D) points, got shape {}", x.sizes());
  const int64_t n = x.size(0);
  MERC_CHECK(k >= 1 && k <= n - 1, "nearest_neighbors: k = {} must be in [1, N - 1 = {}]", k, n - 1);
  NeighborGraph g;
  g.num_points = n;
  g.k = k;
  g.index.resize(static_cast<size_t>(n * k));
  g.sq_distance.resize(static_cast<size_t>(n * k));
  if (x.scalar_type() == torch::kFloat64) {
    tsne_affinities_detail::fill_neighbors<double>(x.contiguous(), &g);
  } else {
    tsne_affinities_detail::fill_neighbors<float>(x.to(torch::kFloat32).contiguous(), &g);
  }
  return g;
}

torch::Tensor squared_distances(const torch::Tensor& x) {
  MERC_CHECK(x.dim() == 2, "squared_distances: want (N, D) points, got shape {}", x.sizes());
  const torch::Tensor xd = x.to(torch::kFloat64).contiguous();
  const torch::Tensor norms = xd.pow(2).sum(1);
  torch::Tensor d = torch::addmm(norms.unsqueeze(0), xd, xd.t(), 1, -2).add_(norms.unsqueeze(1));
  d.clamp_min_(0.0);
  d.diagonal().zero_();
  return d;
}

CalibratedRow calibrate_row(const double* sq_dist, int64_t count, double perplexity, double* p) {
  const double target = std::log(perplexity);
  const double d0 = *std::min_element(sq_dist, sq_dist + count);
  const double inf = std::numeric_limits<double>::infinity();
  double beta_min = -inf, beta_max = inf;
  CalibratedRow r;
  for (int step = 0; step < kPerplexitySteps; ++step) {
    r.entropy = tsne_affinities_detail::row_entropy(sq_dist, count, d0, r.beta, p);
    const double diff = r.entropy - target;
    if (std::fabs(diff) <= kPerplexityTolerance) break;
    // Too flat (entropy too high): sharpen with a larger beta; too peaked: smaller beta.
    if (diff > 0.0) {
      beta_min = r.beta;
      r.beta = beta_max == inf ? r.beta * 2.0 : (r.beta + beta_max) / 2.0;
    } else {
      beta_max = r.beta;
      r.beta = beta_min == -inf ? r.beta / 2.0 : (r.beta + beta_min) / 2.0;
    }
  }
  return r;
}

std::vector<double> conditional_affinities(const NeighborGraph& graph, double perplexity,
                                           std::vector<double>* entropies) {
  const int64_t n = graph.num_points, k = graph.k;
  std::vector<double> p(static_cast<size_t>(n * k));
  if (entropies) entropies->assign(static_cast<size_t>(n), 0.0);
  at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const CalibratedRow r = calibrate_row(graph.sq_distance.data() + i * k, k, perplexity, p.data() + i * k);
      if (entropies) (*entropies)[static_cast<size_t>(i)] = r.entropy;
    }
  });
  return p;
}

data::CsrMatrix joint_affinities(const NeighborGraph& graph, const std::vector<double>& conditional) {
  const int64_t n = graph.num_points, k = graph.k;
  MERC_CHECK(static_cast<int64_t>(conditional.size()) == n * k,
             "joint_affinities: {} conditional values for a ({}, {}) graph", conditional.size(), n, k);
  // C with its columns sorted per row, so that C and C^T merge row by row.
  data::CsrMatrix c;
  c.rows = c.cols = n;
  c.row_ptr.resize(static_cast<size_t>(n + 1));
  c.col_index.resize(static_cast<size_t>(n * k));
  c.values.resize(static_cast<size_t>(n * k));
  std::vector<int64_t> order(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) {
    c.row_ptr[static_cast<size_t>(i + 1)] = (i + 1) * k;
    const int64_t* idx = graph.index.data() + i * k;
    for (int64_t t = 0; t < k; ++t) order[static_cast<size_t>(t)] = t;
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return idx[a] < idx[b]; });
    for (int64_t t = 0; t < k; ++t) {
      c.col_index[static_cast<size_t>(i * k + t)] = idx[order[static_cast<size_t>(t)]];
      c.values[static_cast<size_t>(i * k + t)] =
          conditional[static_cast<size_t>(i * k + order[static_cast<size_t>(t)])];
    }
  }
  const data::CsrMatrix ct = c.transposed();
  data::CsrMatrix p;
  p.rows = p.cols = n;
  p.row_ptr.assign(1, 0);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t a = c.row_ptr[static_cast<size_t>(i)], b = ct.row_ptr[static_cast<size_t>(i)];
    const int64_t ae = c.row_ptr[static_cast<size_t>(i + 1)], be = ct.row_ptr[static_cast<size_t>(i + 1)];
    while (a < ae || b < be) {
      const int64_t ca = a < ae ? c.col_index[static_cast<size_t>(a)] : n;
      const int64_t cb = b < be ? ct.col_index[static_cast<size_t>(b)] : n;
      const int64_t col = std::min(ca, cb);
      double v = 0.0;
      if (ca == col) v += c.values[static_cast<size_t>(a++)];
      if (cb == col) v += ct.values[static_cast<size_t>(b++)];
      p.col_index.push_back(col);
      p.values.push_back(v);
      total += v;
    }
    p.row_ptr.push_back(static_cast<int64_t>(p.values.size()));
  }
  const double scale = 1.0 / std::max(total, std::numeric_limits<double>::epsilon());
  for (double& v : p.values) v *= scale;
  return p;
}

torch::Tensor dense_joint_affinities(const torch::Tensor& sq_distances, double perplexity,
                                     std::vector<double>* entropies) {
  const int64_t n = sq_distances.size(0);
  const torch::Tensor d = sq_distances.to(torch::kFloat64).contiguous();
  torch::Tensor cond = torch::zeros({n, n}, torch::kFloat64);
  if (entropies) entropies->assign(static_cast<size_t>(n), 0.0);
  const double* dp = d.data_ptr<double>();
  double* cp = cond.data_ptr<double>();
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    std::vector<double> row(static_cast<size_t>(n - 1)), p(static_cast<size_t>(n - 1));
    for (int64_t i = begin; i < end; ++i) {
      // Every other point: the row without its diagonal entry.
      for (int64_t j = 0, t = 0; j < n; ++j)
        if (j != i) row[static_cast<size_t>(t++)] = dp[i * n + j];
      const CalibratedRow r = calibrate_row(row.data(), n - 1, perplexity, p.data());
      for (int64_t j = 0, t = 0; j < n; ++j)
        if (j != i) cp[i * n + j] = p[static_cast<size_t>(t++)];
      if (entropies) (*entropies)[static_cast<size_t>(i)] = r.entropy;
    }
  });
  torch::Tensor joint = cond + cond.t();
  joint.div_(std::max(joint.sum().item<double>(), std::numeric_limits<double>::epsilon()));
  joint.clamp_min_(std::numeric_limits<double>::epsilon());
  joint.diagonal().zero_();
  return joint;
}

}  // namespace merc::analysis
