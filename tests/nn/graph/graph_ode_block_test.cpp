#include "merc/nn/graph/graph_ode_block.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../gradcheck.h"
#include "merc/core/error.h"

namespace merc::nn {
namespace graph_ode_block_test {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);
constexpr int64_t kN = 4, kH = 3;

// A double block with distinct, non-symmetric hand-set weights and non-zero biases.
GraphOdeBlock make_block(GraphOdeBlockOptions o) {
  GraphOdeBlock block(o);
  block->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  block->w1->weight.copy_(torch::tensor({0.13, -0.06, 0.04, 0.10, -0.03, 0.07,  //
                                         -0.09, 0.11, 0.01, -0.04, 0.09, -0.13,  //
                                         0.03, -0.10, 0.07, 0.06, 0.02, -0.11},
                                        kF64)
                              .view({kH, 2 * kH}));
  block->w1->bias.copy_(torch::tensor({0.15, -0.25, 0.05}, kF64));
  block->w2->weight.copy_(torch::tensor({0.8, -0.3, 0.4, 0.2, 0.9, -0.6, -0.5, 0.35, 0.7}, kF64).view({kH, kH}));
  block->w2->bias.copy_(torch::tensor({-0.1, 0.2, 0.3}, kF64));
  return block;
}

torch::Tensor input_h() {
  return torch::tensor({0.5, -1.0, 0.25, 1.2, 0.3, -0.4, -0.7, 0.9, 0.6, 0.1, -0.2, 1.5}, kF64).view({kN, kH});
}

// A row-stochastic, non-symmetric adjacency.
torch::Tensor input_a() {
  const auto A = torch::tensor({1.0, 0.4, 0.0, 0.2, 0.3, 1.0, 0.5, 0.0, 0.0, 0.6, 1.0, 0.1, 0.7, 0.0, 0.2, 1.0}, kF64)
                     .view({kN, kN});
  return A / A.sum(1, true);
}

// f written out independently with the hand weights (no module call): W2 tanh(W1 [h | A h] + b1) + b2.
torch::Tensor reference_f(const GraphOdeBlock& block, const torch::Tensor& h, const torch::Tensor& A) {
  const auto p = block->named_parameters();
  const auto W1 = p["w1.weight"], b1 = p["w1.bias"], W2 = p["w2.weight"], b2 = p["w2.bias"];
  const auto Ah = A.mm(h);
  // Left half of W1 reads h, right half reads A h (concatenation order).
  const auto z = h.mm(W1.slice(1, 0, kH).t()) + Ah.mm(W1.slice(1, kH, 2 * kH).t()) + b1;
  return torch::tanh(z).mm(W2.t()) + b2;
}

// Classical RK4 (1/6, 1/3, 1/3, 1/6; not odeint's 3/8 rule) with n equal steps on [0, 1].
torch::Tensor reference_rk4(const GraphOdeBlock& block, torch::Tensor h, const torch::Tensor& A, int n) {
  torch::NoGradGuard no_grad;
  const double dt = 1.0 / n;
  for (int i = 0; i < n; ++i) {
    const auto k1 = reference_f(block, h, A);
    const auto k2 = reference_f(block, h + 0.5 * dt * k1, A);
    const auto k3 = reference_f(block, h + 0.5 * dt * k2, A);
    const auto k4 = reference_f(block, h + dt * k3, A);
    h = h + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4);
  }
  return h;
}

double max_abs(const torch::Tensor& x) { return x.abs().max().item<double>(); }

TEST(GraphOdeBlock, DerivativeMatchesTheFormula) {
  auto block = make_block(GraphOdeBlockOptions(kH));
  // Double, one linear layer deep: rounding ~1e-16; 1e-12.
  EXPECT_LT(max_abs(block->derivative(input_h(), input_a()) - reference_f(block, input_h(), input_a())), 1e-12);
}

TEST(GraphOdeBlock, DiscreteStepsAreKEulerLayersOfStepOneOverK) {
  auto block = make_block(GraphOdeBlockOptions(kH).discrete_steps(3));
  const auto out = block->forward(input_h(), input_a());
  torch::Tensor h = input_h();
  for (int k = 0; k < 3; ++k) h = h + reference_f(block, h, input_a()) / 3.0;
  EXPECT_LT(max_abs(out - h), 1e-12);  // same arithmetic in double: 1e-12
  EXPECT_EQ(block->last_stats().nfe, 3);
  EXPECT_EQ(block->last_stats().accepted_steps, 3);
  // K = 1 is one residual layer h + f(h).
  auto one = make_block(GraphOdeBlockOptions(kH).discrete_steps(1));
  EXPECT_LT(max_abs(one->forward(input_h(), input_a()) - (input_h() + reference_f(one, input_h(), input_a()))), 1e-12);
}

