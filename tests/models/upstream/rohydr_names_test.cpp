// rohydr's upstream name table (merc/models/upstream/rohydr_names.cpp): a state_dict with exactly the
// keys and shapes of the authors' ROHYDR (tests/fixtures/rohydr/upstream_keys.txt, written from their
// code by tests/fixtures/make_rohydr_keys.py) imports strictly into a merc rohydr built as the
// release, the values land where the table says, export -> import round-trips, and a model the
// release cannot describe is refused with a clear error.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <torch/torch.h>

#include "merc/core/error.h"
#include "merc/models/registry.h"
#include "merc/models/rohydr.h"
#include "merc/models/upstream/import.h"
#include "merc/models/upstream/registry.h"
#include "error_text.h"

namespace merc::models::upstream {
namespace rohydr_names_test_detail {

using testing_support::error_text;

struct KeyShape {
  std::string name;
  std::vector<int64_t> shape;  // empty: a 0-dim tensor (num_batches_tracked)
};

std::vector<KeyShape> upstream_keys() {
  const std::string path = std::string(MERC_FIXTURE_DIR) + "/rohydr/upstream_keys.txt";
  std::ifstream in(path);
  if (!in) throw Error("cannot open " + path);
  std::vector<KeyShape> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    KeyShape k;
    std::string shape;
    s >> k.name >> shape;
    if (shape != "-") {
      std::istringstream dims(shape);
      std::string d;
      while (std::getline(dims, d, 'x')) k.shape.push_back(std::stoll(d));
    }
    out.push_back(k);
  }
  return out;
}

// Random values under the release's keys (int64 counters for num_batches_tracked, as torch stores them).
std::vector<NamedTensor> random_upstream_state(uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  std::vector<NamedTensor> state;
  for (const auto& k : upstream_keys()) {
    const bool counter = k.name.size() > 19 && k.name.compare(k.name.size() - 19, 19, "num_batches_tracked") == 0;
    state.push_back(NamedTensor{k.name, counter ? torch::randint(1, 1000, k.shape, torch::kLong) : torch::randn(k.shape)});
  }
  return state;
}

RohydrConfig release_config() {
  auto c = make_model_config("rohydr");
  auto& r = dynamic_cast<RohydrConfig&>(*c);
  r.sequences = true;  // seq_len 50, kernel 3 -> 48 steps, as the release's MMSA data
  return r;
}

ModelDims mosi_dims(bool visual = true) {
  ModelDims d;
  d.input_dims = {768, 5, 20};  // text, audio, visual (BERT, COVAREP, Facet as MMSA's MOSI)
  d.use = {true, true, visual};
  d.task = data::Task::kRegression;
  return d;
}

std::map<std::string, torch::Tensor> merc_tensors(RohydrModel& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : m.named_buffers()) out[b.key()] = b.value();
  return out;
}

std::map<std::string, torch::Tensor> by_name(const std::vector<NamedTensor>& state) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& t : state) out[t.name] = t.value;
  return out;
}

struct Imported {
  std::shared_ptr<RohydrModel> model;
  std::vector<NamedTensor> state;
  NameTable table;
  ImportReport report;
};

Imported import_release(uint64_t seed) {
  const RohydrConfig c = release_config();
  const ModelDims dims = mosi_dims();
  Imported r;
  r.model = std::make_shared<RohydrModel>(c, dims);
  r.state = random_upstream_state(seed);
  r.table = find_upstream("rohydr").table(c, dims);
  r.report = load_upstream_state(*r.model, r.table, r.state, "upstream_keys.txt");
  return r;
}

}  // namespace rohydr_names_test_detail
using namespace rohydr_names_test_detail;

TEST(RohydrNames, ReleaseKeysImportStrictly) {
  const Imported r = import_release(1);
  // Strict: load_upstream_state throws on any unused key, missing key, shape mismatch or unfilled
  // merc tensor, so reaching here means the table covers both sides exactly.
  EXPECT_EQ(r.report.upstream_keys, 1219);
  EXPECT_EQ(r.report.ignored_keys, 9);  // the nine encoders' fairseq `version` buffers
  EXPECT_EQ(r.report.mapped_keys, 1210);
  EXPECT_EQ(r.report.merc_tensors, static_cast<int64_t>(merc_tensors(*r.model).size()));
}

