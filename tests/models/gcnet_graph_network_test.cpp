// Value pins of GCNet (merc/models/gcnet.{h,cpp}) and of its graph branch
// (merc/models/gcnet_graph_network.{h,cpp}) against a dense recomputation written from
// docs/models/gcnet.md with plain torch ops: the LSTMs by their gate equations (reference_ops.h)
// from the named parameters, the RGCN as per-relation row-normalised dense
// adjacencies, GraphConv as a dense sum, MatchingAttention('general2') as a loop over queries.
#include "merc/models/gcnet.h"
#include "merc/models/gcnet_graph_network.h"

#include <algorithm>
#include <tuple>

#include <gtest/gtest.h>

#include "merc/data/missing_protocol.h"
#include "merc/nn/graph/node_batch.h"
#include "reference_ops.h"
#include "model_test_util.h"

namespace merc::models {
namespace gcnet_gn_test {

// float32 through two stacked 2-layer BiLSTMs, two graph layers and three linear layers, against
// the same float32 arithmetic in another order (gate equations step by step, dense adjacency):
// differences are ~1e-7 relative on O(1) values; 1e-5 absolute leaves an order of magnitude.
constexpr double kTol = 1e-5;

using Params = testing::ParamDict;

struct Edge {
  int64_t src, tgt, rel;
};

// prefix: the branch's parameter-name prefix with its dot ("temporal."), or "" for a lone branch.
// [x ; GraphConv(RGCN(x))] on N nodes, dense: RGCN h_k = sum_r (1/|N_r(k)|) sum_{j in N_r(k)} x_j W_r
// + x_k root + bias; GraphConv g_k = W_n (sum_{j -> k} h_j) + b_n + W_root h_k.
torch::Tensor dense_graph(const torch::Tensor& x, const std::vector<Edge>& edges, int64_t R, const Params& p,
                          const std::string& prefix) {
  const int64_t N = x.size(0);
  torch::Tensor h = x.mm(p[prefix + "rgcn.root"]) + p[prefix + "rgcn.bias"];
  torch::Tensor all = torch::zeros({N, N});
  for (int64_t r = 0; r < R; ++r) {
    torch::Tensor A = torch::zeros({N, N});
    for (const Edge& e : edges)
      if (e.rel == r) A[e.tgt][e.src] += 1.0;
    all = all + A;
    const torch::Tensor norm = A / A.sum(1, true).clamp_min(1.0);
    h = h + norm.mm(x).mm(p[prefix + "rgcn.weight"][r]);
  }
  const torch::Tensor g = all.mm(h).mm(p[prefix + "graph_conv.lin_neighbors.weight"].t()) +
                          p[prefix + "graph_conv.lin_neighbors.bias"] +
                          h.mm(p[prefix + "graph_conv.lin_root.weight"].t());
  return torch::cat({x, g}, 1);
}

// One GraphNetwork branch, (B, T, D_h), padding rows included (not zeroed).
torch::Tensor dense_branch(const torch::Tensor& nodes, const std::vector<Edge>& edges, int64_t R, const Params& p,
                           const std::string& prefix, const std::vector<int64_t>& lengths, int64_t T, bool pack,
                           bool time_attn, bool gru = false) {
  const auto B = static_cast<int64_t>(lengths.size());
  const torch::Tensor u = dense_graph(nodes, edges, R, p, prefix);
  torch::Tensor padded = torch::zeros({B, T, u.size(1)});
  int64_t n = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < lengths[static_cast<size_t>(b)]; ++t) padded[b][t].copy_(u[n++]);
  torch::Tensor s = testing::run_birnn(p, prefix + (gru ? "sequence.gru" : "sequence.lstm"), 2, gru, padded, lengths, pack);
  if (time_attn) {
    // general2: q = W s_t + b; scores tanh(q . s_j) over the real steps j; softmax; sum of a_j s_j.
    torch::Tensor pooled = torch::zeros_like(s);
    for (int64_t b = 0; b < B; ++b) {
      const torch::Tensor mem = s[b].narrow(0, 0, lengths[static_cast<size_t>(b)]);
      for (int64_t t = 0; t < T; ++t) {
        const torch::Tensor q = p[prefix + "attention.transform.weight"].mv(s[b][t]) +
                                p[prefix + "attention.transform.bias"];
        const torch::Tensor a = torch::softmax(torch::tanh(mem.mv(q)), 0);
        pooled[b][t].copy_(a.unsqueeze(0).mm(mem).squeeze(0));
      }
    }
    s = pooled;
  }
  return torch::relu(s.matmul(p[prefix + "linear.weight"].t()) + p[prefix + "linear.bias"]);
}

// Every float parameter of the module gets distinct non-zero values where init leaves zeros (the
// RGCN bias starts at 0).
void make_biases_nonzero(const Params& p) {
  torch::NoGradGuard no_grad;
  for (const auto& kv : p)
    if (kv.key().find("rgcn.bias") != std::string::npos)
      kv.value().copy_(0.3 * torch::randn(kv.value().sizes()) + 0.1);
}

// ---------------------------------------------------------------------------------------------
// GcnetGraphNetwork alone, on a hand edge list.

TEST(GcnetGraphNetwork, ForwardEqualsADenseRecomputationPackedOrNotWithOrWithoutAttention) {
  // Two dialogues, lengths 3 and 2 (T = 3, B = 2, N = 5), F = 3, G = 2, 3 relations. Node 0 gets
  // two relation-2 edges and node 2 two relation-0 edges (per-relation mean 1/2); node 3 receives
  // from node 4 through relation 2 only.
  const std::vector<Edge> edges = {{0, 0, 1}, {1, 0, 2}, {2, 0, 2}, {0, 1, 0}, {1, 1, 1}, {2, 1, 2}, {0, 2, 0},
                                   {1, 2, 0}, {2, 2, 1}, {3, 3, 1}, {4, 3, 2}, {3, 4, 0}, {4, 4, 1}};
  torch::Tensor edge_index = torch::empty({2, static_cast<int64_t>(edges.size())}, torch::kInt64);
  torch::Tensor relation = torch::empty({static_cast<int64_t>(edges.size())}, torch::kInt64);
  for (size_t e = 0; e < edges.size(); ++e) {
    edge_index[0][static_cast<int64_t>(e)] = edges[e].src;
    edge_index[1][static_cast<int64_t>(e)] = edges[e].tgt;
    relation[static_cast<int64_t>(e)] = edges[e].rel;
  }
  const std::vector<int64_t> lengths = {3, 2};
  const torch::Tensor len = torch::tensor(lengths, torch::kInt64);
  const torch::Tensor positions = nn::node_positions(len, 3);
  const torch::Tensor mask = nn::length_mask(len, 3);
  torch::manual_seed(11);
  const torch::Tensor x = torch::randn({5, 3});
  torch::NoGradGuard no_grad;
  for (bool pack : {false, true})
    for (bool time_attn : {false, true}) {
      torch::manual_seed(12);
      GcnetGraphNetwork net(GcnetGraphNetworkOptions(3, 2, 3).pack(pack).time_attn(time_attn));  // dropout 0.5
      net->eval();
      const Params p = net->named_parameters();
      make_biases_nonzero(p);
      const torch::Tensor actual = net(x, edge_index, relation, positions, len, mask);
      const torch::Tensor expected = dense_branch(x, edges, 3, p, "", lengths, 3, pack, time_attn);
      // The whole (B, T, D_h) output, padding rows included (packed: ReLU(bias) there).
      EXPECT_TRUE(torch::allclose(actual, expected, 0, kTol))
          << "pack " << pack << " time_attn " << time_attn << "\n" << actual << "\n" << expected;
    }
}

// ---------------------------------------------------------------------------------------------
// The whole model.

// merc's default GcnetConfig with only the width shrunk: hidden_dim 200 -> 4 (so G = hidden / 2
// = 2, D_h = 10). Windows 2/2, dropout 0.5 (inactive in eval), pack false, time_attn false,
// loss_recon true, recon_reference_rows false, reccls false: all defaults.
GcnetConfig pin_config() {
  GcnetConfig c;
  c.hidden_dim = 4;
  return c;
}

struct Expected {
  torch::Tensor logits, hidden, recon;  // hidden / recon: padding rows included
};

// The model's forward from docs/models/gcnet.md, on batch (features already masked by
// apply_missing where a protocol ran).
Expected dense_gcnet(const Params& p, const data::DialogueBatch& batch, const GcnetConfig& c, int64_t num_speakers) {
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1);
  const bool gru = c.rnn == "gru";  // the cell of all three recurrent layers
  std::vector<int64_t> lengths;
  for (int64_t b = 0; b < B; ++b) lengths.push_back(batch.lengths[b].item<int64_t>());
  // Edges from the definition: j sends to k in [j - window_past, j + window_future] of its
  // dialogue; temporal relation 0 past (k > j), 1 now, 2 future (k < j); speaker relation
  // speaker(k) * M + speaker(j).
  std::vector<Edge> temporal, speaker;
  int64_t offset = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t L = lengths[static_cast<size_t>(b)];
    for (int64_t j = 0; j < L; ++j)
      for (int64_t k = std::max<int64_t>(0, j - c.window_past); k <= std::min(L - 1, j + c.window_future); ++k) {
        temporal.push_back({offset + j, offset + k, k > j ? 0 : (k == j ? 1 : 2)});
        speaker.push_back({offset + j, offset + k,
                           batch.speaker[b][k].item<int64_t>() * num_speakers + batch.speaker[b][j].item<int64_t>()});
      }
    offset += L;
  }
  auto masked = [&](data::Modality m) {
    const auto i = static_cast<size_t>(m);
    return batch.features[i] * batch.modality_mask.select(2, static_cast<int64_t>(m)).unsqueeze(-1).to(torch::kFloat32);
  };
  const torch::Tensor x = torch::cat({masked(data::Modality::kAudio), masked(data::Modality::kText),
                                      masked(data::Modality::kVisual)}, 2);
  auto encode = [&](const torch::Tensor& input) {
    const torch::Tensor enc = testing::run_birnn(p, gru ? "encoder.gru" : "encoder.lstm", 2, gru, input, lengths, c.pack);
    std::vector<torch::Tensor> node_rows;
    for (int64_t b = 0; b < B; ++b) node_rows.push_back(enc[b].narrow(0, 0, lengths[static_cast<size_t>(b)]));
    const torch::Tensor nodes = torch::cat(node_rows, 0);
    return dense_branch(nodes, temporal, 3, p, "temporal.", lengths, T, c.pack, c.time_attn, gru) +
           dense_branch(nodes, speaker, num_speakers * num_speakers, p, "speaker.", lengths, T, c.pack, c.time_attn, gru);
  };
  Expected e;
  e.hidden = encode(x);
  e.recon = e.hidden.matmul(p["linear_rec.weight"].t()) + p["linear_rec.bias"];
  if (c.reccls) e.hidden = encode(e.recon);
  e.logits = (e.hidden.matmul(p["smax_fc.weight"].t()) + p["smax_fc.bias"]) *
             batch.utterance_mask.unsqueeze(-1).to(torch::kFloat32);
  return e;
}

