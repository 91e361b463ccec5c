#include "merc/models/m3net.h"

#include <gtest/gtest.h>

#include "m3net_encoder_dense.h"
#include "merc/nn/graph/node_batch.h"
#include "model_test_util.h"

namespace merc::models {
namespace m3net_test {

using m3net_encoder_dense::inv_sqrt0;
using m3net_encoder_dense::lin;
using m3net_encoder_dense::Tensors;

// float32 through a GRU of a few steps, 3 hypergraph and 4 gated layers, recomputed with the same
// float32 arithmetic in another order: ~1e-6 relative on O(1) logits; 2e-5 absolute leaves margin
// and is far below the changes the switches make (>= 1e-3 here).
constexpr double kTol = 2e-5;

using M3netData = m3net_encoder_dense::WideTextData;

// merc's default m3net (M3netConfig defaults = the registry default), shrunk: hidden_dim 512 -> 4,
// graph_hidden_dim 512 -> 3, text_layers 4 -> 2 (the test text is 6-d). num_L 3, num_K 4 and every
// switch keep their defaults.
M3netConfig m3net_small_config() {
  M3netConfig c;
  c.name = "m3net";
  c.encoder.hidden_dim = 4;
  c.encoder.text_layers = 2;
  c.graph_hidden_dim = 3;
  return c;
}

torch::Tensor leaky(const torch::Tensor& x) { return torch::leaky_relu(x, 0.01); }

// The whole M3Net forward written from docs/models/m3net.md and method_reference.md §3.1:
// (N, C) logits, utterances dialogue after dialogue.
torch::Tensor m3net_dense(const Tensors& p, const M3netConfig& c, const ModelDims& dims,
                          const data::DialogueBatch& batch, bool training) {
  const auto h = m3net_encoder_dense::encode(p, c.encoder, batch, dims.use, training);
  const int64_t K = static_cast<int64_t>(h.size()), B = batch.lengths.size(0), H = c.graph_hidden_dim;
  std::vector<int64_t> L(B), off(B);
  int64_t N = 0;
  for (int64_t b = 0; b < B; ++b) off[b] = N, L[b] = batch.lengths[b].item<int64_t>(), N += L[b];
  auto node = [&](int64_t b, int64_t k, int64_t t) { return K * off[b] + k * L[b] + t; };
  const int64_t Nn = K * N;
  // Nodes: per dialogue [l_0.., a_0.., v_0..]; the speaker embedding on the text nodes.
  torch::Tensor X = torch::zeros({Nn, c.encoder.hidden_dim});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t t = 0; t < L[b]; ++t) {
        torch::Tensor x = h[k][b][t];
        if (k == 0 && dims.use[0] && c.use_speaker)
          x = x + p.at("speaker_embedding.weight")[batch.speaker[b][t].item<int64_t>()];
        X[node(b, k, t)] = x;
      }
  const torch::Tensor x1 = lin(p, "fc1", X);

  // Hypergraph: incidence matrix and per-incidence EW, incidences in create_hyper_index order
  // (per dialogue: modality hyperedges block by block, then utterance hyperedges).
  int64_t E = 0;
  for (int64_t b = 0; b < B; ++b) E += K + L[b];
  torch::Tensor Hm = torch::zeros({Nn, E}), Bsum = torch::zeros({E}), Dsum = torch::zeros({Nn});
  const auto& w = p.at("hyperedge_weight");
  const auto& EW = p.at("EW_weight");
  int64_t inc = 0, e0 = 0;
  auto incidence = [&](int64_t v, int64_t e) {
    Hm[v][e] = 1.0;
    Bsum[e] += (c.ew_by_node_id ? EW[v] : EW[inc]);
    Dsum[v] += w[e];
    ++inc;
  };
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t k = 0; k < K; ++k)
      for (int64_t t = 0; t < L[b]; ++t) incidence(node(b, k, t), e0 + k);
    for (int64_t t = 0; t < L[b]; ++t)
      for (int64_t k = 0; k < K; ++k) incidence(node(b, k, t), e0 + K + t);
    e0 += K + L[b];
  }
  const torch::Tensor Binv = 1.0 / Bsum, Dinv = 1.0 / Dsum;  // all positive here
  torch::Tensor hyper = x1;
  for (int64_t l = 1; l <= c.num_L; ++l) {
    const torch::Tensor edge_feat = Hm.t().mm(hyper) * Binv.unsqueeze(1);
    hyper = leaky(Hm.mm(edge_feat) * Dinv.unsqueeze(1) + p.at("hyperconv" + std::to_string(l) + ".bias"));
  }

  // Graph branch: A[dst][src] = all ordered pairs inside each block + inside each utterance.
  torch::Tensor A = torch::zeros({Nn, Nn});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t s = 0; s < L[b]; ++s)
        for (int64_t t = 0; t < L[b]; ++t) {
          if (s != t) A[node(b, k, t)][node(b, k, s)] += 1.0;
          if (s == t)
            for (int64_t j = 0; j < K; ++j)
              if (j != k) A[node(b, j, t)][node(b, k, t)] += 1.0;
        }
  const torch::Tensor dout = inv_sqrt0(A.sum(0));  // out-degree: column sums
  const torch::Tensor An = A * dout.unsqueeze(1) * dout.unsqueeze(0);
  torch::Tensor g = x1;
  for (int64_t k = 1; k <= c.num_K; ++k) {
    const std::string n = "conv" + std::to_string(k) + ".gate.";
    const auto W = p.at(n + "weight")[0];
    const auto G = torch::tanh(torch::mv(g, W.narrow(0, 0, H)).unsqueeze(1) +
                               torch::mv(g, W.narrow(0, H, H)).unsqueeze(0) + p.at(n + "bias"));
    g = g + (An * G).mm(g);
  }

  // Head: per utterance [hyper_l ; g_l ; hyper_a ; g_a ; hyper_v ; g_v] -> ReLU -> smax_fc.
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L[b]; ++t) {
      std::vector<torch::Tensor> parts;
      for (int64_t k = 0; k < K; ++k) {
        parts.push_back(hyper[node(b, k, t)]);
        parts.push_back(g[node(b, k, t)]);
      }
      rows.push_back(torch::cat(parts, 0));
    }
  return lin(p, "smax_fc", torch::relu(torch::stack(rows, 0)));
}

