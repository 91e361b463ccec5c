#include "merc/analysis/tsne_gradient.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "merc/core/error.h"

namespace merc::analysis {
namespace tsne_gradient_detail {

constexpr double kMachineEpsilon = std::numeric_limits<double>::epsilon();  // sklearn's MACHINE_EPSILON
constexpr double kFloat32Tiny = 1.1754943508222875e-38;                     // sklearn's FLOAT32_TINY in the BH KL
// Points per parallel task: each costs a tree walk of a few hundred cells.
constexpr int64_t kPointGrain = 64;
// Deeper cells would hold points closer than 2^-48 of the embedding's extent: such points stay
// together in one leaf and interact one by one.
constexpr int kMaxDepth = 48;

struct TreePoint {
  double x, y;
  int64_t index;  // row of Y
};

// A quadtree cell in flat storage: its points are points_[begin, end) and its children, when it
// has any, are cells_[first_child, first_child + num_children).
struct Cell {
  double cx = 0, cy = 0;  // centre of mass
  double width_sq = 0;    // (longest side of the cell's box)^2
  int32_t begin = 0, end = 0;
  int32_t first_child = 0, num_children = 0;
};

class QuadTree {
 public:
  QuadTree(const double* y, int64_t n);
  const std::vector<TreePoint>& points() const { return points_; }
  // sum_{j != i} w_ij^2 (y_i - y_j) (approximated by cells) into force[0..1] and sum_{j != i} w_ij
  // into z, for the point at tree position t.
  void repulsion(int64_t t, double theta_sq, double* force, double* z) const;

 private:
  struct Box {
    double x0, y0, x1, y1;
  };
  void build(int32_t cell, const Box& box, int depth);
  bool all_equal(int32_t begin, int32_t end) const;

