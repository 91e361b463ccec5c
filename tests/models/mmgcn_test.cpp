#include "merc/models/mmgcn.h"

#include <cmath>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/nn/graph/node_batch.h"
#include "reference_ops.h"
#include "model_test_util.h"

namespace merc::models {
namespace mmgcn_test {

// float32 through a few small layers against the same arithmetic done densely; 1e-5 absolute.
constexpr double kTol = 1e-5;

MmgcnConfig small_config() {
  MmgcnConfig c;
  c.name = "mmgcn";
  c.text_proj_dim = 4;
  c.rnn_hidden_dim = 2;
  c.graph_hidden_dim = 3;
  c.num_layers = 2;
  c.dropout = 0.0;
  return c;
}

// The public code's dense graph over K modality blocks of N nodes each (x: (K*N, D), blocks in
// order, dialogues contiguous within a block): per dialogue, full intra-modal blocks and
// inter-modal diagonals, weighted by the angular similarity 1 - acos(0.99999 cos)/pi; returns
// D^-1/2 A D^-1/2.
torch::Tensor mmgcn_dense_propagation(const torch::Tensor& x, int64_t K, const std::vector<int64_t>& lengths) {
  const int64_t N = x.size(0) / K;
  const torch::Tensor unit = x / x.norm(2, 1, true);
  const torch::Tensor sim = 1.0 - torch::acos(unit.mm(unit.t()) * 0.99999) / M_PI;
  torch::Tensor A = torch::zeros({K * N, K * N});
  int64_t start = 0;
  for (int64_t L : lengths) {
    for (int64_t m = 0; m < K; ++m)
      for (int64_t n = 0; n < K; ++n)
        for (int64_t i = 0; i < L; ++i)
          for (int64_t j = 0; j < L; ++j)
            if (m == n || i == j) A[m * N + start + i][n * N + start + j] = sim[m * N + start + i][n * N + start + j];
    start += L;
  }
  const torch::Tensor dinv = A.sum(1).pow(-0.5);
  return torch::diag(dinv).mm(A).mm(torch::diag(dinv));
}

TEST(Mmgcn, ForwardEqualsADenseRecomputation) {
  // Audio + visual (no text encoder): blocks [audio ; visual], the public code's dense graph, two
  // GCNII layers, residual concat, classifier.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {"a", "v"}, data::Task::kClassification);
  torch::manual_seed(6);
  MmgcnModel model(small_config(), dims);
  model.eval();
  auto params = model.named_parameters();
  const data::DialogueBatch batch = testing::collate_indices(ds, {2, 1});  // lengths 5, 2
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const int64_t N = pos.size(0);
  auto lin = [&](const std::string& name, const torch::Tensor& x) {
    return x.mm(params[name + ".weight"].t()) + params[name + ".bias"];
  };
  const torch::Tensor visual = batch.features[2] * batch.modality_mask.select(2, 2).unsqueeze(-1);
  const torch::Tensor ua = lin("proj_audio", nn::to_nodes(batch.features[1], pos));
  const torch::Tensor uv = lin("proj_visual", nn::to_nodes(visual, pos));
  const torch::Tensor x = torch::cat({ua, uv}, 0);
  const torch::Tensor P = mmgcn_dense_propagation(x, 2, {5, 2});
  const torch::Tensor h0 = torch::relu(lin("graph_input", x));
  torch::Tensor h = h0;
  for (int l = 1; l <= 2; ++l) {
    const double theta = std::log(0.5 / l + 1);
    const torch::Tensor hi = P.mm(h);
    const torch::Tensor r = 0.9 * hi + 0.1 * h0;
    h = torch::relu(theta * torch::cat({hi, h0}, 1).mm(params["gcnii" + std::to_string(l - 1) + ".weight"]) +
                    (1 - theta) * r);
  }
  const torch::Tensor g = torch::cat({x, h}, 1);
  const torch::Tensor node = torch::cat({g.narrow(0, 0, N), g.narrow(0, N, N)}, 1);
  const torch::Tensor expected = lin("output", torch::relu(node));
  const ModelOutput out = model.forward(batch, {});
  EXPECT_TRUE(torch::allclose(nn::to_nodes(out.logits, pos), expected, 0, kTol)) << nn::to_nodes(out.logits, pos)
                                                                                  << expected;
  EXPECT_EQ(out.features.at("fused").size(2), 2 * (4 + 3));
}

// merc's default MmgcnConfig with only widths and depth shrunk: text_proj_dim 200 -> 4,
// rnn_hidden_dim 100 -> 2 (D = 4), graph_hidden_dim 100 -> 3, num_layers 64 -> 3. rnn lstm,
// rnn_layers 2, packed_rnn false, lambda 0.5, alpha 0.1, variant true, use_speaker true, dropout 0.4
// (inactive in eval): defaults.
MmgcnConfig pin_config() {
  MmgcnConfig c;
  c.text_proj_dim = 4;
  c.rnn_hidden_dim = 2;
  c.graph_hidden_dim = 3;
  c.num_layers = 3;
  return c;
}

// docs/models/mmgcn.md steps 1-5 for all three modalities, densely, on the real utterances:
// returns the node logits (N, C); *node_out gets the concatenated per-utterance features.
torch::Tensor dense_mmgcn(const testing::ParamDict& p, const data::DialogueBatch& batch, const MmgcnConfig& c,
                          torch::Tensor* node_out = nullptr) {
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const int64_t N = pos.size(0), B = batch.lengths.size(0);
  std::vector<int64_t> lengths;
  for (int64_t b = 0; b < B; ++b) lengths.push_back(batch.lengths[b].item<int64_t>());
  auto lin = [&](const std::string& name, const torch::Tensor& x) {
    return x.matmul(p[name + ".weight"].t()) + p[name + ".bias"];
  };
  auto masked = [&](int m) {
    return batch.features[static_cast<size_t>(m)] * batch.modality_mask.select(2, m).unsqueeze(-1).to(torch::kFloat32);
  };
  // 1. Text: linear_l on the padded batch (padding rows = its bias), then the 2-layer BiLSTM over
  // the padded T steps (packed_rnn false) or each dialogue's own steps; + speaker embedding.
  const torch::Tensor proj = lin("text_proj", masked(0));
  const torch::Tensor ctx = testing::run_birnn(p, c.packed_rnn ? "text_encoder.lstm" : "text_lstm",
                                               static_cast<int>(c.rnn_layers), /*gru=*/false, proj, lengths, c.packed_rnn);
  torch::Tensor ut = nn::to_nodes(ctx, pos);
  const torch::Tensor spk = nn::to_nodes(batch.speaker.unsqueeze(-1), pos).squeeze(-1);
  if (c.use_speaker) ut = ut + p["speaker.weight"].index_select(0, spk);
  const torch::Tensor ua = lin("proj_audio", nn::to_nodes(masked(1), pos));
  const torch::Tensor uv = lin("proj_visual", nn::to_nodes(masked(2), pos));
  // 2. Blocks in the public order audio, visual, text.
  const torch::Tensor x = torch::cat({ua, uv, ut}, 0);
  const torch::Tensor P = mmgcn_dense_propagation(x, 3, lengths);
  // 3. GCNII stack, theta_l = log(lambda / l + 1).
  const torch::Tensor h0 = torch::relu(lin("graph_input", x));
  torch::Tensor h = h0;
  for (int64_t l = 1; l <= c.num_layers; ++l) {
    const double theta = std::log(c.lambda / static_cast<double>(l) + 1);
    const torch::Tensor hi = P.mm(h);
    const torch::Tensor mixed = (1 - c.alpha) * hi + c.alpha * h0;
    const torch::Tensor W = p["gcnii" + std::to_string(l - 1) + ".weight"];
    const torch::Tensor support = c.variant ? torch::cat({hi, h0}, 1) : mixed;
    h = torch::relu(theta * support.mm(W) + (1 - theta) * mixed);
  }
  // 4. Residual concat, the three rows of each utterance side by side, classifier.
  const torch::Tensor g = torch::cat({x, h}, 1);
  const torch::Tensor node = torch::cat({g.narrow(0, 0, N), g.narrow(0, N, N), g.narrow(0, 2 * N, N)}, 1);
  if (node_out) *node_out = node;
  return lin("output", torch::relu(node));
}

std::shared_ptr<MmgcnModel> pin_model(const MmgcnConfig& c, const ModelDims& dims) {
  torch::manual_seed(8);
  auto m = std::make_shared<MmgcnModel>(c, dims);
  m->eval();
  return m;
}

TEST(Mmgcn, DefaultForwardWithAllThreeModalitiesEqualsADenseRecomputation) {
  // Lengths 5 and 2 (T = 5): the unpacked text LSTM reads 3 padding steps of dialogue 1; dialogue
  // 2's speakers are 0 0 1 0 1; dialogue 1 has a masked visual row.
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  auto model = pin_model(pin_config(), dims);
  const data::DialogueBatch batch = testing::collate_indices(ds, {2, 1});
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  torch::NoGradGuard no_grad;
  const ModelOutput out = model->forward(batch, {});
  torch::Tensor node;
  const torch::Tensor expected = dense_mmgcn(model->named_parameters(), batch, pin_config(), &node);
  EXPECT_TRUE(torch::allclose(nn::to_nodes(out.logits, pos), expected, 0, kTol)) << nn::to_nodes(out.logits, pos)
                                                                                  << expected;
  EXPECT_TRUE(torch::allclose(nn::to_nodes(out.features.at("fused"), pos), node, 0, kTol));
  EXPECT_EQ(out.features.at("fused").size(2), 3 * (4 + 3));
}

TEST(Mmgcn, NonVariantGcniiAndOtherLambdaAlphaEqualTheDenseRecomputation) {
  // variant false: s = (1 - alpha) Â h + alpha h0, out = theta s W + (1 - theta) s, W (G, G).
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  MmgcnConfig c = pin_config();
  c.variant = false;
  c.lambda = 0.8;
  c.alpha = 0.3;
  auto model = pin_model(c, dims);
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1});
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = dense_mmgcn(model->named_parameters(), batch, c);
  EXPECT_TRUE(torch::allclose(nn::to_nodes(model->forward(batch, {}).logits, pos), expected, 0, kTol));
}

