// Optimizer numerics (issue 14 §2): one and two steps of every optimizer in merc's table, built by
// make_optimizer from a TrainConfig, against the update rules written out by hand in double; the
// per-group lr_scale reaching the torch param groups (make_optimizer, set_learning_rate and
// StageOptimizers across a stage switch) and the size of a step reflecting it.
#include "merc/train/optimizers.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "merc/train/stage_optimizers.h"

namespace merc::train {
namespace optimizers_test {

// Parameters and gradients are float64 and the hand update is float64: the two sides differ only by
// the order of a handful of double operations (~1e-16 relative on O(1) values).
constexpr double kTol = 1e-12;

using Vec = std::vector<double>;

torch::Tensor param_of(const Vec& v) {
  return torch::tensor(v, torch::kFloat64).requires_grad_(true);
}
Vec values_of(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat64).contiguous();
  return Vec(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}
void set_grad(torch::Tensor& p, const Vec& g) { p.mutable_grad() = torch::tensor(g, torch::kFloat64); }

void expect_near(const Vec& actual, const Vec& expected, double tol, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tol) << what << " [" << i << "]";
}

// ---- The update rules, by hand (the papers' / torch's documented formulas). ----
// Adam (Kingma & Ba 2015, Alg. 1, torch's eps placement: eps added to sqrt(v_hat)):
//   g <- g + wd * p (coupled L2, "adam" only); m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
//   p <- p - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
// AdamW (Loshchilov & Hutter 2019): first p <- p * (1 - lr * wd) (decoupled), then the Adam step
//   on the raw gradient.
// SGD with momentum mu (torch convention, dampening 0): d = g + wd * p; buf <- d on the first
//   step, buf <- mu buf + d afterwards; p <- p - lr * buf.
struct HandOptimizer {
  HandOptimizer(std::string kind_, double lr_, double wd_, double momentum_)
      : kind(std::move(kind_)), lr(lr_), wd(wd_), momentum(momentum_) {}
  std::string kind;
  double lr, wd, momentum;
  double b1 = 0.9, b2 = 0.999, eps = 1e-8;  // torch's AdamOptions/AdamWOptions defaults (merc sets none)
  Vec m, v, buf;
  int64_t t = 0;

  void step(Vec& p, const Vec& g_in) {
    const size_t n = p.size();
    if (m.empty()) m.assign(n, 0.0), v.assign(n, 0.0);
    ++t;
    if (kind == "sgd") {
      for (size_t i = 0; i < n; ++i) {
        const double d = g_in[i] + wd * p[i];
        if (buf.size() < n) buf.push_back(d);
        else buf[i] = momentum * buf[i] + d;
        p[i] -= lr * (momentum != 0 ? buf[i] : d);
      }
      return;
    }
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t));
    const double bc2 = 1.0 - std::pow(b2, static_cast<double>(t));
    for (size_t i = 0; i < n; ++i) {
      double g = g_in[i];
      if (kind == "adam") g += wd * p[i];
      else p[i] *= 1.0 - lr * wd;  // adamw
      m[i] = b1 * m[i] + (1.0 - b1) * g;
      v[i] = b2 * v[i] + (1.0 - b2) * g * g;
      p[i] -= lr * (m[i] / bc1) / (std::sqrt(v[i] / bc2) + eps);
    }
  }
};

struct Case {
  std::string optimizer;
  double weight_decay;
  double momentum;
};

std::string case_name(const Case& c) {
  return c.optimizer + " wd=" + std::to_string(c.weight_decay) + " momentum=" + std::to_string(c.momentum);
}

const Vec kP0 = {0.5, -1.25, 2.0, 0.0};
// Two different gradients (second step's differs in sign and size, one element is tiny so Adam's
// eps matters there, one parameter starts at 0 so weight decay acts unevenly).
const Vec kG1 = {0.3, -0.7, 1e-7, 1.5};
const Vec kG2 = {-0.2, 0.4, 0.9, 1.5};

// Every optimizer merc offers is covered below: adding one to the table without a hand-computed
// test fails here.
TEST(Optimizers, TheTableIsExactlyTheHandComputedOnes) {
  std::set<std::string> names;
  for (const auto& e : optimizer_registry()) names.insert(e.name);
  EXPECT_EQ(names, (std::set<std::string>{"adam", "adamw", "sgd"}));
}

