#pragma once
// Plain-torch reference computations for the value-pin tests (issue 14 §1): the inputs read
// straight from a Dataset (not through collate or merc's masking), and recurrent layers written
// out from their gate equations on the named parameters of a torch LSTM/GRU (torch's layout:
// weight_ih_l{k}[_reverse] stacks the gates i, f, g, o for an LSTM and r, z, n for a GRU). None of
// this calls merc's model or layer code.

#include <array>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "merc/data/dataset.h"

namespace merc::models::testing {

using ParamDict = torch::OrderedDict<std::string, torch::Tensor>;

// (L, D_m): dialogue d's features of modality m, rows whose modality is not observed zeroed.
inline torch::Tensor observed_features(const data::Dataset& ds, int d, data::Modality m) {
  const data::Dialogue& dlg = ds.dialogues[static_cast<size_t>(d)];
  const data::FeatureMatrix& f = dlg.features[data::index_of(m)];
  torch::Tensor out = torch::zeros({f.rows, f.cols});
  for (int64_t u = 0; u < f.rows; ++u)
    if (dlg.is_present(u, m))
      for (int64_t j = 0; j < f.cols; ++j) out[u][j] = f.row(u)[j];
  return out;
}

// (L, sum D_m): the used modalities' observed features concatenated text, audio, visual.
inline torch::Tensor observed_fused(const data::Dataset& ds, int d, std::array<bool, 3> use) {
  std::vector<torch::Tensor> parts;
  for (data::Modality m : data::kAllModalities)
    if (use[data::index_of(m)]) parts.push_back(observed_features(ds, d, m));
  return torch::cat(parts, 1);
}

// x W^T + b for the Linear named `name` in params; x (..., D_in), e.g. one row (D_in) or (L, D_in).
inline torch::Tensor linear(const ParamDict& p, const std::string& name, const torch::Tensor& x) {
  return x.matmul(p[name + ".weight"].t()) + p[name + ".bias"];
}

// One direction of one layer of a torch LSTM (gru = false) or GRU over x (L, D), zero initial
// state; `prefix` is the module path ("text_encoder.lstm"). Returns (L, H), in time order.
inline torch::Tensor rnn_direction(const ParamDict& p, const std::string& prefix, int layer, bool reverse, bool gru,
                                   const torch::Tensor& x) {
  const std::string sfx = "_l" + std::to_string(layer) + (reverse ? "_reverse" : "");
  const torch::Tensor w_ih = p[prefix + ".weight_ih" + sfx], w_hh = p[prefix + ".weight_hh" + sfx];
  const torch::Tensor b_ih = p[prefix + ".bias_ih" + sfx], b_hh = p[prefix + ".bias_hh" + sfx];
  const int64_t L = x.size(0), H = w_hh.size(1);
  torch::Tensor h = torch::zeros({H}), c = torch::zeros({H});
  torch::Tensor out = torch::zeros({L, H});
  for (int64_t s = 0; s < L; ++s) {
    const int64_t t = reverse ? L - 1 - s : s;
    const torch::Tensor gi = w_ih.mv(x[t]) + b_ih, gh = w_hh.mv(h) + b_hh;
    if (gru) {
      const torch::Tensor r = torch::sigmoid(gi.narrow(0, 0, H) + gh.narrow(0, 0, H));
      const torch::Tensor z = torch::sigmoid(gi.narrow(0, H, H) + gh.narrow(0, H, H));
      const torch::Tensor n = torch::tanh(gi.narrow(0, 2 * H, H) + r * gh.narrow(0, 2 * H, H));
      h = (1 - z) * n + z * h;
    } else {
      const torch::Tensor g = gi + gh;
      const torch::Tensor i = torch::sigmoid(g.narrow(0, 0, H)), f = torch::sigmoid(g.narrow(0, H, H));
      const torch::Tensor cand = torch::tanh(g.narrow(0, 2 * H, H)), o = torch::sigmoid(g.narrow(0, 3 * H, H));
      c = f * c + i * cand;
      h = o * torch::tanh(c);
    }
    out[t] = h;
  }
  return out;
}

// A stacked bidirectional LSTM/GRU (eval: no dropout between layers): (L, D) -> (L, 2H).
inline torch::Tensor birnn(const ParamDict& p, const std::string& prefix, int num_layers, bool gru, torch::Tensor x) {
  for (int l = 0; l < num_layers; ++l)
    x = torch::cat({rnn_direction(p, prefix, l, false, gru, x), rnn_direction(p, prefix, l, true, gru, x)}, 1);
  return x;
}

// birnn over the first `len` rows of x (T, D) only, zero rows after: (T, 2H). A packed sequence.
inline torch::Tensor birnn_prefix(const ParamDict& p, const std::string& prefix, int num_layers, bool gru,
                                  const torch::Tensor& x, int64_t len) {
  const torch::Tensor y = birnn(p, prefix, num_layers, gru, x.narrow(0, 0, len));
  return torch::cat({y, torch::zeros({x.size(0) - len, y.size(1)})}, 0);
}

// A batch (B, T, D) -> (B, T, 2H). pack: each sequence over its own length, zeros after;
// otherwise over all T padded steps (the backward direction starts in the padding, and the
// outputs there are kept), as an unpacked torch RNN does.
inline torch::Tensor run_birnn(const ParamDict& p, const std::string& prefix, int num_layers, bool gru,
                               const torch::Tensor& x, const std::vector<int64_t>& lengths, bool pack) {
  std::vector<torch::Tensor> rows;
  for (size_t b = 0; b < lengths.size(); ++b) {
    const torch::Tensor xb = x[static_cast<int64_t>(b)];
    rows.push_back(pack ? birnn_prefix(p, prefix, num_layers, gru, xb, lengths[b]) : birnn(p, prefix, num_layers, gru, xb));
  }
  return torch::stack(rows, 0);
}

}  // namespace merc::models::testing