TEST(RohydrNames, ValuesLandWhereTheTableSays) {
  Imported r = import_release(2);
  auto mine = merc_tensors(*r.model);
  const auto up = by_name(r.state);
  // Exact copies: no arithmetic between file and model.
  EXPECT_TRUE(mine.at("proj_text.weight").equal(up.at("proj_l.weight")));
  EXPECT_TRUE(mine.at("proj_visual.weight").equal(up.at("proj_v.weight")));
  EXPECT_TRUE(mine.at("cross_text_1.layers.2.self_attn.in_proj_weight").equal(up.at("trans_l_with_v.layers.2.self_attn.in_proj_weight")));
  EXPECT_TRUE(mine.at("cross_audio_0.layers.0.fc1.weight").equal(up.at("trans_a_with_l.layers.0.fc1.weight")));
  EXPECT_TRUE(mine.at("cross_visual_1.layer_norm.bias").equal(up.at("trans_v_with_a.layer_norm.bias")));
  EXPECT_TRUE(mine.at("mem_audio.layers.3.fc2.weight").equal(up.at("trans_a_mem.layers.3.fc2.weight")));
  // cond_text = cat_va with its input halves swapped ([a ‖ v] in merc, [v, a] upstream).
  const torch::Tensor va = up.at("cat_va.weight");
  EXPECT_TRUE(mine.at("cond_text.weight").narrow(1, 0, 32).equal(va.narrow(1, 32, 32)));
  EXPECT_TRUE(mine.at("cond_text.weight").narrow(1, 32, 32).equal(va.narrow(1, 0, 32)));
  EXPECT_TRUE(mine.at("cond_text.bias").equal(up.at("cat_va.bias")));
  EXPECT_TRUE(mine.at("cond_audio.weight").equal(up.at("cat_lv.weight")));
  EXPECT_TRUE(mine.at("cond_visual.weight").equal(up.at("cat_la.weight")));
  // DiT.
  EXPECT_TRUE(mine.at("dit_audio.blocks.4.fc1.weight").equal(up.at("score_a.dit.blocks.4.mlp.fc1.weight")));
  EXPECT_TRUE(mine.at("dit_audio.blocks.4.ada_ln.bias").equal(up.at("score_a.dit.blocks.4.adaLN_modulation.1.bias")));
  EXPECT_TRUE(mine.at("dit_text.t_embedder.fc2.weight").equal(up.at("score_l.dit.t_embedder.mlp.2.weight")));
  EXPECT_TRUE(mine.at("dit_visual.pos_embed").equal(up.at("score_v.dit.pos_embed")));
  EXPECT_TRUE(mine.at("dit_visual.x_embedder.weight").equal(up.at("score_v.dit.x_embedder.0.weight")));
  EXPECT_TRUE(mine.at("dit_visual.unpatchify.bias").equal(up.at("score_v.dit.unpatchify.0.bias")));
  EXPECT_TRUE(mine.at("dit_text.final_layer.ada_ln.weight").equal(up.at("score_l.dit.final_layer.adaLN_modulation.1.weight")));
  // RCAN, head, fusion recovery (BatchNorm statistics included).
  EXPECT_TRUE(mine.at("rec_visual.1.body.7.body.3.conv_du.2.weight").equal(up.at("rec_v.1.body.7.body.3.conv_du.2.weight")));
  EXPECT_TRUE(mine.at("rec_text.1.body.20.weight").equal(up.at("rec_l.1.body.20.weight")));
  EXPECT_TRUE(mine.at("out.weight").equal(up.at("out_layer.weight")));
  EXPECT_TRUE(mine.at("fusion_rec.5.running_mean").equal(up.at("reconstruction.Model.model.5.running_mean")));
  EXPECT_EQ(mine.at("fusion_rec.5.num_batches_tracked").item<int64_t>(),
            up.at("reconstruction.Model.model.5.num_batches_tracked").item<int64_t>());
  EXPECT_TRUE(mine.at("disc.0.running_var").equal(up.at("discriminator.Model.model.0.running_var")));
  EXPECT_TRUE(mine.at("disc.5.weight").equal(up.at("discriminator.Model.model.5.weight")));
}

TEST(RohydrNames, ExportImportRoundTripsExactly) {
  Imported a = import_release(3);
  const std::vector<NamedTensor> exported = export_upstream_state(*a.model, a.table);
  // Every upstream key but the ignored `version` buffers, with the file's values (cat_va swapped back).
  const auto up = by_name(a.state);
  EXPECT_EQ(exported.size(), 1210u);
  for (const auto& t : exported) {
    ASSERT_TRUE(up.count(t.name)) << t.name;
    EXPECT_TRUE(t.value.equal(up.at(t.name))) << t.name;
  }
  const RohydrConfig c = release_config();
  RohydrModel b(c, mosi_dims());
  load_upstream_state(b, a.table, exported, "exported");
  const auto mine_a = merc_tensors(*a.model), mine_b = merc_tensors(b);
  for (const auto& [name, t] : mine_a) EXPECT_TRUE(t.equal(mine_b.at(name))) << name;
}

TEST(RohydrNames, RefusesAModelTheReleaseCannotDescribe) {
  const UpstreamEntry& entry = find_upstream("rohydr");
  const RohydrConfig release = release_config();
  EXPECT_NE(error_text([&] { entry.table(release, mosi_dims(/*visual=*/false)); }).find("all three modalities"),
            std::string::npos);
  RohydrConfig kernel5 = release;
  kernel5.proj_kernel = 5;  // 46 steps
  const std::string e5 = error_text([&] { entry.table(kernel5, mosi_dims()); });
  EXPECT_NE(e5.find("DiTs over 48 steps"), std::string::npos) << e5;
  EXPECT_NE(e5.find("this merc model has 46"), std::string::npos) << e5;
  RohydrConfig vectors = release;
  vectors.sequences = false;  // one vector per utterance: 1 step
  EXPECT_NE(error_text([&] { entry.table(vectors, mosi_dims()); }).find("model.sequences: true"), std::string::npos);
  RohydrConfig sde = release;
  sde.generator = "score_sde";
  EXPECT_NE(error_text([&] { entry.table(sde, mosi_dims()); }).find("generator score_sde"), std::string::npos);
  // Kernel 5 on 52 steps is 48 again: the shapes match, so the table applies (and strict import
  // then reports the kernel-3 file's projections as shape mismatches naming the file).
  RohydrConfig k5_52 = release;
  k5_52.proj_kernel = 5;
  k5_52.seq_len = 52;
  RohydrModel m(k5_52, mosi_dims());
  const NameTable table = entry.table(k5_52, mosi_dims());
  const std::string e = error_text([&] { load_upstream_state(m, table, random_upstream_state(4), "release.pth"); });
  EXPECT_NE(e.find("release.pth"), std::string::npos) << e;
  EXPECT_NE(e.find("proj_l.weight"), std::string::npos) << e;
}

}  // namespace merc::models::upstream
