#include "merc/models/moed.h"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/nn/graph/edge_propagate.h"
#include "merc/nn/graph/gated_edge_conv.h"
#include "m3net_encoder_dense.h"
#include "merc/nn/graph/node_batch.h"
#include "model_test_util.h"

namespace merc::models {
namespace {

using MoedPairs = std::vector<std::pair<int64_t, int64_t>>;
MoedPairs moed_sorted_pairs(const nn::EdgeList& e) {
  MoedPairs p;
  for (int64_t i = 0; i < e.size(); ++i) p.emplace_back(e.src[static_cast<size_t>(i)], e.dst[static_cast<size_t>(i)]);
  std::sort(p.begin(), p.end());
  return p;
}

const std::vector<data::Modality> kMoedTav = {data::Modality::kText, data::Modality::kAudio, data::Modality::kVisual};

// Speakers (B = 4, T = 30): dialogue 0 alternates (L = 5), dialogue 1 has one utterance,
// dialogue 2 has one speaker for all 30 utterances (beyond window_spk = 10), dialogue 3 (L = 12)
// has speakers 0 0 1 1 0 1 0 0 0 1 1 0.
struct MoedSynthBatch {
  torch::Tensor lengths = torch::tensor({5, 1, 30, 12}, torch::kInt64);
  torch::Tensor speaker = torch::zeros({4, 30}, torch::kInt64);
  MoedSynthBatch() {
    for (int t = 0; t < 5; ++t) speaker[0][t] = t % 2;
    const int d3[] = {0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0};
    for (int t = 0; t < 12; ++t) speaker[3][t] = d3[t];
  }
};

TEST(MoedGraph, EdgeCountsAtThePublishedIemocapConfigEqualTheClosedForm) {
  const MoedConfig c;  // defaults = IEMOCAP-6 published command
  ASSERT_EQ(c.window_dir, 1);
  ASSERT_EQ(c.window_dir_f, -1);
  ASSERT_EQ(c.window_spk, 10);
  ASSERT_EQ(c.window_spk_f, -1);
  const MoedSynthBatch sb;
  const auto layout = nn::make_block_layout(sb.lengths, 4);
  const auto src = moed_directed_sources("avl", "avl", kMoedTav, true);
  const auto ecg = moed_ecgnn_edges(layout, 3, true, src, c.graph_options());
  const auto eig = moed_eignn_edges(layout, 3, true, src, sb.speaker, c.graph_options());
  // ECGNN per dialogue of length L: 4 blocks * (L-1)(L+2) temporal edges (every pair in both
  // directions, adjacent pairs twice: L(L-1) + 2(L-1)), 6 ordered pairs * 2 copies * L
  // intra-utterance edges, 3L directed edges.
  // EIGNN: per speaker with n utterances, sum_{j=1}^{n-1} (min(j, 10) + (n-1-j)) senders' edges
  // per block, same intra/directed edges.
  auto spk_edges = [](int64_t n) {
    int64_t s = 0;
    for (int64_t j = 1; j < n; ++j) s += std::min<int64_t>(j, 10) + (n - 1 - j);
    return s;
  };
  // Per-speaker counts: d0: 3 and 2; d1: 1; d2: 30; d3: 7 and 5.
  int64_t ecg_expected = 0, eig_expected = 0;
  for (int64_t L : {5, 1, 30, 12}) ecg_expected += 4 * (L - 1) * (L + 2) + 12 * L + 3 * L;
  for (int64_t L : {5, 1, 30, 12}) eig_expected += 12 * L + 3 * L;
  for (int64_t n : {3, 2, 1, 30, 7, 5}) eig_expected += 4 * spk_edges(n);
  EXPECT_EQ(ecg.size(), ecg_expected);
  EXPECT_EQ(eig.size(), eig_expected);
  // n = 30: 55 (j <= 10) + 10 * 19 (j = 11..29) past edges + 29 * 28 / 2 future edges.
  EXPECT_EQ(spk_edges(30), 55 + 190 + 406);
}

TEST(MoedGraph, SkipFirstSenderChangesExactlyTheFirstUtterancesEdges) {
  MoedConfig c;
  const MoedSynthBatch sb;
  const auto layout = nn::make_block_layout(sb.lengths, 4);
  const auto src = moed_directed_sources("avl", "avl", kMoedTav, true);
  auto quirk = moed_sorted_pairs(moed_eignn_edges(layout, 3, true, src, sb.speaker, c.graph_options()));
  c.skip_first_sender = false;
  auto fixed = moed_sorted_pairs(moed_eignn_edges(layout, 3, true, src, sb.speaker, c.graph_options()));
  MoedPairs added;
  std::set_difference(fixed.begin(), fixed.end(), quirk.begin(), quirk.end(), std::back_inserter(added));
  MoedPairs removed;
  std::set_difference(quirk.begin(), quirk.end(), fixed.begin(), fixed.end(), std::back_inserter(removed));
  EXPECT_TRUE(removed.empty());
  // Every added edge starts at a speaker's first utterance; with window_spk_f = -1 the first
  // utterance sends to all later same-speaker utterances: d0: 2 + 1, d2: 29, d3: 6 + 4, per block.
  EXPECT_EQ(static_cast<int64_t>(added.size()), 4 * (2 + 1 + 29 + 6 + 4));
  std::vector<int64_t> first_nodes;
  const int64_t firsts[4][2] = {{0, 1}, {0, -1}, {0, -1}, {0, 2}};
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t f : firsts[b])
      if (f >= 0)
        for (int64_t k = 0; k < 4; ++k) first_nodes.push_back(layout.node(b, k, f));
  for (const auto& e : added)
    EXPECT_NE(std::find(first_nodes.begin(), first_nodes.end(), e.first), first_nodes.end()) << e.first;
}

TEST(MoedGraph, TemporalDuplicatesAndSingleEdgeSwitches) {
  MoedConfig c;
  const auto layout = nn::make_block_layout(torch::tensor({5}, torch::kInt64), 4);
  const auto src = moed_directed_sources("avl", "avl", kMoedTav, true);
  const int64_t ref = moed_ecgnn_edges(layout, 3, true, src, c.graph_options()).size();
  EXPECT_EQ(ref, 4 * 4 * 7 + 60 + 15);
  c.temporal_duplicates = false;  // every ordered pair once: 4 * 20
  EXPECT_EQ(moed_ecgnn_edges(layout, 3, true, src, c.graph_options()).size(), 4 * 20 + 60 + 15);
  c.temporal_duplicates = true;
  c.single_edge = "intra";  // intra-utterance edges once
  EXPECT_EQ(moed_ecgnn_edges(layout, 3, true, src, c.graph_options()).size(), 4 * 4 * 7 + 30 + 15);
  c.single_edge = "inter";  // later->earlier only at gap 1 (4 pairs), earlier->later all (10 pairs)
  EXPECT_EQ(moed_ecgnn_edges(layout, 3, true, src, c.graph_options()).size(), 4 * 14 + 60 + 15);
}

TEST(MoedGraph, DirectedEdgeLetterQuirk) {
  // modals "avl": the reference maps letter position 0/1/2 onto blocks l/a/v.
  EXPECT_EQ(moed_directed_sources("l", "avl", kMoedTav, true), (std::vector<int64_t>{2}));  // visual block
  EXPECT_EQ(moed_directed_sources("a", "avl", kMoedTav, true), (std::vector<int64_t>{0}));  // text block
  EXPECT_EQ(moed_directed_sources("v", "avl", kMoedTav, true), (std::vector<int64_t>{1}));  // audio block
  EXPECT_EQ(moed_directed_sources("l", "avl", kMoedTav, false), (std::vector<int64_t>{0}));
  EXPECT_EQ(moed_directed_sources("av", "avl", kMoedTav, false), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(moed_directed_sources("vla", "avl", kMoedTav, true), (std::vector<int64_t>{0, 1, 2}));  // any 3 letters: all
  EXPECT_TRUE(moed_directed_sources("", "avl", kMoedTav, true).empty());
  EXPECT_THROW(moed_directed_sources("x", "avl", kMoedTav, true), Error);
}

// Dense re-computation of both graph stacks on a hand-sized dialogue (L = 4, speakers 0 1 0 0,
// blocks l a v u), with adjacency matrices written from the rules of method_reference.md §4.4-4.5
// (not from the builders), against the builders + sparse convolutions the model runs.
TEST(MoedGraph, GraphStacksEqualDenseRecomputation) {
  torch::manual_seed(21);
  const int64_t L = 4, K = 4, N = L * K, H = 3;
  const auto layout = nn::make_block_layout(torch::tensor({L}, torch::kInt64), K);
  const auto speaker = torch::tensor({{0, 1, 0, 0}}, torch::kInt64);
  const MoedConfig c;
  const auto src = moed_directed_sources("avl", "avl", kMoedTav, true);
  auto C = torch::zeros({N, N}, torch::kDouble), I = torch::zeros({N, N}, torch::kDouble);  // [dst][src]
  for (int64_t k = 0; k < K; ++k)
    for (int64_t p = 0; p < L; ++p)
      for (int64_t q = 0; q < L; ++q)
        if (p != q) C[k * L + q][k * L + p] += std::abs(p - q) == 1 ? 2.0 : 1.0;  // window_dir 1, window_dir_f -1
  // Speaker 0 at 0, 2, 3: s_1 = 2 -> {0, 3}; s_2 = 3 -> {2, 0}; speaker 1 alone at 1 (never sends).
  for (int64_t k = 0; k < K; ++k)
    for (auto [s, d] : MoedPairs{{2, 0}, {2, 3}, {3, 2}, {3, 0}}) I[k * L + d][k * L + s] += 1.0;
  for (auto* A : {&C, &I})
    for (int64_t t = 0; t < L; ++t) {
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 3; ++j)
          if (i != j) (*A)[j * L + t][i * L + t] += 2.0;
      for (int64_t i = 0; i < 3; ++i) (*A)[3 * L + t][i * L + t] += 1.0;
    }
  const auto ecg = nn::make_edge_index(moed_ecgnn_edges(layout, 3, true, src, c.graph_options()).to_tensor(), N);
  const auto eig =
      nn::make_edge_index(moed_eignn_edges(layout, 3, true, src, speaker, c.graph_options()).to_tensor(), N);
  const auto x0 = torch::randn({N, H}, torch::kDouble);
  const double eps = 0.7, eps2 = 1.3;
  // ECGNN, 2 gated layers.
  nn::GatedEdgeConv c1(H), c2(H);
  c1->to(torch::kDouble);
  c2->to(torch::kDouble);
  auto inv_sqrt = [](const torch::Tensor& d) { return torch::where(d > 0, d.pow(-0.5), torch::zeros_like(d)); };
  const auto dout = inv_sqrt(C.sum(0));
  auto dense_gated = [&](nn::GatedEdgeConv& conv, const torch::Tensor& x) {
    const auto w = conv->gate->weight.view({2, H});
    const auto G = torch::tanh(torch::mv(x, w[0]).unsqueeze(1) + (torch::mv(x, w[1]) + conv->gate->bias).unsqueeze(0));
    return torch::mm(C * dout.unsqueeze(1) * dout.unsqueeze(0) * G, x);
  };
  torch::Tensor dense_h = x0, h = x0;
  const auto norm_c = nn::symmetric_degree_norm(ecg, nn::DegreeKind::kOut, torch::kDouble);
  for (auto* conv : {&c1, &c2}) {
    dense_h = dense_gated(*conv, dense_h) + eps * x0;
    h = (*conv)(h, ecg, norm_c) + eps * x0;
  }
  // 1e-12: double, tens of terms.
  EXPECT_TRUE(torch::allclose(h, dense_h, 0, 1e-12));
  // EIGNN, 3 in-degree-normalised layers.
  const auto din = inv_sqrt(I.sum(1));
  const auto A = I * din.unsqueeze(1) * din.unsqueeze(0);
  torch::Tensor dense_g = x0, g = x0;
  const auto norm_i = nn::symmetric_degree_norm(eig, nn::DegreeKind::kIn, torch::kDouble);
  for (int l = 0; l < 3; ++l) {
    dense_g = torch::mm(A, dense_g) + eps2 * x0;
    g = nn::norm_conv(g, eig, norm_i) + eps2 * x0;
  }
  EXPECT_TRUE(torch::allclose(g, dense_g, 0, 1e-12));
}

MoedConfig moed_tiny_config() {
  MoedConfig c;
  c.encoder.hidden_dim = 4;
  c.encoder.text_layers = 1;
  c.graph_hidden_dim = 3;
  c.num_L = 2;
  c.num_K = 1;
  return c;
}

TEST(MoedModel, FusionVariantsSetTheHeadWidth) {
  const auto ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  const auto batch = testing::collate_indices(ds, {0, 1, 2, 3});
  struct Case {
    const char *node, *type;
    int64_t width;
  };
  for (const Case& k : {Case{"both", "both", 6}, Case{"both", "EIG", 3}, Case{"both", "ECG", 3},
                        Case{"ECG", "both", 12}, Case{"EIG", "both", 12}, Case{"ECG", "ECG", 3}}) {
    MoedConfig c = moed_tiny_config();
    c.multimodal_node = k.node;
    c.graph_type = k.type;
    MoedModel m(c, dims);
    EXPECT_EQ(m.head_dim(), k.width) << k.node << " " << k.type;
    const auto out = m.forward(batch, {});
    EXPECT_EQ(out.features.at("fused").size(2), k.width);
    EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
  }
  MoedConfig bad = moed_tiny_config();
  bad.multimodal_node = "ECG";
  bad.graph_type = "EIG";  // EIGNN has no u block then
  EXPECT_THROW(MoedModel(bad, dims), Error);
  bad = moed_tiny_config();
  bad.use_speaker = "bz";
  EXPECT_THROW(MoedModel(bad, dims), Error);
  bad = moed_tiny_config();
  bad.modals = "av";  // the model uses l, a and v
  EXPECT_THROW(MoedModel(bad, dims), Error);
  bad = moed_tiny_config();
  bad.window_dir = -2;  // only -1 means unbounded
  EXPECT_THROW(MoedModel(bad, dims), Error);
  bad = moed_tiny_config();
  bad.directed_edge = "aal";  // repeated letter (would select every block)
  EXPECT_THROW(MoedModel(bad, dims), Error);
}

TEST(MoedModel, SpeakerInPlaceQuirkReachesEignn) {
  // use_speaker "b" adds the speaker embedding to ECGNN's text block only. With graph_type EIG the
  // output reads only EIGNN: the embedding matters iff the in-place quirk carries it over.
  const auto ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  const auto batch = testing::collate_indices(ds, {0, 2});
  for (bool in_place : {true, false}) {
    MoedConfig c = moed_tiny_config();
    c.use_speaker = "b";
    c.graph_type = "EIG";
    c.speaker_in_place = in_place;
    torch::manual_seed(4);
    MoedModel m(c, dims);
    m.eval();
    const auto before = m.forward(batch, {}).logits;
    for (auto& p : m.named_parameters())
      if (p.key().find("speaker_embedding") != std::string::npos) {
        torch::NoGradGuard ng;
        p.value().add_(1.0);
      }
    const auto after = m.forward(batch, {}).logits;
    EXPECT_EQ(torch::allclose(before, after), !in_place) << "in_place = " << in_place;
  }
}

TEST(MoedModel, UnpackedTextGruQuirkMakesOutputsDependOnPadding) {
  // pack_text = false (reference): the backward GRU of a short dialogue starts on padding, so its
  // outputs change when it is batched next to a longer one; pack_text = true removes that.
  const auto ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {"text"}, data::Task::kClassification);
  for (bool pack : {false, true}) {
    MoedConfig c = moed_tiny_config();
    c.encoder.pack_text = pack;
    torch::manual_seed(8);
    MoedModel m(c, dims);
    m.eval();
    torch::NoGradGuard ng;
    const auto alone = m.forward(testing::collate_indices(ds, {1}), {}).logits[0];
    const auto batched = m.forward(testing::collate_indices(ds, {2, 1}), {}).logits[1].narrow(0, 0, 2);
    // 1e-5: float32 BLAS blocking differences only (as in model_invariance_test.cpp).
    EXPECT_EQ(torch::allclose(alone, batched, 0, 1e-5), pack) << "pack_text = " << pack;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MoedModel::forward against a dense recomputation written from docs/models/moed.md and
// method_reference.md §4 (adjacency matrices from the edge rules, not from moed_graph.h).
namespace moed_forward_test {

using m3net_encoder_dense::inv_sqrt0;
using m3net_encoder_dense::lin;
using m3net_encoder_dense::Tensors;

// float32 through a short GRU, 3 gated ECGNN layers and 6 EIGNN layers, recomputed densely in
// float32 in another summation order: ~1e-6 relative on O(1) logits; 2e-5 absolute leaves margin
// and is far below what any switch changes (>= 1e-4 checked).
constexpr double kTol = 2e-5;

using MoedData = m3net_encoder_dense::WideTextData;

// merc's default moed (MoedConfig defaults = the IEMOCAP-6 command), shrunk: hidden_dim 512 -> 4,
// graph_hidden_dim 512 -> 3, text_layers 4 -> 2 (6-d test text). num_L 6, num_K 3, windows,
// epsilons, use_speaker "bh", both/both fusion, directed_edge avl and every quirk keep defaults.
MoedConfig moed_small_config() {
  MoedConfig c;
  c.name = "moed";
  c.encoder.hidden_dim = 4;
  c.encoder.text_layers = 2;
  c.graph_hidden_dim = 3;
  return c;
}

bool has(const std::string& s, char ch) { return s.find(ch) != std::string::npos; }
bool within(int64_t gap, int64_t window) { return window == -1 || gap <= window; }

torch::Tensor moed_dense(const Tensors& p, const MoedConfig& c, const ModelDims& dims, const data::DialogueBatch& batch,
                         bool training) {
  const auto h = m3net_encoder_dense::encode(p, c.encoder, batch, dims.use, training);
  std::vector<int> used;  // modality index per block
  for (int m = 0; m < 3; ++m)
    if (dims.use[static_cast<size_t>(m)]) used.push_back(m);
  const int64_t M = static_cast<int64_t>(used.size()), B = batch.lengths.size(0);
  std::vector<int64_t> L(B), off(B);
  int64_t N = 0;
  for (int64_t b = 0; b < B; ++b) off[b] = N, L[b] = batch.lengths[b].item<int64_t>(), N += L[b];
  // Per-block (N, D_g) rows: the modalities, then u = linear_u([h_l ; h_a ; h_v]).
  std::vector<torch::Tensor> blocks(M + 1);
  const auto u = lin(p, "linear_u", torch::cat(h, 2));
  std::vector<torch::Tensor> spk_rows;
  for (int64_t k = 0; k <= M; ++k) {
    std::vector<torch::Tensor> rows;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < L[b]; ++t) rows.push_back(k < M ? h[k][b][t] : u[b][t]);
    blocks[k] = torch::stack(rows, 0);
  }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L[b]; ++t)
      spk_rows.push_back(p.at("speaker_embedding.weight")[batch.speaker[b][t].item<int64_t>()]);
  const auto spk = torch::stack(spk_rows, 0);
  const bool u_ecg = c.multimodal_node == "both" || c.multimodal_node == "ECG";
  const bool u_eig = c.multimodal_node == "both" || c.multimodal_node == "EIG";
  // Directed-edge sources (§4.4 item 3): 3 letters = every modality block; otherwise each letter
  // found in modals selects the block at its position in modals (quirk) or its own block.
  std::string modals = c.modals;
  if (modals.empty())
    for (char ch : std::string("avl"))
      for (int m : used)
        if ("lav"[m] == ch) modals += ch;
  std::vector<int64_t> sources;
  if (c.directed_edge.size() == 3) {
    for (int64_t k = 0; k < M; ++k) sources.push_back(k);
  } else {
    for (char ch : c.directed_edge) {
      const auto pos = modals.find(ch);
      if (pos == std::string::npos) continue;
      int64_t blk = -1;
      if (c.directed_edge_letter_quirk) blk = static_cast<int64_t>(pos);
      for (int64_t k = 0; k < M && !c.directed_edge_letter_quirk; ++k)
        if ("lav"[used[k]] == ch) blk = k;
      if (blk >= 0 && blk < M) sources.push_back(blk);
    }
  }

  // One graph: node features with the speaker embedding, adjacency A[dst][src].
  struct Graph {
    int64_t K;
    torch::Tensor X, A;
  };
  auto build = [&](bool ecg) {
    const bool with_u = ecg ? u_ecg : u_eig;
    Graph g{M + (with_u ? 1 : 0), {}, {}};
    auto node = [&](int64_t b, int64_t k, int64_t t) { return g.K * off[b] + k * L[b] + t; };
    g.X = torch::zeros({g.K * N, c.encoder.hidden_dim});
    g.A = torch::zeros({g.K * N, g.K * N});
    for (int64_t k = 0; k < g.K; ++k) {
      const char ecg_letter = k == M ? 'e' : "bcd"[used[k]], eig_letter = k == M ? 'i' : "fgh"[used[k]];
      const double n_spk = ecg ? (has(c.use_speaker, ecg_letter) ? 1 : 0)
                               : (has(c.use_speaker, eig_letter) ? 1 : 0) +
                                     (c.speaker_in_place && has(c.use_speaker, ecg_letter) ? 1 : 0);
      const auto x = blocks[k] + n_spk * spk;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < L[b]; ++t) g.X[node(b, k, t)] = x[off[b] + t];
    }
    for (int64_t b = 0; b < B; ++b) {
      // 1. ECGNN temporal windows / EIGNN same-speaker windows, in every block.
      for (int64_t k = 0; k < g.K; ++k) {
        auto add = [&](int64_t s, int64_t d, double n) { g.A[node(b, k, d)][node(b, k, s)] += n; };
        if (ecg) {
          for (int64_t q = 0; q < L[b]; ++q)
            for (int64_t s = 0; s < q; ++s) {
              const int64_t gap = q - s;
              if (c.single_edge == "inter") {
                add(q, s, within(gap, c.window_dir) ? 1 : 0);
                add(s, q, within(gap, c.window_dir_f) ? 1 : 0);
              } else {
                double m = (within(gap, c.window_dir) ? 1 : 0) + (within(gap, c.window_dir_f) ? 1 : 0);
                if (!c.temporal_duplicates) m = std::min(m, 1.0);
                add(q, s, m);
                add(s, q, m);
              }
            }
        } else {
          std::map<int64_t, std::vector<int64_t>> by_speaker;
          for (int64_t t = 0; t < L[b]; ++t) by_speaker[batch.speaker[b][t].item<int64_t>()].push_back(t);
          for (const auto& [who, s] : by_speaker) {
            const int64_t n = static_cast<int64_t>(s.size());
            for (int64_t j = c.skip_first_sender ? 1 : 0; j < n; ++j)
              for (int64_t q = 0; q < n; ++q) {
                if (q == j) continue;
                if (q < j ? within(j - q, c.window_spk) : within(q - j, c.window_spk_f)) add(s[j], s[q], 1);
              }
          }
        }
      }
      // 2. Intra-utterance edges among the modality blocks (twice unless single_edge intra);
      // 3. directed source -> u.
      for (int64_t t = 0; t < L[b]; ++t) {
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < M; ++j)
            if (i != j) g.A[node(b, j, t)][node(b, i, t)] += c.single_edge == "intra" ? 1 : 2;
        if (with_u && !c.directed_edge.empty())
          for (int64_t s : sources) g.A[node(b, M, t)][node(b, s, t)] += 1;
      }
    }
    return g;
  };
  const Graph ecg = build(true), eig = build(false);
  const int64_t H = c.graph_hidden_dim;
  // ECGNN: h <- gated conv (out-degree norm) + epsilon h0.
  const auto h0 = lin(p, "fc2", ecg.X);
  const auto dout = inv_sqrt0(ecg.A.sum(0));
  const auto Ac = ecg.A * dout.unsqueeze(1) * dout.unsqueeze(0);
  torch::Tensor hc = h0;
  for (int64_t k = 1; k <= c.num_K; ++k) {
    const std::string n = "ecg_conv" + std::to_string(k) + ".gate.";
    const auto W = p.at(n + "weight")[0];
    const auto G = torch::tanh(torch::mv(hc, W.narrow(0, 0, H)).unsqueeze(1) +
                               torch::mv(hc, W.narrow(0, H, H)).unsqueeze(0) + p.at(n + "bias"));
    hc = (Ac * G).mm(hc) + c.epsilon * h0;
  }
  // EIGNN: g <- in-degree-normalised sum + epsilon2 g0.
  const auto g0 = lin(p, "fc1", eig.X);
  const auto din = inv_sqrt0(eig.A.sum(1));
  const auto Ai = eig.A * din.unsqueeze(1) * din.unsqueeze(0);
  torch::Tensor hi = g0;
  for (int64_t l = 0; l < c.num_L; ++l) hi = Ai.mm(hi) + c.epsilon2 * g0;

  // Fusion (§4.6, create_multimodal_feature), per utterance in dialogue order.
  auto row = [&](const torch::Tensor& x, int64_t K, int64_t b, int64_t k, int64_t t) { return x[K * off[b] + k * L[b] + t]; };
  std::vector<torch::Tensor> z;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L[b]; ++t) {
      std::vector<torch::Tensor> parts;
      if (c.graph_type == "EIG") {
        parts.push_back(row(hi, eig.K, b, M, t));
      } else if (c.graph_type == "ECG") {
        parts.push_back(row(hc, ecg.K, b, M, t));
      } else if (c.multimodal_node == "both") {
        parts.push_back(row(hi, eig.K, b, M, t));
        parts.push_back(row(hc, ecg.K, b, M, t));
      } else {
        const bool ug_is_ecg = c.multimodal_node == "ECG";
        const auto& other = ug_is_ecg ? hi : hc;
        const int64_t other_K = ug_is_ecg ? eig.K : ecg.K;
        const auto& ug = ug_is_ecg ? hc : hi;
        const int64_t ug_K = ug_is_ecg ? ecg.K : eig.K;
        for (int64_t k = 0; k < M; ++k) parts.push_back(row(other, other_K, b, k, t));
        if (c.fusion_row_quirk) {
          parts.push_back(ug[M * L[b] + t]);  // counted from the start of the batch
        } else if (ug_K > M) {
          parts.push_back(row(ug, ug_K, b, M, t));
        } else {
          for (int64_t k = 0; k < M; ++k) parts.push_back(row(ug, ug_K, b, k, t));
        }
      }
      z.push_back(torch::cat(parts, 0));
    }
  return lin(p, "smax_fc", torch::stack(z, 0));
}

