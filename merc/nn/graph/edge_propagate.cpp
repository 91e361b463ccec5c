#include "merc/nn/graph/edge_propagate.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/autograd.h>

namespace merc::nn {

namespace {

// Counting sort of edge ids by key (stable): ptr (N + 1), order (E).
void csr_order_by(const int64_t* key, int64_t E, int64_t N, torch::Tensor& ptr_t, torch::Tensor& order_t) {
  ptr_t = torch::zeros({N + 1}, torch::kInt64);
  order_t = torch::empty({E}, torch::kInt64);
  int64_t* ptr = ptr_t.data_ptr<int64_t>();
  int64_t* order = order_t.data_ptr<int64_t>();
  for (int64_t e = 0; e < E; ++e) ++ptr[key[e] + 1];
  for (int64_t i = 0; i < N; ++i) ptr[i + 1] += ptr[i];
  std::vector<int64_t> fill(ptr, ptr + N);
  for (int64_t e = 0; e < E; ++e) order[fill[static_cast<size_t>(key[e])]++] = e;
}

template <class T>
void propagate_forward_kernel(const EdgeIndex& g, const T* x, const T* coef, T* out, int64_t D) {
  const int64_t* ptr = g.in_ptr.data_ptr<int64_t>();
  const int64_t* order = g.in_edge.data_ptr<int64_t>();
  const torch::Tensor src_cpu = g.src.to(torch::kCPU);
  const int64_t* src = src_cpu.data_ptr<int64_t>();
  at::parallel_for(0, g.num_nodes, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T* o = out + i * D;
      for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) {
        const int64_t e = order[k];
        const T c = coef[e];
        const T* xs = x + src[e] * D;
        for (int64_t d = 0; d < D; ++d) o[d] += c * xs[d];
      }
    }
  });
}

template <class T>
void propagate_backward_x_kernel(const EdgeIndex& g, const T* grad, const T* coef, T* gx, int64_t D) {
  const int64_t* ptr = g.out_ptr.data_ptr<int64_t>();
  const int64_t* order = g.out_edge.data_ptr<int64_t>();
  const torch::Tensor dst_cpu = g.dst.to(torch::kCPU);
  const int64_t* dst = dst_cpu.data_ptr<int64_t>();
  at::parallel_for(0, g.num_nodes, 16, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      T* o = gx + j * D;
      for (int64_t k = ptr[j]; k < ptr[j + 1]; ++k) {
        const int64_t e = order[k];
        const T c = coef[e];
        const T* gs = grad + dst[e] * D;
        for (int64_t d = 0; d < D; ++d) o[d] += c * gs[d];
      }
    }
  });
}

template <class T>
void propagate_backward_coef_kernel(const EdgeIndex& g, const T* grad, const T* x, T* gc, int64_t D) {
  const torch::Tensor src_cpu = g.src.to(torch::kCPU), dst_cpu = g.dst.to(torch::kCPU);
  const int64_t* src = src_cpu.data_ptr<int64_t>();
  const int64_t* dst = dst_cpu.data_ptr<int64_t>();
  at::parallel_for(0, g.num_edges(), 256, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      const T* a = grad + dst[e] * D;
      const T* b = x + src[e] * D;
      T s = 0;
      for (int64_t d = 0; d < D; ++d) s += a[d] * b[d];
      gc[e] = s;
    }
  });
}

