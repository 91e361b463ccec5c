#include "merc/analysis/tsne.h"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "merc/analysis/tsne_affinities.h"
#include "merc/analysis/tsne_gradient.h"
#include "merc/core/error.h"

namespace merc::analysis {
namespace tsne_detail {

// PCA init: subspace iteration (Halko et al. 2011, Algorithm 4.4) with this many extra columns
// and power iterations, the settings of sklearn's randomized PCA.
constexpr int64_t kPcaOversample = 10;
constexpr int kPcaPowerIterations = 7;
// The initial scale of sklearn (issue #18018): first coordinate's standard deviation.
constexpr double kInitScale = 1e-4;
// Exact t-SNE keeps the (N, N) P and walks all pairs each iteration; past this it is the wrong tool.
constexpr int64_t kMaxExactPoints = 20000;

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void validate(const torch::Tensor& x, const TsneOptions& o) {
  MERC_CHECK(x.dim() == 2, "t-SNE: want (N, D) points (one row per point), got a {}-d tensor of shape {}", x.dim(),
             x.sizes());
  MERC_CHECK(x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kFloat64,
             "t-SNE: want float32 or float64 points, got {}", c10::toString(x.scalar_type()));
  const int64_t n = x.size(0);
  MERC_CHECK(n >= 2, "t-SNE: needs at least 2 points, got {}", n);
  MERC_CHECK(x.size(1) >= 1, "t-SNE: the points have no features (shape {})", x.sizes());
  const torch::Tensor bad = torch::logical_not(torch::isfinite(x)).any(1);
  const int64_t num_bad = bad.sum().item<int64_t>();
  MERC_CHECK(num_bad == 0, "t-SNE: {} of {} rows hold NaN or infinite values (first: row {})", num_bad, n,
             bad.nonzero().min().item<int64_t>());
  MERC_CHECK(o.perplexity > 0.0 && o.perplexity < static_cast<double>(n),
             "t-SNE: perplexity {} must be > 0 and less than the number of points ({})", o.perplexity, n);
  MERC_CHECK(o.dims >= 1, "t-SNE: dims must be >= 1, got {}", o.dims);
  MERC_CHECK(std::isfinite(o.theta) && o.theta >= 0.0, "t-SNE: theta must be >= 0, got {}", o.theta);
  MERC_CHECK(o.theta == 0.0 || o.dims == 2,
             "t-SNE: Barnes-Hut (theta {}) embeds in 2 dimensions only, got dims {}; use theta 0 (exact)", o.theta,
             o.dims);
  MERC_CHECK(o.theta > 0.0 || n <= kMaxExactPoints,
             "t-SNE: exact t-SNE (theta 0) on {0} points would need an ({0}, {0}) matrix; use theta > 0 "
             "(Barnes-Hut) above {1} points",
             n, kMaxExactPoints);
  MERC_CHECK(!o.learning_rate || (std::isfinite(*o.learning_rate) && *o.learning_rate > 0.0),
             "t-SNE: learning rate must be > 0, got {}", o.learning_rate.value_or(0.0));
  MERC_CHECK(o.early_exaggeration > 0.0, "t-SNE: early exaggeration must be > 0, got {}", o.early_exaggeration);
  MERC_CHECK(o.max_iter >= 1 && o.exaggeration_iterations >= 0 && o.exaggeration_iterations <= o.max_iter,
             "t-SNE: want 0 <= exaggeration iterations ({}) <= max_iter ({}) and max_iter >= 1",
             o.exaggeration_iterations, o.max_iter);
  MERC_CHECK(o.min_gain > 0.0, "t-SNE: min_gain must be > 0, got {}", o.min_gain);
  MERC_CHECK(o.init == TsneInit::kRandom || x.size(1) >= o.dims,
             "t-SNE: PCA init needs at least dims = {} features, the points have {}; use random init", o.dims,
             x.size(1));
}

// Top `dims` principal component scores of x ((N, D) -> (N, dims) float64), each component's sign
// chosen so that its largest-magnitude score is positive (sklearn's svd_flip on U).
torch::Tensor pca_scores(const torch::Tensor& x, int64_t dims, at::Generator& gen) {
  const torch::Tensor xc = x.to(torch::kFloat64) - x.to(torch::kFloat64).mean(0, /*keepdim=*/true);
  const int64_t l = std::min({dims + kPcaOversample, xc.size(0), xc.size(1)});
  torch::Tensor q = torch::randn({xc.size(1), l}, gen, torch::kFloat64);
  for (int it = 0; it < kPcaPowerIterations; ++it) q = std::get<0>(torch::linalg_qr(xc.t().mm(xc.mm(q)), "reduced"));
  const torch::Tensor b = xc.mm(q);                                                 // (N, l)
  const torch::Tensor eigvecs = std::get<1>(torch::linalg_eigh(b.t().mm(b), "L"));  // ascending
  torch::Tensor scores = b.mm(eigvecs.flip({1}).narrow(1, 0, dims)).contiguous();
  for (int64_t c = 0; c < dims; ++c) {
    const torch::Tensor col = scores.select(1, c);
    if (col[col.abs().argmax()].item<double>() < 0) col.neg_();
  }
  return scores;
}

// The schedule of one optimisation phase: iterations [begin, end).
struct Phase {
  int64_t begin = 0, end = 0;
  double momentum = 0, p_scale = 1;
  int64_t patience = 0;  // iterations without KL improvement before stopping
  bool exaggerated = false;
};
struct PhaseEnd {
  int64_t last_iteration = -1;  // index of the last iteration run (begin - 1 when none)
  double kl = std::numeric_limits<double>::quiet_NaN();
};

using GradientFn = std::function<double(const double* y, double p_scale, double* grad, bool compute_kl)>;

// sklearn's _gradient_descent: momentum, gains, KL checks and the two stopping rules.
PhaseEnd run_phase(const Phase& ph, const GradientFn& gradient, double learning_rate, const TsneOptions& o,
                   std::vector<double>* y, TsneResult* result) {
  const size_t m = y->size();
  std::vector<double> update(m, 0.0), gains(m, 1.0), grad(m);
  double best_kl = std::numeric_limits<double>::max();
  int64_t best_iter = ph.begin;
  PhaseEnd out;
  out.last_iteration = ph.begin - 1;
  for (int64_t i = ph.begin; i < ph.end; ++i) {
    const bool check = (i + 1) % kTsneCheckEvery == 0;
    const double kl = gradient(y->data(), ph.p_scale, grad.data(), check || i == ph.end - 1);
    out.last_iteration = i;
    out.kl = kl;
    double grad_sq = 0.0;
    for (size_t c = 0; c < m; ++c) {
      // Same sign of step and gradient -> the step was too short: grow its gain; else shrink it.
      gains[c] = update[c] * grad[c] < 0.0 ? gains[c] + 0.2 : gains[c] * 0.8;
      gains[c] = std::max(gains[c], o.min_gain);
      grad[c] *= gains[c];
      grad_sq += grad[c] * grad[c];
      update[c] = ph.momentum * update[c] - learning_rate * grad[c];
      (*y)[c] += update[c];
    }
    if (check || i == ph.end - 1) {
      const TsneProgress p{i + 1, o.max_iter, kl, ph.exaggerated};
      result->history.push_back(p);
      if (o.on_progress) o.on_progress(p);
      spdlog::debug("t-SNE iteration {}: KL {:.6f}, gradient norm {:.3g}", i + 1, kl, std::sqrt(grad_sq));
    }
    if (!check) continue;
    if (kl < best_kl) {
      best_kl = kl;
      best_iter = i;
    } else if (i - best_iter > ph.patience) {
      break;
    }
    if (std::sqrt(grad_sq) <= o.min_grad_norm) break;
  }
  return out;
}

}  // namespace tsne_detail

TsneInit parse_tsne_init(const std::string& name) {
  if (name == "pca") return TsneInit::kPca;
  if (name == "random") return TsneInit::kRandom;
  throw Error(fmt::format("unknown t-SNE init '{}' (valid: pca, random)", name));
}

std::string tsne_init_name(TsneInit init) { return init == TsneInit::kPca ? "pca" : "random"; }

torch::Tensor tsne_initial_embedding(const torch::Tensor& x, int64_t dims, TsneInit init, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  if (init == TsneInit::kRandom)
    return torch::randn({x.size(0), dims}, gen, torch::kFloat64).mul_(tsne_detail::kInitScale);
  torch::Tensor y = tsne_detail::pca_scores(x, dims, gen);
  const torch::Tensor first = y.select(1, 0);
  const double sd = std::sqrt((first - first.mean()).pow(2).mean().item<double>());  // np.std: ddof 0
  MERC_CHECK(sd > 0.0, "t-SNE: the first principal component has no variance (all points equal?); use random init");
  return y.mul_(tsne_detail::kInitScale / sd);
}

TsneResult tsne(const torch::Tensor& x, const TsneOptions& o) {
  tsne_detail::validate(x, o);
  const auto start = tsne_detail::Clock::now();
  const int64_t n = x.size(0);
  const bool exact = o.theta == 0.0;
  TsneResult result;
  result.learning_rate = o.learning_rate.value_or(std::max(static_cast<double>(n) / o.early_exaggeration / 4.0, 50.0));
  // 1. P.
  auto t = tsne_detail::Clock::now();
  torch::Tensor dense_p;
  data::CsrMatrix sparse_p;
  if (exact) {
    const torch::Tensor d = squared_distances(x);
    result.seconds.neighbors = tsne_detail::seconds_since(t);
    t = tsne_detail::Clock::now();
    dense_p = dense_joint_affinities(d, o.perplexity);
    result.neighbors = n - 1;
  } else {
    result.neighbors = std::max<int64_t>(1, std::min<int64_t>(n - 1, static_cast<int64_t>(3.0 * o.perplexity)));
    const NeighborGraph g = nearest_neighbors(x, result.neighbors);
    result.seconds.neighbors = tsne_detail::seconds_since(t);
    t = tsne_detail::Clock::now();
    sparse_p = joint_affinities(g, conditional_affinities(g, o.perplexity));
  }
  result.seconds.affinities = tsne_detail::seconds_since(t);
  // 2. Y0.
  t = tsne_detail::Clock::now();
  const torch::Tensor y0 = tsne_initial_embedding(x, o.dims, o.init, o.seed).contiguous();
  std::vector<double> y(y0.data_ptr<double>(), y0.data_ptr<double>() + y0.numel());
  result.seconds.init = tsne_detail::seconds_since(t);
  spdlog::info("t-SNE: {} points, {} neighbours, {} (theta {}), learning rate {:.4g}, P and init in {:.2f} s", n,
               result.neighbors, exact ? "exact" : "Barnes-Hut", o.theta, result.learning_rate,
               tsne_detail::seconds_since(start));
  // 3. Gradient descent, two phases.
  const tsne_detail::GradientFn gradient = [&](const double* yy, double p_scale, double* grad, bool kl) {
    return exact ? exact_gradient(dense_p, yy, n, o.dims, p_scale, grad, kl)
                 : barnes_hut_gradient(sparse_p, yy, n, o.theta, p_scale, grad, kl);
  };
  t = tsne_detail::Clock::now();
  const tsne_detail::Phase early{
      0, o.exaggeration_iterations, o.momentum_exaggerated, o.early_exaggeration, o.exaggeration_iterations, true};
  tsne_detail::PhaseEnd end = tsne_detail::run_phase(early, gradient, result.learning_rate, o, &y, &result);
  result.seconds.exaggerated = tsne_detail::seconds_since(t);
  t = tsne_detail::Clock::now();
  const tsne_detail::Phase final_phase{end.last_iteration + 1,    o.max_iter, o.momentum_final, 1.0,
                                       o.n_iter_without_progress, false};
  if (final_phase.begin < final_phase.end)
    end = tsne_detail::run_phase(final_phase, gradient, result.learning_rate, o, &y, &result);
  result.seconds.final = tsne_detail::seconds_since(t);
  result.iterations = end.last_iteration + 1;
  result.kl_divergence = end.kl;
  result.embedding = torch::from_blob(y.data(), {n, o.dims}, torch::kFloat64).clone();
  result.seconds.total = tsne_detail::seconds_since(start);
  spdlog::info("t-SNE: KL {:.4f} after {} iterations, {:.2f} s", result.kl_divergence, result.iterations,
               result.seconds.total);
  return result;
}

}  // namespace merc::analysis
