#include "merc/analysis/flop_counter.h"

#include <ATen/record_function.h>
#include <torch/types.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <unordered_map>

#include "merc/core/error.h"

namespace merc::analysis {

namespace flop_counter_detail {

// How an operator is counted. MACs need the input shapes (only valid in the start callback);
// elementwise counts and convolutions need the output (only known in the end callback).
enum class OpKind { kMatmul, kConv, kAttention, kElementwise, kReduction };

const std::unordered_map<std::string, OpKind>& op_table() {
  static const std::unordered_map<std::string, OpKind> table = [] {
    std::unordered_map<std::string, OpKind> t;
    for (const char* n : {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addbmm", "aten::matmul",
                          "aten::linear", "aten::mv", "aten::addmv", "aten::dot", "aten::vdot"})
      t[n] = OpKind::kMatmul;
    for (const char* n : {"aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::convolution", "aten::_convolution",
                          "aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d"})
      t[n] = OpKind::kConv;
    // LibTorch 2.x: its CPU kernels do not decompose into bmm, so it is counted where it is called.
    t["aten::scaled_dot_product_attention"] = OpKind::kAttention;
    for (const char* n :
         {"aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::rsub", "aten::mul", "aten::mul_", "aten::div",
          "aten::div_", "aten::neg", "aten::reciprocal", "aten::pow", "aten::sqrt", "aten::rsqrt", "aten::exp",
          "aten::log", "aten::abs", "aten::clamp", "aten::clamp_", "aten::maximum", "aten::minimum",
          "aten::relu", "aten::relu_", "aten::leaky_relu", "aten::leaky_relu_", "aten::gelu", "aten::elu",
          "aten::silu", "aten::tanh", "aten::tanh_", "aten::sigmoid", "aten::sigmoid_", "aten::softplus",
          "aten::softmax", "aten::_softmax", "aten::log_softmax", "aten::_log_softmax", "aten::layer_norm",
          "aten::native_layer_norm", "aten::batch_norm", "aten::_batch_norm_impl_index",
          "aten::native_batch_norm", "aten::group_norm", "aten::native_group_norm", "aten::addcmul",
          "aten::addcdiv", "aten::lerp", "aten::where"})
      t[n] = OpKind::kElementwise;
    for (const char* n : {"aten::sum", "aten::mean", "aten::norm", "aten::linalg_vector_norm", "aten::var",
                          "aten::std", "aten::amax", "aten::max", "aten::logsumexp", "aten::cumsum"})
      t[n] = OpKind::kReduction;
    return t;
  }();
  return table;
}

// The scope of one counted operator. Only the outermost one of a nest adds to the count; the
// others only hold the depth so that their children stay uncounted as well.
struct CountedScope final : at::ObserverContext {
  std::string name;
  OpKind kind = OpKind::kElementwise;
  bool outermost = false;
  int64_t macs = 0;         // matmul/attention: from the inputs
  int64_t conv_input = 0;   // conv: input elements (transposed: MACs = input * weight / C_out_of_weight)
  int64_t conv_per_out = 0; // conv: weight elements per weight row (C_in/groups * kernel)
  bool transposed = false;
  int64_t input_numel = 0;  // reductions: 1 FLOP per input element
};

struct CounterState {
  FlopCount* count = nullptr;
  int depth = 0;  // counted scopes open on this thread
};
thread_local CounterState tls_state;

std::vector<int64_t> shape_of(const c10::IValue& v) {
  if (!v.isTensor() || !v.toTensor().defined()) return {};
  const auto s = v.toTensor().sizes();
  return std::vector<int64_t>(s.begin(), s.end());
}

// Product of s[from, to) (to clamped to s.size()); 1 for an empty range.
int64_t product(const std::vector<int64_t>& s, size_t from = 0, size_t to = SIZE_MAX) {
  const size_t end = std::min(to, s.size());
  if (from >= end) return 1;
  return std::accumulate(s.begin() + static_cast<std::ptrdiff_t>(from), s.begin() + static_cast<std::ptrdiff_t>(end),
                         int64_t{1}, std::multiplies<int64_t>());
}

// torch.matmul's semantics: 1-D operands are a row (left) or column (right) vector, leading dims
// broadcast. MACs = batch * n * k * m.
int64_t matmul_macs(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.empty() || b.empty()) return 0;
  const int64_t k = a.back();
  const int64_t n = a.size() >= 2 ? a[a.size() - 2] : 1;
  const int64_t m = b.size() >= 2 ? b.back() : 1;
  const size_t batch_a = a.size() > 2 ? a.size() - 2 : 0, batch_b = b.size() > 2 ? b.size() - 2 : 0;
  // Broadcast batch dims, aligned from the right.
  int64_t batch = 1;
  for (size_t i = 0; i < std::max(batch_a, batch_b); ++i) {
    const int64_t da = i < batch_a ? a[batch_a - 1 - i] : 1, db = i < batch_b ? b[batch_b - 1 - i] : 1;
    batch *= std::max(da, db);
  }
  return batch * n * k * m;
}

int64_t matmul_family_macs(const std::string& name, const at::RecordFunction& fn) {
  const auto in = fn.inputs();
  auto shape = [&](size_t i) { return i < in.size() ? shape_of(in[i]) : std::vector<int64_t>{}; };
  if (name == "aten::linear") {
    const auto x = shape(0), w = shape(1);
    if (x.empty() || x.back() == 0 || w.size() != 2) return 0;
    return product(x) / x.back() * w[0] * w[1];
  }
  if (name == "aten::mm" || name == "aten::bmm" || name == "aten::matmul") return matmul_macs(shape(0), shape(1));
  if (name == "aten::addmm" || name == "aten::baddbmm" || name == "aten::addbmm") return matmul_macs(shape(1), shape(2));
  if (name == "aten::mv") return product(shape(0));
  if (name == "aten::addmv") return product(shape(1));
  return product(shape(0));  // dot, vdot: n
}

// q (..., L, E), k (..., S, E), v (..., S, Ev): Q K^T and the product with V.
int64_t attention_macs(const at::RecordFunction& fn) {
  const auto in = fn.inputs();
  if (in.size() < 3) return 0;
  const auto q = shape_of(in[0]), k = shape_of(in[1]), v = shape_of(in[2]);
  if (q.size() < 2 || k.size() < 2 || v.size() < 2) return 0;
  const int64_t batch = product(q, 0, q.size() - 2), l = q[q.size() - 2], e = q.back();
  const int64_t s = k[k.size() - 2], ev = v.back();
  return batch * l * s * (e + ev);
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  CounterState& st = tls_state;
  if (!st.count) return nullptr;
  const std::string name = fn.name();
  const auto& table = op_table();
  const auto it = table.find(name);
  if (it == table.end()) {
    if (st.depth == 0) ++st.count->uncounted[name];
    return nullptr;
  }
  auto scope = std::make_unique<CountedScope>();
  scope->name = name;
  scope->kind = it->second;
  scope->outermost = st.depth == 0;
  ++st.depth;
  if (!scope->outermost) return scope;
  const auto in = fn.inputs();
  switch (scope->kind) {
    case OpKind::kMatmul: scope->macs = matmul_family_macs(name, fn); break;
    case OpKind::kAttention: scope->macs = attention_macs(fn); break;
    case OpKind::kConv: {
      const auto x = in.size() > 0 ? shape_of(in[0]) : std::vector<int64_t>{};
      const auto w = in.size() > 1 ? shape_of(in[1]) : std::vector<int64_t>{};
      scope->conv_input = product(x);
      scope->conv_per_out = w.empty() ? 0 : product(w, 1);
      // aten::convolution / _convolution(input, weight, bias, stride, padding, dilation, transposed, ...)
      scope->transposed = name.find("conv_transpose") != std::string::npos ||
                          ((name == "aten::convolution" || name == "aten::_convolution") && in.size() > 6 &&
                           in[6].isBool() && in[6].toBool());
      break;
    }
    case OpKind::kReduction: scope->input_numel = in.size() > 0 ? product(shape_of(in[0])) : 0; break;
    case OpKind::kElementwise: break;
  }
  return scope;
}

int64_t first_output_numel(const at::RecordFunction& fn) {
  for (const c10::IValue& v : fn.outputs())
    if (v.isTensor() && v.toTensor().defined()) return v.toTensor().numel();
  return 0;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* ctx) {
  CounterState& st = tls_state;
  auto* scope = dynamic_cast<CountedScope*>(ctx);
  if (!scope || !st.count) return;
  --st.depth;
  if (!scope->outermost) return;
  OpFlops& op = st.count->per_op[scope->name];
  ++op.calls;
  int64_t macs = scope->macs, elementwise = 0;
  switch (scope->kind) {
    case OpKind::kConv: {
      // Normal: every output element is one dot product of a weight row (C_in/groups * kernel).
      // Transposed (weight (C_in, C_out/groups, k...)): every input element scatters one weight row.
      macs = (scope->transposed ? scope->conv_input : first_output_numel(fn)) * scope->conv_per_out;
      break;
    }
    case OpKind::kElementwise: elementwise = first_output_numel(fn); break;
    case OpKind::kReduction: elementwise = scope->input_numel; break;
    case OpKind::kMatmul:
    case OpKind::kAttention: break;
  }
  op.macs += macs;
  op.elementwise_flops += elementwise;
  st.count->macs += macs;
  st.count->elementwise_flops += elementwise;
}

// Installs the callback for its lifetime (removed on exceptions too).
class CallbackGuard {
 public:
  explicit CallbackGuard(FlopCount* count) {
    MERC_CHECK(!tls_state.count, "count_flops: a FLOP count is already running on this thread");
    tls_state = CounterState{count, 0};
    handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(&on_start, &on_end)
                                             .needsInputs(true)
                                             .needsOutputs(true)
                                             .scopes({at::RecordScope::FUNCTION}));
  }
  ~CallbackGuard() {
    at::removeCallback(handle_);
    tls_state = CounterState{};
  }
  CallbackGuard(const CallbackGuard&) = delete;
  CallbackGuard& operator=(const CallbackGuard&) = delete;

 private:
  at::CallbackHandle handle_ = 0;
};

}  // namespace flop_counter_detail

FlopCount count_flops(const std::function<void()>& fn) {
  FlopCount count;
  {
    flop_counter_detail::CallbackGuard guard(&count);
    fn();
  }
  return count;
}

}  // namespace merc::analysis