// The EdgeIndex travels through autograd as a pointer kept alive by the caller's graph... which
// is not guaranteed, so the function keeps its own copy (tensors are shared handles: cheap).
struct PropagateFunction : public torch::autograd::Function<PropagateFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& coef, const EdgeIndex* g) {
    ctx->saved_data["num_nodes"] = g->num_nodes;
    ctx->saved_data["src"] = g->src;
    ctx->saved_data["dst"] = g->dst;
    ctx->saved_data["out_ptr"] = g->out_ptr;
    ctx->saved_data["out_edge"] = g->out_edge;
    ctx->save_for_backward({x, coef});
    const torch::Tensor xc = x.contiguous(), cc = coef.contiguous();
    auto out = torch::zeros_like(xc);
    const int64_t D = x.size(1);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "propagate_forward", [&] {
      propagate_forward_kernel<scalar_t>(*g, xc.data_ptr<scalar_t>(), cc.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), D);
    });
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor x = saved[0].contiguous(), coef = saved[1].contiguous();
    const torch::Tensor grad = grads[0].contiguous();
    EdgeIndex g;
    g.num_nodes = ctx->saved_data["num_nodes"].toInt();
    g.src = ctx->saved_data["src"].toTensor();
    g.dst = ctx->saved_data["dst"].toTensor();
    g.out_ptr = ctx->saved_data["out_ptr"].toTensor();
    g.out_edge = ctx->saved_data["out_edge"].toTensor();
    const int64_t D = x.size(1);
    torch::Tensor gx, gc;
    if (ctx->needs_input_grad(0)) {
      gx = torch::zeros_like(x);
      AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "propagate_backward_x", [&] {
        propagate_backward_x_kernel<scalar_t>(g, grad.data_ptr<scalar_t>(), coef.data_ptr<scalar_t>(), gx.data_ptr<scalar_t>(),
                                    D);
      });
    }
    if (ctx->needs_input_grad(1)) {
      gc = torch::empty_like(coef);
      AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "propagate_backward_coef", [&] {
        propagate_backward_coef_kernel<scalar_t>(g, grad.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), gc.data_ptr<scalar_t>(),
                                       D);
      });
    }
    return {gx, gc, torch::Tensor()};
  }
};

}  // namespace

EdgeIndex make_edge_index(const torch::Tensor& edge_index, int64_t num_nodes) {
  TORCH_CHECK(edge_index.dim() == 2 && edge_index.size(0) == 2 && edge_index.scalar_type() == torch::kInt64,
              "make_edge_index: expected int64 (2, E), got ", edge_index.scalar_type(), " ", edge_index.sizes());
  TORCH_CHECK(num_nodes >= 0, "make_edge_index: negative num_nodes ", num_nodes);
  const torch::Tensor cpu = edge_index.to(torch::kCPU).contiguous();
  const int64_t E = cpu.size(1);
  const int64_t* s = cpu.data_ptr<int64_t>();
  const int64_t* d = s + E;
  for (int64_t e = 0; e < E; ++e)
    TORCH_CHECK(s[e] >= 0 && s[e] < num_nodes && d[e] >= 0 && d[e] < num_nodes, "make_edge_index: edge ", e, " (",
                s[e], " -> ", d[e], ") outside [0, ", num_nodes, ")");
  EdgeIndex g;
  g.num_nodes = num_nodes;
  g.src = edge_index[0].contiguous();
  g.dst = edge_index[1].contiguous();
  csr_order_by(d, E, num_nodes, g.in_ptr, g.in_edge);
  csr_order_by(s, E, num_nodes, g.out_ptr, g.out_edge);
  return g;
}

torch::Tensor out_degree(const EdgeIndex& g, torch::ScalarType dtype) {
  return (g.out_ptr.slice(0, 1) - g.out_ptr.slice(0, 0, g.num_nodes)).to(g.src.device(), dtype);
}

torch::Tensor in_degree(const EdgeIndex& g, torch::ScalarType dtype) {
  return (g.in_ptr.slice(0, 1) - g.in_ptr.slice(0, 0, g.num_nodes)).to(g.src.device(), dtype);
}

torch::Tensor symmetric_degree_norm(const EdgeIndex& g, DegreeKind kind, torch::ScalarType dtype) {
  torch::Tensor deg = kind == DegreeKind::kOut ? out_degree(g, dtype) : in_degree(g, dtype);
  torch::Tensor inv = deg.pow(-0.5);
  inv.masked_fill_(torch::isinf(inv), 0.0);
  return inv.index_select(0, g.src) * inv.index_select(0, g.dst);
}

torch::Tensor propagate(const EdgeIndex& g, const torch::Tensor& x, const torch::Tensor& coef) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) == g.num_nodes, "propagate: expected x (", g.num_nodes, ", D), got ",
              x.sizes());
  TORCH_CHECK(coef.dim() == 1 && coef.size(0) == g.num_edges(), "propagate: expected coef (", g.num_edges(),
              "), got ", coef.sizes());
  TORCH_CHECK(coef.scalar_type() == x.scalar_type(), "propagate: coef dtype ", coef.scalar_type(),
              " differs from x dtype ", x.scalar_type());
  const bool fast = x.device().is_cpu() && coef.device().is_cpu() &&
                    (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble);
  if (!fast) {
    auto msg = x.index_select(0, g.src) * coef.unsqueeze(1);
    return torch::zeros_like(x).index_add(0, g.dst, msg);
  }
  return PropagateFunction::apply(x, coef, &g);
}

}  // namespace merc::nn