TEST(GraphOdeBlock, ContinuousMatchesAnIndependentRk4) {
  // Reference: classical RK4 with 200 steps, global error O(dt^4) ~ 1e-11 here (the solution is
  // O(1) and smooth; with 400 steps the tight solve below was measured 2e-12 away).
  const auto expected = reference_rk4(make_block(GraphOdeBlockOptions(kH)), input_h(), input_a(), 200);
  // Default dopri5 (rtol 1e-7 / atol 1e-9, local error control): global error within ~10x rtol on
  // t in [0, 1] (as in odeint_test's kDopriDefaultTol; measured 3e-8): 1e-6.
  auto block = make_block(GraphOdeBlockOptions(kH));
  const auto out = block->forward(input_h(), input_a());
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{kN, kH}));
  EXPECT_LT(max_abs(out - expected), 1e-6);
  EXPECT_GT(max_abs(out - input_h()), 0.1);  // the state really moved
  const OdeStats s = block->last_stats();
  EXPECT_GT(s.accepted_steps, 0);
  EXPECT_EQ(s.nfe, 2 + 6 * (s.accepted_steps + s.rejected_steps));
  // Tight tolerances: rtol 1e-11 / atol 1e-12 -> within 1e-9 of the reference (measured 2e-12).
  OdeOptions tight;
  tight.rtol = 1e-11;
  tight.atol = 1e-12;
  auto precise = make_block(GraphOdeBlockOptions(kH).ode(tight));
  EXPECT_LT(max_abs(precise->forward(input_h(), input_a()) - expected), 1e-9);
  EXPECT_GT(precise->last_stats().nfe, s.nfe);
  // The adjoint flag does not change the forward value (same solve).
  auto adj = make_block(GraphOdeBlockOptions(kH).adjoint(true));
  EXPECT_TRUE(torch::equal(adj->forward(input_h(), input_a()), out));
  EXPECT_EQ(adj->last_stats().nfe, s.nfe);
}

TEST(GraphOdeBlock, GradientsMatchFiniteDifferences) {
  // Fixed-grid rk4 (4 steps) and discrete K = 2 are smooth in every input: gradcheck.h's 1e-7
  // (measured 3e-10) for W1, W2 (weights and biases), the input h and A.
  OdeOptions rk4;
  rk4.method = OdeMethod::kRk4;
  rk4.step_size = 0.25;
  for (const auto& o : {GraphOdeBlockOptions(kH).ode(rk4), GraphOdeBlockOptions(kH).discrete_steps(2)}) {
    auto block = make_block(o);
    auto h = input_h().requires_grad_(true);
    auto A = input_a().requires_grad_(true);
    std::vector<torch::Tensor> tensors = block->parameters();
    tensors.push_back(h);
    tensors.push_back(A);
    const double err = testing::max_gradient_error([&] { return block->forward(h, A); }, tensors);
    EXPECT_LT(err, 1e-7) << o.discrete_steps();
    EXPECT_GT(block->w1->weight.grad().abs().sum().item<double>(), 0.0);
    EXPECT_GT(block->w2->weight.grad().abs().sum().item<double>(), 0.0);
  }
}

TEST(GraphOdeBlock, Dopri5GradientsOfTheWeightsMatchFiniteDifferences) {
  // dopri5 at rtol 1e-10 / atol 1e-12: backprop misses the O(tolerance) motion of the detached step
  // sizes that finite differences see (odeint_test: 3e-9; here measured 6e-10): 1e-7. W1 and W2 only
  // (the other inputs are covered above and by the adjoint test) to keep the test fast.
  OdeOptions dopri;
  dopri.rtol = 1e-10;
  dopri.atol = 1e-12;
  auto block = make_block(GraphOdeBlockOptions(kH).ode(dopri));
  const double err = testing::max_gradient_error([&] { return block->forward(input_h(), input_a()); },
                                                 block->parameters());
  EXPECT_LT(err, 1e-7);
}

TEST(GraphOdeBlock, AdjointGradientsMatchBackprop) {
  OdeOptions o;
  o.rtol = 1e-9;
  o.atol = 1e-10;
  const auto probe = torch::tensor({0.3, -0.2, 1.0, 0.5, -0.7, 0.9, 0.1, 0.4, -0.6, 0.8, -0.1, 0.2}, kF64).view({kN, kH});
  auto grads = [&](bool adjoint) {
    auto block = make_block(GraphOdeBlockOptions(kH).ode(o).adjoint(adjoint));
    auto h = input_h().requires_grad_(true);
    auto A = input_a().requires_grad_(true);
    std::vector<torch::Tensor> inputs = block->parameters();
    inputs.push_back(h);
    inputs.push_back(A);
    return torch::autograd::grad({(block->forward(h, A) * probe).sum()}, inputs);
  };
  const auto g_bp = grads(false);
  const auto g_adj = grads(true);
  ASSERT_EQ(g_bp.size(), 6u);  // w1.weight, w1.bias, w2.weight, w2.bias, h, A
  // Both are O(tolerance) approximations of the exact gradient (measured up to 7e-9): 1e-7.
  for (size_t i = 0; i < g_bp.size(); ++i) {
    EXPECT_LT(max_abs(g_bp[i] - g_adj[i]), 1e-7) << "input " << i;
    EXPECT_GT(max_abs(g_adj[i]), 1e-3) << "input " << i;
  }
}

