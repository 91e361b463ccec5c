#pragma once
// Dense, loop-by-loop recomputation of the utterance encoders shared by m3net and moed
// (merc/models/m3net_encoder.h; docs/models/m3net.md step 1, method_reference.md §3.1 / §4.1),
// written from those definitions with plain torch ops and the module's parameters read by name.
// Used by m3net_test.cpp and moed_test.cpp to pin the models' whole forward.

#include <array>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "merc/data/batch.h"
#include "merc/models/m3net_encoder.h"
#include "model_test_util.h"
#include "reference_ops.h"

namespace merc::models::m3net_encoder_dense {

using Tensors = std::map<std::string, torch::Tensor>;

// The sweep dataset (model_test_util.h) with 6-d text: two 3-d "RoBERTa layers" side by side, so the
// per-layer norms, the layer average and a non-degenerate LayerNorm all show. Every modality used.
struct WideTextData {
  data::Dataset ds = testing::sweep_dataset();
  ModelDims dims;
  WideTextData() {
    dims = model_dims(ds.info, {}, data::Task::kClassification);
    dims.input_dims[0] = 6;
  }
  data::DialogueBatch batch(const std::vector<int>& idx) const {
    data::DialogueBatch b = testing::collate_indices(ds, idx);
    const auto B = b.utterance_mask.size(0), T = b.utterance_mask.size(1);
    const auto t = torch::arange(B * T * 6, torch::kFloat32).view({B, T, 6});
    b.features[0] = torch::sin(0.37 * t + 0.2) * b.utterance_mask.unsqueeze(-1).to(torch::kFloat32);
    return b;
  }
};

// d^-1/2 with 0 where the degree is 0 (isolated nodes contribute nothing).
inline torch::Tensor inv_sqrt0(const torch::Tensor& d) {
  return torch::where(d > 0, d.pow(-0.5), torch::zeros_like(d));
}

// Every parameter and buffer of `m` by its full name.
inline Tensors all_tensors(torch::nn::Module& m) {
  Tensors t;
  for (const auto& p : m.named_parameters()) t[p.key()] = p.value();
  for (const auto& b : m.named_buffers()) t[b.key()] = b.value();
  return t;
}

// Overwrites the tensors that initialise to constants (BatchNorm running statistics and affine,
// LayerNorm affine, and whatever name contains one of `extra`) with distinct, smooth values so a
// mistake in their use cannot hide behind identity/ones/zeros. Variances and weights stay positive.
inline void make_nontrivial(torch::nn::Module& m, const std::vector<std::string>& extra = {}) {
  torch::NoGradGuard no_grad;
  int salt = 0;
  for (auto& [name, t] : all_tensors(m)) {
    ++salt;
    bool hit = name.find("norm_") != std::string::npos;
    for (const auto& e : extra) hit = hit || name.find(e) != std::string::npos;
    if (!hit || !t.is_floating_point()) continue;
    const auto wave = torch::sin(1.3 * torch::arange(t.numel(), torch::kFloat32) + 0.7 * salt).view(t.sizes());
    const bool positive = name.find("running_var") != std::string::npos || name.find("weight") != std::string::npos;
    t.copy_(positive ? 1.0 + 0.5 * wave : 0.4 * wave);
  }
}

inline torch::Tensor lin(const Tensors& p, const std::string& name, const torch::Tensor& x) {
  return torch::matmul(x, p.at(name + ".weight").t()) + p.at(name + ".bias");
}

// 2-layer bidirectional GRU over one sequence x (T, in), run over its first len steps (zero rows
// after), by the gate equations of reference_ops.h. prefix: the GRU module path with its trailing
// dot ("encoder.gru_l.").
inline torch::Tensor bigru(const torch::Tensor& x, const Tensors& p, const std::string& prefix, int64_t len) {
  testing::ParamDict params;
  for (const auto& [name, t] : p) params.insert(name, t);
  return testing::birnn_prefix(params, prefix.substr(0, prefix.size() - 1), 2, /*gru=*/true, x, len);
}

// Normalisation of one text layer r (B, T, d), from the definitions (m3net_encoder.h):
// BN per feature (training: batch statistics over all B*T rows or the real rows only, biased
// variance; eval: running statistics), LN per row with affine, LN2 per dialogue over its (T, d)
// block (or its real rows only) without affine. norm_padding = false zeroes the padded rows.
inline torch::Tensor normalise(const torch::Tensor& r, const Tensors& p, const M3netEncoderOptions& o, int64_t i,
                               const torch::Tensor& mask /* (B, T) bool */, bool training) {
  constexpr double kEps = 1e-5;
  const int64_t B = r.size(0), T = r.size(1), d = r.size(2);
  const auto fmask = mask.unsqueeze(-1).to(torch::kFloat32);
  torch::Tensor y = r;
  if (o.norm == "BN") {
    const std::string n = "encoder.norm_bn" + std::to_string(i) + ".";
    torch::Tensor mean = p.at(n + "running_mean"), var = p.at(n + "running_var");
    if (training) {
      const auto rows = o.norm_padding ? r.reshape({B * T, d}) : r.reshape({B * T, d}).index({mask.reshape({-1})});
      mean = rows.mean(0);
      var = (rows - mean).pow(2).mean(0);
    }
    y = (r - mean) / torch::sqrt(var + kEps) * p.at(n + "weight") + p.at(n + "bias");
  } else if (o.norm == "LN") {
    const std::string n = "encoder.norm_ln" + std::to_string(i) + ".";
    const auto mean = r.mean(-1, true);
    const auto var = (r - mean).pow(2).mean(-1, true);
    y = (r - mean) / torch::sqrt(var + kEps) * p.at(n + "weight") + p.at(n + "bias");
  } else if (o.norm == "LN2") {
    y = torch::zeros_like(r);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t rows = o.norm_padding ? T : mask[b].sum().item<int64_t>();
      const auto blk = r[b].narrow(0, 0, rows);  // real rows come first
      const auto mean = blk.mean();
      const auto var = (blk - mean).pow(2).mean();
      y[b] = (r[b] - mean) / torch::sqrt(var + kEps);
    }
  }
  if (o.norm != "none" && o.norm != "LN" && !o.norm_padding) y = y * fmask;
  return y;
}