std::shared_ptr<GcnetModel> pin_model(const GcnetConfig& c, const ModelDims& dims) {
  torch::manual_seed(21);
  auto m = std::make_shared<GcnetModel>(c, dims);
  m->eval();
  make_biases_nonzero(m->named_parameters());
  return m;
}

void expect_pinned(const GcnetConfig& c, const std::string& what) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);  // a, t, v
  auto model = pin_model(c, dims);
  // Lengths 5 and 2 (T = 5): dialogue 2 has speakers 0 0 1 0 1, dialogue 1 a masked visual row.
  const data::DialogueBatch batch = testing::collate_indices(ds, {2, 1});
  torch::NoGradGuard no_grad;
  const ModelOutput out = model->forward(batch, {});
  const Expected e = dense_gcnet(model->named_parameters(), batch, c, dims.num_speakers);
  const torch::Tensor real = batch.utterance_mask.unsqueeze(-1).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(out.logits, e.logits, 0, kTol)) << what << "\n" << out.logits << "\n" << e.logits;
  EXPECT_TRUE(torch::allclose(out.features.at("fused"), e.hidden * real, 0, kTol)) << what;
  EXPECT_TRUE(torch::allclose(out.features.at("reconstruction"), e.recon * real, 0, kTol)) << what;
  // No protocol ran: nothing is missing, the loss is exactly 0.
  EXPECT_EQ(out.aux_losses.at("recon").item<float>(), 0.0f) << what;
}