  std::vector<TreePoint> points_;
  std::vector<Cell> cells_;
};

QuadTree::QuadTree(const double* y, int64_t n) {
  points_.resize(static_cast<size_t>(n));
  Box box{y[0], y[1], y[0], y[1]};
  for (int64_t i = 0; i < n; ++i) {
    points_[static_cast<size_t>(i)] = {y[2 * i], y[2 * i + 1], i};
    box.x0 = std::min(box.x0, y[2 * i]);
    box.x1 = std::max(box.x1, y[2 * i]);
    box.y0 = std::min(box.y0, y[2 * i + 1]);
    box.y1 = std::max(box.y1, y[2 * i + 1]);
  }
  cells_.reserve(static_cast<size_t>(2 * n + 1));
  cells_.emplace_back();
  cells_[0].begin = 0;
  cells_[0].end = static_cast<int32_t>(n);
  build(0, box, 0);
}

bool QuadTree::all_equal(int32_t begin, int32_t end) const {
  for (int32_t t = begin + 1; t < end; ++t)
    if (points_[t].x != points_[begin].x || points_[t].y != points_[begin].y) return false;
  return true;
}

// Splits the cell's points into quadrants (x < mid first, then y < mid) in place, appends the
// non-empty children contiguously and recurses; the centre of mass comes back up.
void QuadTree::build(int32_t cell, const Box& box, int depth) {
  const int32_t begin = cells_[cell].begin, end = cells_[cell].end;
  const double side = std::max(box.x1 - box.x0, box.y1 - box.y0);
  cells_[cell].width_sq = side * side;
  if (end - begin == 1 || depth >= kMaxDepth || all_equal(begin, end)) {
    double sx = 0, sy = 0;
    for (int32_t t = begin; t < end; ++t) sx += points_[t].x, sy += points_[t].y;
    cells_[cell].cx = sx / (end - begin);
    cells_[cell].cy = sy / (end - begin);
    return;
  }
  const double mx = 0.5 * (box.x0 + box.x1), my = 0.5 * (box.y0 + box.y1);
  TreePoint* p = points_.data();
  TreePoint* split_x = std::partition(p + begin, p + end, [mx](const TreePoint& q) { return q.x < mx; });
  TreePoint* split_lo = std::partition(p + begin, split_x, [my](const TreePoint& q) { return q.y < my; });
  TreePoint* split_hi = std::partition(split_x, p + end, [my](const TreePoint& q) { return q.y < my; });
  const int32_t bounds[5] = {begin, static_cast<int32_t>(split_lo - p), static_cast<int32_t>(split_x - p),
                             static_cast<int32_t>(split_hi - p), end};
  const Box boxes[4] = {
      {box.x0, box.y0, mx, my}, {box.x0, my, mx, box.y1}, {mx, box.y0, box.x1, my}, {mx, my, box.x1, box.y1}};
  const int32_t first = static_cast<int32_t>(cells_.size());
  int32_t count = 0;
  int quadrant_of[4];
  for (int q = 0; q < 4; ++q) {
    if (bounds[q + 1] == bounds[q]) continue;
    Cell child;
    child.begin = bounds[q];
    child.end = bounds[q + 1];
    cells_.push_back(child);
    quadrant_of[count++] = q;
  }
  cells_[cell].first_child = first;
  cells_[cell].num_children = count;
  double sx = 0, sy = 0;
  for (int32_t c = 0; c < count; ++c) {
    build(first + c, boxes[quadrant_of[c]], depth + 1);
    const Cell& child = cells_[first + c];
    sx += child.cx * (child.end - child.begin);
    sy += child.cy * (child.end - child.begin);
  }
  cells_[cell].cx = sx / (end - begin);
  cells_[cell].cy = sy / (end - begin);
}

void QuadTree::repulsion(int64_t t, double theta_sq, double* force, double* z) const {
  const TreePoint& me = points_[static_cast<size_t>(t)];
  double fx = 0, fy = 0, zsum = 0;
  int32_t stack[4 * kMaxDepth + 8];
  int sp = 0;
  stack[sp++] = 0;
  while (sp > 0) {
    const Cell& c = cells_[stack[--sp]];
    if (c.num_children == 0) {
      // A leaf: its points one by one, the point itself left out by index (not by position, so
      // duplicates of it still count towards Z).
      for (int32_t u = c.begin; u < c.end; ++u) {
        if (points_[u].index == me.index) continue;
        const double dx = me.x - points_[u].x, dy = me.y - points_[u].y;
        const double w = 1.0 / (1.0 + dx * dx + dy * dy);
        zsum += w;
        fx += w * w * dx;
        fy += w * w * dy;
      }
      continue;
    }
    const double dx = me.x - c.cx, dy = me.y - c.cy;
    const double d2 = dx * dx + dy * dy;
    if (c.width_sq < theta_sq * d2) {
      const double size = c.end - c.begin;
      const double w = 1.0 / (1.0 + d2);
      zsum += size * w;
      fx += size * w * w * dx;
      fy += size * w * w * dy;
      continue;
    }
    for (int32_t k = c.num_children - 1; k >= 0; --k) stack[sp++] = c.first_child + k;
  }
  force[0] = fx;
  force[1] = fy;
  *z = zsum;
}

// sum_j p_ij w_ij (y_i - y_j) over P's row i into force; KL terms of the row when kl != nullptr.
void attraction(const data::CsrMatrix& p, const double* y, int64_t i, double p_scale, double z, double* force,
                double* kl) {
  double fx = 0, fy = 0, c = 0;
  const double yx = y[2 * i], yy = y[2 * i + 1];
  for (int64_t e = p.row_ptr[static_cast<size_t>(i)]; e < p.row_ptr[static_cast<size_t>(i + 1)]; ++e) {
    const int64_t j = p.col_index[static_cast<size_t>(e)];
    const double pij = p_scale * p.values[static_cast<size_t>(e)];
    const double dx = yx - y[2 * j], dy = yy - y[2 * j + 1];
    const double w = 1.0 / (1.0 + dx * dx + dy * dy);
    fx += pij * w * dx;
    fy += pij * w * dy;
    if (kl) c += pij * std::log(std::max(pij, kFloat32Tiny) / std::max(w / z, kFloat32Tiny));
  }
  force[0] = fx;
  force[1] = fy;
  if (kl) *kl = c;
}

double serial_sum(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s;
}

}  // namespace tsne_gradient_detail

double exact_gradient(const torch::Tensor& p, const double* y, int64_t n, int64_t dims, double p_scale, double* grad,
                      bool compute_kl) {
  MERC_CHECK(
      p.dim() == 2 && p.size(0) == n && p.size(1) == n && p.scalar_type() == torch::kFloat64 && p.is_contiguous(),
      "exact_gradient: want P as a contiguous ({0}, {0}) float64 matrix, got {1}", n, p.sizes());
  const double* pp = p.data_ptr<double>();
  auto weight = [&](int64_t i, int64_t j) {
    double d2 = 0;
    for (int64_t d = 0; d < dims; ++d) {
      const double diff = y[i * dims + d] - y[j * dims + d];
      d2 += diff * diff;
    }
    return 1.0 / (1.0 + d2);
  };
  std::vector<double> z_row(static_cast<size_t>(n), 0.0), kl_row(static_cast<size_t>(n), 0.0);
  at::parallel_for(0, n, tsne_gradient_detail::kPointGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      for (int64_t j = 0; j < n; ++j)
        if (j != i) z_row[static_cast<size_t>(i)] += weight(i, j);
  });
  const double z = tsne_gradient_detail::serial_sum(z_row);
  at::parallel_for(0, n, tsne_gradient_detail::kPointGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double* g = grad + i * dims;
      std::fill(g, g + dims, 0.0);
      for (int64_t j = 0; j < n; ++j) {
        if (j == i) continue;
        const double w = weight(i, j), pij = p_scale * pp[i * n + j];
        const double q = std::max(w / z, tsne_gradient_detail::kMachineEpsilon);
        const double m = 4.0 * (pij - q) * w;
        for (int64_t d = 0; d < dims; ++d) g[d] += m * (y[i * dims + d] - y[j * dims + d]);
        if (compute_kl)
          kl_row[static_cast<size_t>(i)] += pij * std::log(std::max(pij, tsne_gradient_detail::kMachineEpsilon) / q);
      }
    }
  });
  return compute_kl ? tsne_gradient_detail::serial_sum(kl_row) : std::numeric_limits<double>::quiet_NaN();
}

