#pragma once
// t-SNE (van der Maaten & Hinton 2008) with exact gradients for small sets and Barnes-Hut
// (van der Maaten 2014) for large ones; the schedule and defaults are scikit-learn 1.2's
// sklearn.manifold.TSNE, so results are comparable with what this field's analysis scripts
// (MoED's tsne_*.py) produce:
//   1. P: perplexity-calibrated Gaussian affinities over the k = min(N - 1, floor(3 perplexity))
//      nearest neighbours (Barnes-Hut; van der Maaten's K; sklearn uses one more) or over all
//      points (exact), symmetrised (tsne_affinities.h);
//   2. Y0: PCA scaled so the first coordinate has standard deviation 1e-4, or N(0, 1e-4^2);
//   3. gradient descent on KL(P || Q) (tsne_gradient.h) with momentum and per-coordinate gains
//      (+0.2 when the gradient changes sign, x0.8 otherwise, at least min_gain):
//      iterations [0, exaggeration_iterations) with P x early_exaggeration and momentum 0.5,
//      then up to max_iter with momentum 0.8; update and gains restart between the two phases;
//      every 50 iterations the KL is computed and the run stops early when it has not improved
//      for n_iter_without_progress iterations or the gradient norm is <= min_grad_norm.
// Deterministic on CPU for a given seed and thread count (tsne_gradient.h says why the gradient
// does not even depend on the thread count; the BLAS products of PCA and the neighbour search may).

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace merc::analysis {

enum class TsneInit { kPca, kRandom };

// One KL check of the optimisation (every kTsneCheckEvery iterations and at the end).
struct TsneProgress {
  int64_t iteration = 0;  // iterations done
  int64_t max_iter = 0;
  double kl_divergence = 0.0;  // of the exaggerated P during early exaggeration, as sklearn reports
  bool exaggerated = false;
};
inline constexpr int64_t kTsneCheckEvery = 50;  // sklearn's _N_ITER_CHECK

struct TsneOptions {
  int64_t dims = 2;                     // output dimensions (Barnes-Hut: 2)
  double perplexity = 30.0;             // effective number of neighbours, 0 < perplexity < N
  double theta = 0.5;                   // Barnes-Hut opening angle; 0 = exact t-SNE (O(N^2) time and memory)
  std::optional<double> learning_rate;  // empty = "auto": max(N / early_exaggeration / 4, 50)
  double early_exaggeration = 12.0;
  int64_t exaggeration_iterations = 250;
  int64_t max_iter = 1000;  // total iterations, both phases
  double momentum_exaggerated = 0.5;
  double momentum_final = 0.8;
  double min_gain = 0.01;
  int64_t n_iter_without_progress = 300;  // final phase; the exaggerated phase uses its length
  double min_grad_norm = 1e-7;
  TsneInit init = TsneInit::kPca;
  uint64_t seed = 0;  // random init, and the random start of PCA's subspace iteration
  std::function<void(const TsneProgress&)> on_progress;  // called at every KL check
};

struct TsneSeconds {
  double neighbors = 0;   // kNN (Barnes-Hut) or all distances (exact)
  double affinities = 0;  // perplexity calibration + symmetrisation
  double init = 0;
  double exaggerated = 0;  // optimisation, early-exaggeration phase
  double final = 0;        // optimisation, final phase
  double total = 0;
};

struct TsneResult {
  torch::Tensor embedding;            // (N, dims) float64
  double kl_divergence = 0;           // at the last iteration: exact KL (theta = 0) or the Barnes-Hut estimate
  int64_t iterations = 0;             // iterations run (< max_iter when a stopping rule fired)
  double learning_rate = 0;           // as used ("auto" resolved)
  int64_t neighbors = 0;              // k of the neighbour graph (N - 1 for exact)
  std::vector<TsneProgress> history;  // every KL check, in order
  TsneSeconds seconds;
};

// x: (N, D) float32 or float64, finite, N >= 2, perplexity < N (Barnes-Hut: also at most k,
// which needs 3 perplexity >= 1). Throws merc::Error naming what is wrong (rank, size, values,
// options).
TsneResult tsne(const torch::Tensor& x, const TsneOptions& options);

// "pca" | "random" (merc::Error listing both otherwise).
TsneInit parse_tsne_init(const std::string& name);
std::string tsne_init_name(TsneInit init);

// The initial embedding of step 2 (exposed for tests): (N, dims) float64.
torch::Tensor tsne_initial_embedding(const torch::Tensor& x, int64_t dims, TsneInit init, uint64_t seed);

}  // namespace merc::analysis
