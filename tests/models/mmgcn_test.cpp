#include "merc/models/mmgcn.h"

#include <cmath>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/nn/graph/node_batch.h"
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
  // Dense A: per dialogue, full intra-modal blocks and inter-modal diagonals, angular similarity.
  torch::Tensor A = torch::zeros({2 * N, 2 * N});
  const torch::Tensor unit = x / x.norm(2, 1, true);
  const torch::Tensor sim = 1.0 - torch::acos(unit.mm(unit.t()) * 0.99999) / M_PI;
  const int64_t lengths[] = {5, 2};
  int64_t start = 0;
  for (int64_t L : lengths) {
    for (int64_t m = 0; m < 2; ++m)
      for (int64_t n = 0; n < 2; ++n)
        for (int64_t i = 0; i < L; ++i)
          for (int64_t j = 0; j < L; ++j)
            if (m == n || i == j) A[m * N + start + i][n * N + start + j] = sim[m * N + start + i][n * N + start + j];
    start += L;
  }
  const torch::Tensor dinv = A.sum(1).pow(-0.5);
  const torch::Tensor P = torch::diag(dinv).mm(A).mm(torch::diag(dinv));
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