TEST(Mmgcn, PackedRnnSwitchChangesExactlyTheShortDialogue) {
  // The same weights in both layouts (text_lstm.* copied to text_encoder.lstm.*): each model equals
  // its own dense recomputation; the longest dialogue (L = T) is the same in both, the short one
  // differs (its backward LSTM no longer starts in the 3 padding steps).
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  MmgcnConfig pc = pin_config();
  pc.packed_rnn = true;
  auto unpacked = pin_model(pin_config(), dims);
  auto packed = pin_model(pc, dims);
  torch::NoGradGuard no_grad;
  auto src = unpacked->named_parameters();
  for (auto& kv : packed->named_parameters()) {
    std::string key = kv.key();
    if (key.rfind("text_encoder.lstm.", 0) == 0) key = "text_lstm." + key.substr(18);
    kv.value().copy_(src[key]);
  }
  const data::DialogueBatch batch = testing::collate_indices(ds, {2, 1});
  const torch::Tensor pos = nn::node_positions(batch.lengths, batch.max_length());
  const torch::Tensor a = nn::to_nodes(unpacked->forward(batch, {}).logits, pos);
  const torch::Tensor b = nn::to_nodes(packed->forward(batch, {}).logits, pos);
  EXPECT_TRUE(torch::allclose(a, dense_mmgcn(unpacked->named_parameters(), batch, pin_config()), 0, kTol));
  EXPECT_TRUE(torch::allclose(b, dense_mmgcn(packed->named_parameters(), batch, pc), 0, kTol));
  EXPECT_TRUE(torch::allclose(a.narrow(0, 0, 5), b.narrow(0, 0, 5), 0, kTol));
  EXPECT_GT((a.narrow(0, 5, 2) - b.narrow(0, 5, 2)).abs().max().item<float>(), 1e-4);
}