TEST(Optimizers, OneAndTwoStepsEqualTheHandUpdate) {
  const std::vector<Case> cases = {
      {"adam", 0.0, 0.9},  {"adam", 0.1, 0.9},  {"adamw", 0.0, 0.9}, {"adamw", 0.1, 0.9},
      {"sgd", 0.0, 0.9},   {"sgd", 0.1, 0.9},   {"sgd", 0.1, 0.0},
  };
  for (const Case& k : cases) {
    TrainConfig config;  // merc's defaults, except the fields under test
    config.optimizer = k.optimizer;
    config.lr = 0.05;
    config.weight_decay = k.weight_decay;
    config.momentum = k.momentum;
    torch::Tensor p = param_of(kP0);
    std::vector<double> scales;
    auto opt = make_optimizer(config, {models::ParamGroup{"all", {p}, 1.0}}, &scales);
    ASSERT_EQ(scales, std::vector<double>{1.0});
    HandOptimizer hand{k.optimizer, config.lr, k.weight_decay, k.momentum};
    Vec expect = kP0;
    set_grad(p, kG1);
    opt->step();
    hand.step(expect, kG1);
    expect_near(values_of(p), expect, kTol, case_name(k) + " step 1");
    set_grad(p, kG2);
    opt->step();
    hand.step(expect, kG2);
    expect_near(values_of(p), expect, kTol, case_name(k) + " step 2");
  }
}

// The distinguishing numbers, checked against closed forms (not the HandOptimizer above):
// - Adam's first step with bias correction is lr * g / (|g| + eps') ~ lr * sign(g) per element;
//   without bias correction it would be lr * 0.1 g / (sqrt(0.001) |g|) ~ 3.16 lr.
// - Adam vs AdamW with weight decay, on elements with gradient 0: Adam's decay is coupled (the
//   gradient becomes wd * p, so the first step moves by lr * sign(p)); AdamW's is decoupled (p is
//   multiplied by 1 - lr * wd and the Adam part does not move it, m = 0).
TEST(Optimizers, ClosedFormFirstSteps) {
  const double lr = 0.01, wd = 0.1;
  for (const std::string name : {"adam", "adamw"}) {
    TrainConfig config;
    config.optimizer = name;
    config.lr = lr;
    config.weight_decay = wd;
    torch::Tensor p = param_of({2.0, -3.0, 1.0});
    auto opt = make_optimizer(config, {models::ParamGroup{"all", {p}, 1.0}}, nullptr);
    set_grad(p, {0.0, 0.0, 0.5});
    opt->step();
    const Vec after = values_of(p);
    if (name == "adam") {
      // g = wd * p: first Adam step = lr * sign(g) (up to eps / |g| ~ 1e-7 relative).
      EXPECT_NEAR(after[0], 2.0 - lr, 1e-8);
      EXPECT_NEAR(after[1], -3.0 + lr, 1e-8);
      EXPECT_NEAR(after[2], 1.0 - lr, 1e-8);
    } else {
      // p * (1 - lr wd), then no Adam move where g = 0 (m = 0).
      EXPECT_NEAR(after[0], 2.0 * (1 - lr * wd), 1e-12);
      EXPECT_NEAR(after[1], -3.0 * (1 - lr * wd), 1e-12);
      EXPECT_NEAR(after[2], 1.0 * (1 - lr * wd) - lr, 1e-8);
    }
  }
}

// ---- lr_scale ----

// A group's weight_decay override reaches that group only (RoHyDR's discriminator Adam has weight
// decay 1e-5, the main one none). A parameter p = 2 with a zero task gradient and decay 0.5 moves
// to 1.9 after one step of lr 0.1 under each optimizer: SGD and AdamW by lr * wd * p = 0.1; Adam's
// L2 gradient wd * p = 1 gives a first step of lr * m_hat / (sqrt(v_hat) + eps) = 0.1 (eps 1e-8,
// hence the 1e-6 tolerance). The group without an override keeps the config's decay 0: unchanged.
TEST(Optimizers, ParamGroupWeightDecayOverridesTheConfigForThatGroup) {
  for (const std::string name : {"sgd", "adam", "adamw"}) {
    TrainConfig config;
    config.optimizer = name;
    config.lr = 0.1;
    config.momentum = 0.0;
    config.weight_decay = 0.0;
    torch::Tensor a = param_of({2.0});
    torch::Tensor b = param_of({2.0});
    auto opt = make_optimizer(config, {models::ParamGroup{"a", {a}, 1.0}, models::ParamGroup{"b", {b}, 1.0, 0.5}},
                              nullptr);
    (a * 0.0 + b * 0.0).sum().backward();
    opt->step();
    EXPECT_NEAR(a.item<double>(), 2.0, 1e-6) << name;
    EXPECT_NEAR(b.item<double>(), 1.9, 1e-6) << name;
  }
}