torch::Tensor expect_matches_dense(const MoedConfig& c, const MoedData& d, const data::DialogueBatch& batch,
                                   bool training = false) {
  torch::manual_seed(5);
  MoedModel model(c, d.dims);
  m3net_encoder_dense::make_nontrivial(model);
  training ? model.train() : model.eval();
  const Tensors p = m3net_encoder_dense::all_tensors(model);
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = moed_dense(p, c, d.dims, batch, training);
  }
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const torch::Tensor actual = nn::to_nodes(model.forward(batch, {}).logits, pos).detach();
  EXPECT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, 0, kTol)) << actual << expected;
  return actual;
}

TEST(MoedForward, DefaultForwardEqualsADenseRecomputation) {
  const MoedData d;
  expect_matches_dense(moed_small_config(), d, d.batch({0, 1}));  // lengths 4, 2; a missing visual row
  expect_matches_dense(moed_small_config(), d, d.batch({2, 0}));  // lengths 5, 4; speakers 0 0 1 0 1
}

// The switched model equals the dense recomputation with the same switch, and differs from the
// default on this batch (so an ignored switch fails).
void expect_switch(const MoedConfig& flipped, const std::string& what, const std::vector<int>& idx = {2, 0}) {
  SCOPED_TRACE(what);
  const MoedData d;
  const auto batch = d.batch(idx);
  const auto base = expect_matches_dense(moed_small_config(), d, batch);
  const auto other = expect_matches_dense(flipped, d, batch);
  EXPECT_GT((base - other).abs().max().item<double>(), 1e-4) << what << " has no effect on this batch";
}