TEST(Gcnet, DefaultForwardEqualsADenseRecomputation) { expect_pinned(pin_config(), "default (unpacked)"); }

TEST(Gcnet, PackSwitchEqualsTheDenseRecomputationOnEachDialoguesOwnSteps) {
  // pack: true runs every LSTM over each dialogue's own L steps. Both expectations are computed and
  // differ for the short dialogue (its backward direction no longer starts in the padding).
  GcnetConfig packed = pin_config();
  packed.pack = true;
  expect_pinned(packed, "pack");
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto model = pin_model(pin_config(), dims);
  const data::DialogueBatch batch = testing::collate_indices(ds, {2, 1});
  torch::NoGradGuard no_grad;
  const Params p = model->named_parameters();
  const Expected a = dense_gcnet(p, batch, pin_config(), 2), b = dense_gcnet(p, batch, packed, 2);
  EXPECT_GT((a.logits[1] - b.logits[1]).abs().max().item<float>(), 1e-3);
}

// With the switched model's parameters, the dense recomputation with and without the switch
// differ on this batch (so an ignored switch would fail its pin).
void expect_switch_moves_the_logits(const GcnetConfig& switched) {
  const data::Dataset ds = testing::sweep_dataset();
  auto model = pin_model(switched, model_dims(ds.info, {}, data::Task::kClassification));
  const data::DialogueBatch batch = testing::collate_indices(ds, {2, 1});
  torch::NoGradGuard no_grad;
  const Params p = model->named_parameters();
  const Expected a = dense_gcnet(p, batch, pin_config(), 2), b = dense_gcnet(p, batch, switched, 2);
  EXPECT_GT((a.logits - b.logits).abs().max().item<float>(), 1e-4);
}

