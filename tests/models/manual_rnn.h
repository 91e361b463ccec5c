#pragma once
// A bidirectional multi-layer LSTM written out by its gate equations, reading a torch LSTM's
// named parameters, for the value-pin tests of models whose recurrent layers are LibTorch's
// (gcnet, mmgcn): the expected values then do not go through any recurrent module.

#include <string>
#include <vector>

#include <torch/torch.h>

namespace merc::models::manual_rnn {

using Params = torch::OrderedDict<std::string, torch::Tensor>;

// One direction of one LSTM layer over the rows of x (L, in), PyTorch's gate order i, f, g, o:
// z = W_ih x_t + b_ih + W_hh h + b_hh; c = sigma(f) c + sigma(i) tanh(g); h = sigma(o) tanh(c).
// prefix: e.g. "encoder.lstm"; suffix: "_l0", "_l1_reverse", ...
inline torch::Tensor lstm_direction(const torch::Tensor& x, const Params& p, const std::string& prefix,
                                    const std::string& suffix, bool reverse) {
  const torch::Tensor w_ih = p[prefix + ".weight_ih" + suffix], w_hh = p[prefix + ".weight_hh" + suffix];
  const torch::Tensor b = p[prefix + ".bias_ih" + suffix] + p[prefix + ".bias_hh" + suffix];
  const int64_t H = w_hh.size(1), L = x.size(0);
  torch::Tensor h = torch::zeros({H}), c = torch::zeros({H});
  torch::Tensor out = torch::zeros({L, H});
  for (int64_t s = 0; s < L; ++s) {
    const int64_t t = reverse ? L - 1 - s : s;
    const torch::Tensor z = w_ih.mv(x[t]) + w_hh.mv(h) + b;
    const torch::Tensor i = torch::sigmoid(z.narrow(0, 0, H)), f = torch::sigmoid(z.narrow(0, H, H));
    const torch::Tensor g = torch::tanh(z.narrow(0, 2 * H, H)), o = torch::sigmoid(z.narrow(0, 3 * H, H));
    c = f * c + i * g;
    h = o * torch::tanh(c);
    out[t].copy_(h);
  }
  return out;
}

// Bidirectional LSTM of `layers` layers over one sequence (L, in) -> (L, 2H), [forward ; backward].
inline torch::Tensor bilstm(torch::Tensor x, const Params& p, const std::string& prefix, int layers = 2) {
  for (int l = 0; l < layers; ++l) {
    const std::string k = "_l" + std::to_string(l);
    x = torch::cat({lstm_direction(x, p, prefix, k, false), lstm_direction(x, p, prefix, k + "_reverse", true)}, 1);
  }
  return x;
}

// (B, T, in) -> (B, T, 2H). pack: each sequence over its own L steps, zeros after; otherwise over
// all T padded steps (the backward direction starts in the padding, outputs there are kept).
inline torch::Tensor run_bilstm(const torch::Tensor& x, const std::vector<int64_t>& lengths, bool pack,
                                const Params& p, const std::string& prefix, int layers = 2) {
  std::vector<torch::Tensor> rows;
  for (size_t b = 0; b < lengths.size(); ++b) {
    const auto bi = static_cast<int64_t>(b);
    if (!pack) {
      rows.push_back(bilstm(x[bi], p, prefix, layers));
      continue;
    }
    const torch::Tensor y = bilstm(x[bi].narrow(0, 0, lengths[b]), p, prefix, layers);
    rows.push_back(torch::cat({y, torch::zeros({x.size(1) - lengths[b], y.size(1)})}, 0));
  }
  return torch::stack(rows, 0);
}

}  // namespace merc::models::manual_rnn