TEST(MoedForward, EpsilonWeightsAndSpeakerLetters) {
  MoedConfig c = moed_small_config();
  c.epsilon = 0.6;
  expect_switch(c, "epsilon 0.6");
  c = moed_small_config();
  c.epsilon2 = 1.7;
  expect_switch(c, "epsilon2 1.7");
  c = moed_small_config();
  c.use_speaker = "cdegi";
  expect_switch(c, "use_speaker cdegi");
}

TEST(MoedForward, QuirkSwitchesChangeValuesAsDefined) {
  MoedConfig c = moed_small_config();
  c.speaker_in_place = false;  // EIGNN's text block loses the ECGNN letter b
  expect_switch(c, "speaker_in_place = false");
  c = moed_small_config();
  c.skip_first_sender = false;
  expect_switch(c, "skip_first_sender = false");
  c = moed_small_config();
  c.temporal_duplicates = false;
  expect_switch(c, "temporal_duplicates = false");
  c = moed_small_config();
  c.single_edge = "intra";
  expect_switch(c, "single_edge intra");
  c = moed_small_config();
  c.single_edge = "inter";
  expect_switch(c, "single_edge inter");
  for (bool quirk : {true, false}) {
    c = moed_small_config();
    c.directed_edge = "l";  // quirk: the visual block; corrected: the text block
    c.directed_edge_letter_quirk = quirk;
    expect_switch(c, std::string("directed_edge l, letter quirk ") + (quirk ? "on" : "off"));
  }
  c = moed_small_config();
  c.directed_edge = "";
  expect_switch(c, "directed_edge none");
}