TEST(Optimizers, LrScaleReachesEveryParamGroupAndTheStepSize) {
  for (const std::string name : {"sgd", "adam", "adamw"}) {
    TrainConfig config;
    config.optimizer = name;
    config.lr = 0.1;
    config.momentum = 0.0;
    torch::Tensor frozen = param_of({1.0}).requires_grad_(false);
    torch::Tensor a = param_of({1.0, -2.0});
    torch::Tensor b = param_of({0.5, 3.0});
    std::vector<double> scales;
    // A group without trainable parameters is dropped; the scales stay aligned with torch's groups.
    auto opt = make_optimizer(config,
                              {models::ParamGroup{"frozen", {frozen}, 7.0}, models::ParamGroup{"a", {a}, 1.0},
                               models::ParamGroup{"empty", {}, 5.0}, models::ParamGroup{"b", {b}, 0.25}},
                              &scales);
    ASSERT_EQ(opt->param_groups().size(), 2u) << name;
    EXPECT_EQ(scales, (std::vector<double>{1.0, 0.25})) << name;
    EXPECT_NEAR(learning_rate(*opt, 0), 0.1, kTol) << name;
    EXPECT_NEAR(learning_rate(*opt, 1), 0.025, kTol) << name;
    EXPECT_TRUE(opt->param_groups()[1].params()[0].is_same(b)) << name;
    set_learning_rate(*opt, 0.02, scales);
    EXPECT_NEAR(learning_rate(*opt, 0), 0.02, kTol) << name;
    EXPECT_NEAR(learning_rate(*opt, 1), 0.005, kTol) << name;
    // One step at lr 0.02: group a moves with 0.02, group b with 0.005 (hand rule per group).
    const Vec g = {0.4, -0.6};
    set_grad(a, g);
    set_grad(b, g);
    opt->step();
    Vec ea = {1.0, -2.0}, eb = {0.5, 3.0};
    HandOptimizer ha{name, 0.02, 0.0, 0.0}, hb{name, 0.005, 0.0, 0.0};
    ha.step(ea, g);
    hb.step(eb, g);
    expect_near(values_of(a), ea, kTol, name + " group a");
    expect_near(values_of(b), eb, kTol, name + " group b");
    EXPECT_EQ(values_of(frozen), Vec{1.0});
  }
}

// A test double whose stage 0 has one group (scale 2) and whose stage 1 has two groups in one
// optimizer (scales 1 and 0.5); stage 2 has two substeps (one optimizer per group, scales 0.25, 4).
class ScaledStages : public models::Model {
 public:
  ScaledStages() : Model("ScaledStages") {
    a = register_parameter("a", torch::tensor({1.0, 2.0}, torch::kFloat64));
    b = register_parameter("b", torch::tensor({-1.0}, torch::kFloat64));
  }
  models::ModelOutput forward(const data::DialogueBatch&, const models::ForwardContext&) override { return {}; }
  std::vector<models::ParamGroup> parameter_groups(int stage) override {
    if (stage == 0) return {{"a", {a}, 2.0}};
    if (stage == 1) return {{"a", {a}, 1.0}, {"b", {b}, 0.5}};
    return {{"a", {a}, 0.25}, {"b", {b}, 4.0}};
  }
  int substeps(int stage) const override { return stage == 2 ? 2 : 1; }
  torch::Tensor a, b;
};

TEST(StageOptimizers, LrScalesAfterBuildSetLrAndAStageSwitch) {
  ScaledStages model;
  TrainConfig config;
  config.lr = 0.01;
  StageOptimizers opts;
  opts.build(model, 0, config);
  ASSERT_EQ(opts.raw().size(), 1u);
  EXPECT_NEAR(learning_rate(opts.at(0), 0), 0.02, kTol);
  opts.set_lr(0.004);
  EXPECT_NEAR(learning_rate(opts.at(0), 0), 0.008, kTol);

  opts.build(model, 1, config);  // stage switch: rebuilt at the config lr, with the new scales
  ASSERT_EQ(opts.raw().size(), 1u);
  ASSERT_EQ(opts.at(0).param_groups().size(), 2u);
  EXPECT_NEAR(learning_rate(opts.at(0), 0), 0.01, kTol);
  EXPECT_NEAR(learning_rate(opts.at(0), 1), 0.005, kTol);
  opts.set_lr(0.004);
  EXPECT_NEAR(learning_rate(opts.at(0), 0), 0.004, kTol);
  EXPECT_NEAR(learning_rate(opts.at(0), 1), 0.002, kTol);

  opts.build(model, 2, config);  // substeps: one optimizer per group, each with its own scale
  ASSERT_EQ(opts.raw().size(), 2u);
  opts.set_lr(0.004);
  EXPECT_NEAR(learning_rate(opts.at(0), 0), 0.001, kTol);
  EXPECT_NEAR(learning_rate(opts.at(1), 0), 0.016, kTol);
  EXPECT_TRUE(opts.at(1).param_groups()[0].params()[0].is_same(model.b));
}

}  // namespace optimizers_test
}  // namespace merc::train