double barnes_hut_gradient(const data::CsrMatrix& p, const double* y, int64_t n, double theta, double p_scale,
                           double* grad, bool compute_kl) {
  MERC_CHECK(p.rows == n && p.cols == n, "barnes_hut_gradient: P is ({}, {}) for {} points", p.rows, p.cols, n);
  MERC_CHECK(theta >= 0.0, "barnes_hut_gradient: theta must be >= 0, got {}", theta);
  const tsne_gradient_detail::QuadTree tree(y, n);
  std::vector<double> repulsive(static_cast<size_t>(2 * n)), z_point(static_cast<size_t>(n));
  const double theta_sq = theta * theta;
  // Tree order: neighbouring tasks walk the same cells, which keeps them in cache.
  at::parallel_for(0, n, tsne_gradient_detail::kPointGrain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t i = tree.points()[static_cast<size_t>(t)].index;
      tree.repulsion(t, theta_sq, repulsive.data() + 2 * i, z_point.data() + i);
    }
  });
  const double z = tsne_gradient_detail::serial_sum(z_point);
  std::vector<double> kl_row(compute_kl ? static_cast<size_t>(n) : 0);
  at::parallel_for(0, n, tsne_gradient_detail::kPointGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double attractive[2];
      tsne_gradient_detail::attraction(p, y, i, p_scale, z, attractive, compute_kl ? kl_row.data() + i : nullptr);
      grad[2 * i] = 4.0 * (attractive[0] - repulsive[static_cast<size_t>(2 * i)] / z);
      grad[2 * i + 1] = 4.0 * (attractive[1] - repulsive[static_cast<size_t>(2 * i + 1)] / z);
    }
  });
  return compute_kl ? tsne_gradient_detail::serial_sum(kl_row) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace merc::analysis