TEST(MoedForward, FusionVariantsAndFusionRowQuirk) {
  for (const char* node : {"ECG", "EIG", ""})
    for (bool quirk : {true, false}) {
      MoedConfig c = moed_small_config();
      c.multimodal_node = node;
      c.fusion_row_quirk = quirk;
      expect_switch(c, std::string("multimodal_node '") + node + "' fusion_row_quirk " + (quirk ? "on" : "off"));
    }
  // The quirk reads another dialogue's rows: with it on and off the second dialogue differs, the
  // first (offset 0) reads its own u rows for multimodal_node ECG.
  const MoedData d;
  const auto batch = d.batch({2, 0});
  MoedConfig c = moed_small_config();
  c.multimodal_node = "ECG";
  const auto on = expect_matches_dense(c, d, batch);
  c.fusion_row_quirk = false;
  const auto off = expect_matches_dense(c, d, batch);
  EXPECT_TRUE(torch::allclose(on.narrow(0, 0, 5), off.narrow(0, 0, 5), 0, kTol));
  EXPECT_GT((on.narrow(0, 5, 4) - off.narrow(0, 5, 4)).abs().max().item<double>(), 1e-4);
  for (const char* type : {"EIG", "ECG"}) {
    c = moed_small_config();
    c.graph_type = type;
    expect_switch(c, std::string("graph_type ") + type);
  }
}

