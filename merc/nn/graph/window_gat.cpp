#include "merc/nn/graph/window_gat.h"

#include <cmath>
#include <limits>
#include <ostream>

#include "merc/core/error.h"

namespace merc::nn {

WindowGatLayerImpl::WindowGatLayerImpl(const WindowGatOptions& o) : options(o) { reset(); }

void WindowGatLayerImpl::reset() {
  const int64_t d = options.d_model, H = options.num_heads;
  MERC_CHECK(d > 0 && H > 0 && d % H == 0, "window GAT: d_model {} must be a positive multiple of num_heads {}", d, H);
  MERC_CHECK(options.dropout >= 0 && options.dropout < 1, "window GAT: dropout must be in [0, 1), got {}",
             options.dropout);
  linear_proj = register_module("linear_proj", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  layer_norm = register_module("layer_norm", t5::RmsNorm(d));
  dropout = register_module("dropout", torch::nn::Dropout(options.dropout));
  torch::NoGradGuard no_grad;
  linear_proj->weight.normal_(0.0, std::pow(static_cast<double>(d * d), -0.5));
  if (!options.release_overwrite) {
    const double std = std::pow(static_cast<double>(d), -0.5);
    scoring_fn_source = register_parameter("scoring_fn_source", torch::empty({1, H, d / H}).normal_(0.0, std));
    scoring_fn_target = register_parameter("scoring_fn_target", torch::empty({1, H, d / H}).normal_(0.0, std));
  }
}

void WindowGatLayerImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::WindowGatLayer(d_model=" << options.d_model << ", heads=" << options.num_heads
         << (options.release_overwrite ? ", release_overwrite" : "") << ")";
}

torch::Tensor WindowGatLayerImpl::attention(const torch::Tensor& z, const torch::Tensor& adjacency) {
  // z: (N, S, H, hd). Scores per head: s[n][h][i][j] = a_trg . z_i + a_src . z_j.
  const torch::Tensor source = (z * scoring_fn_source.unsqueeze(0)).sum(-1).permute({0, 2, 1});  // (N, H, S)
  const torch::Tensor target = (z * scoring_fn_target.unsqueeze(0)).sum(-1).permute({0, 2, 1});
  const torch::Tensor s = torch::leaky_relu(target.unsqueeze(3) + source.unsqueeze(2), 0.2);     // (N, H, S, S)
  const double inf = std::numeric_limits<double>::infinity();
  return torch::softmax(s.masked_fill(~adjacency.unsqueeze(1), -inf), 3);
}

torch::Tensor WindowGatLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& adjacency) {
  const int64_t d = options.d_model, H = options.num_heads;
  MERC_CHECK(x.dim() == 3 && x.size(2) == d, "window GAT: x must be (N, S, {}), got {}", d, x.sizes());
  const int64_t N = x.size(0), S = x.size(1);
  MERC_CHECK(adjacency.sizes() == torch::IntArrayRef({N, S, S}) && adjacency.scalar_type() == torch::kBool,
             "window GAT: adjacency must be bool ({}, {}, {}), got {}", N, S, S, adjacency.sizes());
  const torch::Tensor z = dropout(x).view({N, S, H, d / H});
  torch::Tensor agg;
  if (options.release_overwrite) {
    agg = z.reshape({N, S, d});
  } else {
    const torch::Tensor alpha = dropout(attention(z, adjacency));                          // (N, H, S, S)
    agg = torch::matmul(alpha, z.permute({0, 2, 1, 3})).permute({0, 2, 1, 3}).reshape({N, S, d});
  }
  return x + dropout(linear_proj(layer_norm(agg)));
}

WindowGatImpl::WindowGatImpl(const WindowGatOptions& o) : options(o) { reset(); }

void WindowGatImpl::reset() {
  MERC_CHECK(options.num_layers >= 0, "window GAT: num_layers must be >= 0, got {}", options.num_layers);
  layers = register_module("gat_net", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.num_layers; ++i) layers->push_back(WindowGatLayer(options));
}

torch::Tensor WindowGatImpl::forward(const torch::Tensor& x, const torch::Tensor& adjacency) {
  torch::Tensor h = x;
  for (size_t i = 0; i < layers->size(); ++i) h = layers->at<WindowGatLayerImpl>(i).forward(h, adjacency);
  return h;
}

}  // namespace merc::nn
