// DitBlock and TimestepEmbedder against facebook DiT's own modules (tests/fixtures/make_dit_fixtures.py,
// run on RoHyDR's vendored DiT/models.py with a labelled stand-in for timm's Attention and Mlp).
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "merc/io/npz.h"
#include "merc/nn/diffusion/dit_blocks.h"

namespace merc::nn {
namespace dit_fixture_test {

// Same float32 operations in a different order (fused linear/attention kernels): a few ulps of
// values of size ~1-10.
constexpr double kFixtureTol = 1e-5;

using Arrays = std::map<std::string, torch::Tensor>;

Arrays load(const std::string& name) {
  Arrays out;
  for (const auto& [key, a] : io::read_npz_file(std::string(MERC_FIXTURE_DIR) + "/diffusion/" + name)) {
    out[key] = io::is_integer_dtype(a.dtype) ? torch::tensor(a.to_int64(), torch::kInt64).reshape(a.shape)
                                             : torch::tensor(a.to_float32(), torch::kFloat32).reshape(a.shape);
  }
  return out;
}

void copy(torch::nn::Linear& linear, const Arrays& a, const std::string& prefix) {
  torch::NoGradGuard g;
  linear->weight.copy_(a.at(prefix + ".weight"));
  linear->bias.copy_(a.at(prefix + ".bias"));
}

TEST(DitFixture, BlockMatchesUpstreamDiTBlock) {
  const auto a = load("dit_block.npz");
  DitBlock block(DitBlockOptions(8, 2));
  copy(block->attn->qkv, a, "attn.qkv");
  copy(block->attn->proj, a, "attn.proj");
  copy(block->fc1, a, "mlp.fc1");
  copy(block->fc2, a, "mlp.fc2");
  copy(block->ada_ln, a, "adaLN_modulation.1");
  const auto y = block(a.at("x"), a.at("c"));
  EXPECT_TRUE(torch::allclose(y, a.at("y"), 0, kFixtureTol)) << (y - a.at("y")).abs().max();
}

TEST(DitFixture, TimestepEmbedderMatchesUpstream) {
  const auto a = load("timestep_embedder.npz");
  TimestepEmbedder embedder(TimestepEmbedderOptions(8));
  copy(embedder->fc1, a, "mlp.0");
  copy(embedder->fc2, a, "mlp.2");
  const auto y = embedder(a.at("t"));
  EXPECT_TRUE(torch::allclose(y, a.at("y"), 0, kFixtureTol)) << (y - a.at("y")).abs().max();
}

}  // namespace dit_fixture_test
}  // namespace merc::nn