TEST(MoedForward, EncoderOptions) {
  for (const std::string norm : {"LN", "LN2", "none"}) {
    MoedConfig c = moed_small_config();
    c.encoder.norm = norm;
    expect_switch(c, "norm " + norm);
  }
  MoedConfig c = moed_small_config();
  c.encoder.norm = "LN2";
  c.encoder.norm_padding = false;
  expect_switch(c, "LN2 without padding");
  c = moed_small_config();
  c.encoder.pack_text = true;
  expect_switch(c, "pack_text");
  c = moed_small_config();
  c.encoder.text_linear = false;
  expect_switch(c, "text_linear = false");
  // Training-mode BatchNorm over padded rows (quirk) or real rows only; dropout 0.
  const MoedData d;
  const auto batch = d.batch({0, 1});
  torch::Tensor outs[2];
  for (bool padding : {true, false}) {
    SCOPED_TRACE(padding);
    c = moed_small_config();
    c.encoder.dropout = 0;
    c.encoder.norm_padding = padding;
    outs[padding] = expect_matches_dense(c, d, batch, true);
  }
  EXPECT_GT((outs[0] - outs[1]).abs().max().item<double>(), 1e-4);
}

TEST(MoedForward, TextAndAudioOnly) {
  MoedData d;
  d.dims.use[2] = false;
  expect_matches_dense(moed_small_config(), d, d.batch({0, 1}));
  for (bool quirk : {true, false}) {
    MoedConfig c = moed_small_config();
    c.directed_edge = "a";  // modals "al": quirk -> the block at position 0 (text); corrected: audio
    c.directed_edge_letter_quirk = quirk;
    expect_matches_dense(c, d, d.batch({0, 1}));
  }
}

}  // namespace moed_forward_test
}  // namespace merc::models