TEST(Mmgcn, UnpackedRnnQuirkDependsOnPaddingPackedDoesNot) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  for (bool packed : {false, true}) {
    MmgcnConfig c = small_config();
    c.packed_rnn = packed;
    torch::manual_seed(7);
    MmgcnModel model(c, dims);
    model.eval();
    const torch::Tensor alone = model.forward(testing::collate_indices(ds, {1}), {}).logits[0];
    const torch::Tensor padded = model.forward(testing::collate_indices(ds, {2, 1}), {}).logits[1].narrow(0, 0, 2);
    EXPECT_EQ(torch::allclose(alone, padded, 0, kTol), packed) << "packed_rnn " << packed;
  }
}

TEST(Mmgcn, SpeakerEmbeddingSwitch) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 2});
  data::DialogueBatch swapped = batch;
  swapped.speaker = (1 - batch.speaker) * batch.utterance_mask.to(torch::kInt64);
  for (bool use : {true, false}) {
    MmgcnConfig c = small_config();
    c.use_speaker = use;
    MmgcnModel model(c, dims);
    model.eval();
    EXPECT_EQ(torch::equal(model.forward(batch, {}).logits, model.forward(swapped, {}).logits), !use);
  }
  // Without text there is no speaker embedding at all.
  MmgcnModel av(small_config(), model_dims(ds.info, {"a", "v"}, data::Task::kClassification));
  for (const auto& p : av.named_parameters()) EXPECT_EQ(p.key().find("speaker"), std::string::npos);
}

TEST(Mmgcn, BadConfigValues) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  MmgcnConfig c = small_config();
  c.rnn = "transformer";
  EXPECT_THROW(MmgcnModel(c, dims), Error);
  c = small_config();
  c.alpha = 1.5;
  EXPECT_THROW(MmgcnModel(c, dims), Error);
  c = small_config();
  c.num_layers = -1;
  EXPECT_THROW(MmgcnModel(c, dims), Error);
}

}  // namespace mmgcn_test
}  // namespace merc::models