// Per used modality (text, audio, visual order) the (B, T, D_g) encoding.
inline std::vector<torch::Tensor> encode(const Tensors& p, const M3netEncoderOptions& o,
                                         const data::DialogueBatch& batch, const std::array<bool, 3>& use,
                                         bool training) {
  std::vector<torch::Tensor> out;
  const auto mask = batch.utterance_mask;
  const int64_t B = mask.size(0), T = mask.size(1);
  for (int m = 0; m < 3; ++m) {
    if (!use[static_cast<size_t>(m)]) continue;
    const auto x = batch.features[static_cast<size_t>(m)] * batch.modality_mask.select(2, m).unsqueeze(-1).to(torch::kFloat32);
    if (m == 1) {
      out.push_back(lin(p, "encoder.linear_a", x));
      continue;
    }
    if (m == 2) {
      out.push_back(lin(p, "encoder.linear_v", x));
      continue;
    }
    const int64_t d = x.size(2) / o.text_layers;
    torch::Tensor U = torch::zeros({B, T, d});
    for (int64_t i = 0; i < o.text_layers; ++i) U = U + normalise(x.narrow(2, i * d, d), p, o, i, mask, training);
    U = U / static_cast<double>(o.text_layers);
    if (o.text_linear) U = lin(p, "encoder.linear_l", U);
    std::vector<torch::Tensor> seqs;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t L = batch.lengths[b].item<int64_t>();
      seqs.push_back(o.pack_text ? bigru(U[b], p, "encoder.gru_l.gru.", L) : bigru(U[b], p, "encoder.gru_l.", T));
    }
    out.push_back(torch::stack(seqs, 0));
  }
  return out;
}

}  // namespace merc::models::m3net_encoder_dense