// Builds the model (fixed seed), gives the constant-initialised tensors distinct values, runs it
// and the dense recomputation in eval mode and compares; returns the model's (N, C) logits.
torch::Tensor expect_matches_dense(const M3netConfig& c, const M3netData& d, const data::DialogueBatch& batch,
                                   bool training = false) {
  torch::manual_seed(3);
  M3netModel model(c, d.dims);
  m3net_encoder_dense::make_nontrivial(model, {"hyperedge_weight", "EW_weight", "hyperconv"});
  training ? model.train() : model.eval();
  const Tensors p = m3net_encoder_dense::all_tensors(model);
  // Dense first: a training forward updates the BatchNorm running statistics.
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = m3net_dense(p, c, d.dims, batch, training);
  }
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const torch::Tensor actual = nn::to_nodes(model.forward(batch, {}).logits, pos).detach();
  EXPECT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, 0, kTol)) << actual << expected;
  return actual;
}

TEST(M3net, DefaultForwardEqualsADenseRecomputation) {
  const M3netData d;
  const auto batch = d.batch({0, 1});  // lengths 4, 2; dialogue 1 has a missing visual row
  expect_matches_dense(m3net_small_config(), d, batch);
}

// Each switch: the model with the switch flipped still equals the dense recomputation with the
// same flip, and the flip changes the logits (so the test would see it ignored).
void expect_switch(const M3netConfig& flipped, const std::string& what, const std::vector<int>& idx = {0, 2}) {
  SCOPED_TRACE(what);
  const M3netData d;
  const auto batch = d.batch(idx);
  const auto base = expect_matches_dense(m3net_small_config(), d, batch);
  const auto other = expect_matches_dense(flipped, d, batch);
  EXPECT_GT((base - other).abs().max().item<double>(), 1e-4) << what << " has no effect on this batch";
}

TEST(M3net, EwByNodeIdSwitch) {
  // Quirk: B_e sums EW[node id] over e's nodes; false: EW[incidence index].
  M3netConfig c = m3net_small_config();
  c.ew_by_node_id = false;
  expect_switch(c, "ew_by_node_id = false");
}

TEST(M3net, TextLinearAndUseSpeakerAndPackTextSwitches) {
  M3netConfig c = m3net_small_config();
  c.encoder.text_linear = false;  // the GRU reads the 3-d layer average
  expect_switch(c, "text_linear = false");
  c = m3net_small_config();
  c.use_speaker = false;
  expect_switch(c, "use_speaker = false");
  c = m3net_small_config();
  c.encoder.pack_text = true;  // each dialogue's GRU runs over its own length only
  expect_switch(c, "pack_text = true");
}

TEST(M3net, EncoderNormOptions) {
  for (const std::string norm : {"LN", "LN2", "none"}) {
    M3netConfig c = m3net_small_config();
    c.encoder.norm = norm;
    expect_switch(c, "norm = " + norm);
  }
  // LN2 normalises each dialogue's whole (T, d) block: without norm_padding only its real rows
  // (eval mode shows it: LN2 has no running statistics).
  M3netConfig c = m3net_small_config();
  c.encoder.norm = "LN2";
  c.encoder.norm_padding = false;
  expect_switch(c, "LN2, norm_padding = false");
}

TEST(M3net, NormPaddingSwitchInTrainingMode) {
  // Training-mode BatchNorm statistics over all B*T rows (padding zeros included, the reference)
  // or over the real rows only; dropout 0 so the training forward is deterministic.
  const M3netData d;
  const auto batch = d.batch({0, 1});  // 6 real of 8 rows
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  torch::Tensor outs[2];
  for (bool padding : {true, false}) {
    SCOPED_TRACE(padding);
    M3netConfig c = m3net_small_config();
    c.encoder.dropout = 0;
    c.head_dropout = 0;
    c.encoder.norm_padding = padding;
    outs[padding] = expect_matches_dense(c, d, batch, true);
  }
  EXPECT_GT((outs[0] - outs[1]).abs().max().item<double>(), 1e-4);
}

TEST(M3net, SubsetOfModalitiesEqualsDenseRecomputation) {
  // Text + visual: two blocks, 2-node utterance hyperedges, head width 2 * 2 * H.
  M3netData d;
  d.dims.use[1] = false;
  const auto batch = d.batch({0, 1});
  expect_matches_dense(m3net_small_config(), d, batch);
}

}  // namespace m3net_test
}  // namespace merc::models