TEST(GraphOdeBlock, BatchedBlocksEqualTheBlockDiagonalNodeGraph) {
  // Two "dialogues" of 4 and 2 nodes padded to T = 4: the batched form (B, T, H) with per-dialogue
  // A blocks must give the (N, N) block-diagonal result on the real rows. Discrete steps: the same
  // arithmetic up to the matmul's summation order (double): 1e-12. Continuous: the padding rows
  // (zero rows of A) join the shared dopri5 error norm, so the step sequence can differ slightly;
  // both solves are within the solver tolerance of the truth: 1e-6 (as above).
  const torch::Tensor h1 = input_h(), h2 = input_h().slice(0, 1, 3) * -0.5;
  const torch::Tensor A1 = input_a();
  const torch::Tensor A2 = torch::tensor({0.6, 0.4, 0.3, 0.7}, kF64).view({2, 2});
  torch::Tensor A = torch::zeros({6, 6}, kF64);
  A.slice(0, 0, 4).slice(1, 0, 4).copy_(A1);
  A.slice(0, 4, 6).slice(1, 4, 6).copy_(A2);
  const torch::Tensor h = torch::cat({h1, h2});
  torch::Tensor hb = torch::zeros({2, kN, kH}, kF64), Ab = torch::zeros({2, kN, kN}, kF64);
  hb[0].copy_(h1);
  hb[1].slice(0, 0, 2).copy_(h2);
  Ab[0].copy_(A1);
  Ab[1].slice(0, 0, 2).slice(1, 0, 2).copy_(A2);
  for (const int64_t K : {0, 4}) {
    auto block = make_block(GraphOdeBlockOptions(kH).discrete_steps(K));
    const auto flat = block->forward(h, A);
    const auto batched = block->forward(hb, Ab);
    ASSERT_EQ(batched.sizes(), (std::vector<int64_t>{2, kN, kH}));
    const double tol = K > 0 ? 1e-12 : 1e-6;
    EXPECT_LT(max_abs(batched[0] - flat.slice(0, 0, 4)), tol) << K;
    EXPECT_LT(max_abs(batched[1].slice(0, 0, 2) - flat.slice(0, 4, 6)), tol) << K;
  }
  auto block = make_block(GraphOdeBlockOptions(kH));
  EXPECT_THROW(block->forward(hb, A), Error);
  EXPECT_THROW(block->forward(hb, Ab.slice(0, 0, 1)), Error);
}

TEST(GraphOdeBlock, Float32DefaultsAndBadInput) {
  torch::manual_seed(2);
  GraphOdeBlock block(GraphOdeBlockOptions(5));
  const auto h = torch::randn({6, 5});
  const auto A = torch::softmax(torch::randn({6, 6}), 1);
  const auto out = block->forward(h, A);
  EXPECT_EQ(out.sizes(), h.sizes());
  EXPECT_EQ(out.scalar_type(), torch::kFloat32);
  EXPECT_EQ(block->options.ode().method, OdeMethod::kDopri5);
  EXPECT_EQ(block->options.ode().rtol, 1e-7);
  EXPECT_EQ(block->options.ode().atol, 1e-9);
  EXPECT_FALSE(block->options.adjoint());
  EXPECT_EQ(block->options.discrete_steps(), 0);
  EXPECT_GT(block->last_stats().nfe, 0);
  EXPECT_THROW(block->forward(torch::randn({6, 4}), A), Error);
  EXPECT_THROW(block->forward(h, torch::randn({6, 5})), Error);
  EXPECT_THROW(block->forward(h.view({-1}), A), Error);
  EXPECT_THROW(GraphOdeBlock(GraphOdeBlockOptions(0)), Error);
  EXPECT_THROW(GraphOdeBlock(GraphOdeBlockOptions(3).discrete_steps(-1)), Error);
  std::ostringstream s;
  block->pretty_print(s);
  EXPECT_NE(s.str().find("dopri5"), std::string::npos) << s.str();
}

}  // namespace graph_ode_block_test
}  // namespace merc::nn