TEST(Gcnet, GruCellSwitchEqualsTheDenseRecomputationWithGruGates) {
  // rnn=gru: the encoder and both branch sequence layers are GRUs (parameter names .gru.*).
  GcnetConfig c = pin_config();
  c.rnn = "gru";
  expect_pinned(c, "rnn=gru");
}

TEST(Gcnet, TimeAttnSwitchEqualsTheDenseRecomputation) {
  GcnetConfig c = pin_config();
  c.time_attn = true;
  expect_pinned(c, "time_attn");
  expect_switch_moves_the_logits(c);
}

TEST(Gcnet, RecclsSwitchEqualsTheDenseRecomputationOfTheSecondPass) {
  // reccls: the classifier reads a second pass over the (unzeroed, padding rows included)
  // reconstruction; fused is that second pass, the reconstruction stays the first pass's.
  GcnetConfig c = pin_config();
  c.reccls = true;
  expect_pinned(c, "reccls");
  expect_switch_moves_the_logits(c);
}

// The reconstruction loss by hand from the independently recomputed reconstruction r: for every
// counted row (b, t) and modality m dropped there, ||r_m(b, t) - target_m(b, t)||^2 / dim_m,
// summed, / the number of real utterances.
double hand_loss(const torch::Tensor& r, const data::DialogueBatch& original,
                 const std::vector<std::tuple<int64_t, int64_t, data::Modality>>& counted_drops, int64_t real) {
  // Column blocks of x / r: audio 0-1, text 2-4, visual 5-8.
  auto block = [](data::Modality m) -> std::pair<int64_t, int64_t> {
    if (m == data::Modality::kAudio) return {0, 2};
    if (m == data::Modality::kText) return {2, 3};
    return {5, 4};
  };
  double total = 0;
  for (const auto& [b, t, m] : counted_drops) {
    const auto [start, d] = block(m);
    const bool is_real = original.utterance_mask[b][t].item<bool>();
    const torch::Tensor target = is_real ? original.features[static_cast<size_t>(m)][b][t] : torch::zeros({d});
    total += (r[b][t].narrow(0, start, d) - target).pow(2).sum().item<double>() / static_cast<double>(d);
  }
  return total / static_cast<double>(real);
}

TEST(Gcnet, ReconstructionLossEqualsTheHandFormulaOnTheRecomputedReconstructionWithBothRowOrders) {
  // Lengths 5, 2 (B = 2, T = 5): umask.flatten() = 1 1 1 1 1 1 1 0 0 0 read as (T, B) rows counts
  // (b, t) for t = 0..2 in both dialogues. Dropped: (0, 1, audio) counted by both orders; (0, 4,
  // text) real, counted only in merc's aligned order; (1, 2, visual) a padding row that the
  // reference order counts (reconstructing zeros); (1, 1, text) counted by both.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  const data::DialogueBatch original = testing::collate_indices(ds, {2, 1});
  data::DialogueBatch batch = original;
  torch::Tensor keep = torch::ones_like(batch.modality_mask);
  keep[0][1][static_cast<int64_t>(data::Modality::kAudio)] = false;
  keep[0][4][static_cast<int64_t>(data::Modality::kText)] = false;
  keep[1][2][static_cast<int64_t>(data::Modality::kVisual)] = false;
  keep[1][1][static_cast<int64_t>(data::Modality::kText)] = false;
  data::apply_missing(batch, keep);
  using M = data::Modality;
  for (bool reference_rows : {false, true}) {
    GcnetConfig c = pin_config();
    c.recon_reference_rows = reference_rows;
    c.recon_weight = 0.5;
    auto model = pin_model(c, dims);
    torch::NoGradGuard no_grad;
    const ModelOutput out = model->forward(batch, {});
    // The model's input is the masked batch: the recomputation reads the same zeros.
    const Expected e = dense_gcnet(model->named_parameters(), batch, c, 2);
    const double expected =
        0.5 * (reference_rows ? hand_loss(e.recon, original, {{0, 1, M::kAudio}, {1, 2, M::kVisual}, {1, 1, M::kText}}, 7)
                              : hand_loss(e.recon, original, {{0, 1, M::kAudio}, {0, 4, M::kText}, {1, 1, M::kText}}, 7));
    EXPECT_NEAR(out.aux_losses.at("recon").item<double>(), expected, kTol) << "reference rows " << reference_rows;
    EXPECT_GT(expected, 1e-3);
  }
}

}  // namespace gcnet_gn_test
}  // namespace merc::models
