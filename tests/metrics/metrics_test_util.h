#pragma once
// Deterministic inputs shared with scripts/metrics_reference.py, which computed the reference
// numbers with scikit-learn 1.2.1 / numpy 1.24 from exactly these sequences.

#include <cstdint>
#include <vector>

namespace merc::metrics::testing {

// Hand-derived fractions and the float64 reference values of sklearn / numpy differ from ours only
// in the order of summation: a few ulps on values of order 1 (ulp ~ 2e-16). 1e-12 allows that and
// nothing else (a wrong count changes a value by >= 1/N ~ 5e-3).
constexpr double kTol = 1e-12;

// Numerical Recipes LCG: state = (1664525 * state + 1013904223) mod 2^32, output = state >> 16.
// The Python script implements the same recurrence.
class Lcg {
 public:
  explicit Lcg(uint32_t seed) : state_(seed) {}
  uint32_t next() {
    state_ = 1664525u * state_ + 1013904223u;  // uint32_t arithmetic wraps mod 2^32
    return state_ >> 16;
  }

 private:
  uint32_t state_;
};

struct ClassificationCase {
  std::vector<int64_t> truth, pred;
  std::vector<double> weight;
};

// 200 samples: truth in 0..4, prediction = truth 60% of the time else uniform in 0..5 (so class 5
// is only ever predicted; class 6 of 7 never occurs), weights in {0.25, 0.5, ..., 2.0}.
inline ClassificationCase lcg_classification_case(int n = 200, uint32_t seed = 12345) {
  Lcg rng(seed);
  ClassificationCase c;
  for (int i = 0; i < n; ++i) {
    const int64_t t = rng.next() % 5;
    const int64_t p = rng.next() % 10 < 6 ? t : static_cast<int64_t>(rng.next() % 6);
    c.truth.push_back(t);
    c.pred.push_back(p);
    c.weight.push_back(0.25 * (1 + rng.next() % 8));
  }
  return c;
}

struct SentimentCase {
  std::vector<double> pred, truth;
};

// 60 samples: truth on the 1/3 grid of [-3, 3], prediction = truth + k/8 with k in [-16, 16].
inline SentimentCase lcg_sentiment_case(int n = 60, uint32_t seed = 777) {
  Lcg rng(seed);
  SentimentCase c;
  for (int i = 0; i < n; ++i) {
    const double t = (static_cast<double>(rng.next() % 19) - 9.0) / 3.0;
    const double p = t + (static_cast<double>(rng.next() % 33) - 16.0) / 8.0;
    c.truth.push_back(t);
    c.pred.push_back(p);
  }
  return c;
}

}  // namespace merc::metrics::testing
