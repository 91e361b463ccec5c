// Hugging Face T5 checkpoint folders: the name mapping, tied copies accepted, strict errors (missing
// and unexpected keys listed, shapes named, dtypes checked), half precision widened, HRG-SSA's extra
// cross-attentions left at init on request, damaged files and empty folders refused, save -> load.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/io/safetensors.h"
#include "merc/nn/t5/checkpoint.h"
#include "t5_fixture.h"

namespace merc::nn::t5 {
namespace checkpoint_test_detail {

namespace fs = std::filesystem;
using t5_fixtures::fresh_dir;
using t5_fixtures::t5_fixture;

T5Model model_for(const std::string& variant, int64_t extra_from = -1) {
  T5ModelOptions o;
  o.config = read_t5_config((t5_fixture(variant) / "config.json").string());
  o.extra_cross_attention_from = extra_from;
  return T5Model(o);
}

std::string load_error(T5ModelImpl& model, const HfStateDict& state, const T5LoadOptions& options = {}) {
  try {
    load_t5_state(model, state, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void erase(HfStateDict& s, const std::string& name) {
  s.tensors.erase(std::remove_if(s.tensors.begin(), s.tensors.end(), [&](const HfTensor& t) { return t.name == name; }),
                  s.tensors.end());
}

HfTensor& find(HfStateDict& s, const std::string& name) {
  for (auto& t : s.tensors)
    if (t.name == name) return t;
  throw Error("no " + name);
}

}  // namespace checkpoint_test_detail

namespace {

using namespace checkpoint_test_detail;

TEST(T5Checkpoint, NameMapping) {
  const std::string merc = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.embedding.weight";
  const std::string hf = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
  EXPECT_EQ(hf_parameter_name(merc), hf);
  EXPECT_EQ(merc_parameter_name(hf), merc);
  EXPECT_EQ(hf_parameter_name("decoder.block.1.layer.2.DenseReluDense.wo.weight"),
            "decoder.block.1.layer.2.DenseReluDense.wo.weight");
}

TEST(T5Checkpoint, FoldersLoadAndTiedCopiesAreAccepted) {
  const LoadedT5 st = load_t5_pretrained(t5_fixture("relu_tied").string());
  EXPECT_TRUE(st.report.tied_copies.empty());
  EXPECT_EQ(st.report.source, (t5_fixture("relu_tied") / "model.safetensors").string());
  EXPECT_EQ(st.report.loaded, static_cast<int64_t>(st.model->parameters().size()));
  EXPECT_FALSE(st.model->is_training());
  // pytorch_model.bin as an older state_dict: both embed_tokens copies and lm_head = shared.
  T5Model bin = model_for("relu_tied");
  const T5LoadReport r = load_t5_state(*bin, read_hf_weights_file((t5_fixture("relu_tied") / "pytorch_model.bin").string()));
  EXPECT_EQ(r.tied_copies,
            (std::vector<std::string>{"decoder.embed_tokens.weight", "encoder.embed_tokens.weight", "lm_head.weight"}));
  EXPECT_TRUE(torch::equal(bin->shared->weight, st.model->shared->weight));
}

TEST(T5Checkpoint, MissingAndUnexpectedKeysAreListedSorted) {
  T5Model model = model_for("gated_untied");
  HfStateDict s = t5_hf_state_dict(*model);
  erase(s, "lm_head.weight");  // untied: required
  erase(s, "decoder.block.1.layer.1.EncDecAttention.k.weight");
  s.tensors.push_back({"encoder.block.9.layer.0.SelfAttention.q.weight", torch::zeros({16, 16})});
  s.tensors.push_back({"decoder.extra.weight", torch::zeros({2})});
  const std::string e = load_error(*model, s);
  EXPECT_NE(e.find("missing keys (2): decoder.block.1.layer.1.EncDecAttention.k.weight, lm_head.weight"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("unexpected keys (2): decoder.extra.weight, encoder.block.9.layer.0.SelfAttention.q.weight"),
            std::string::npos)
      << e;
}

TEST(T5Checkpoint, ShapeMismatchNamesKeyAndShapes) {
  T5Model model = model_for("relu_tied");
  HfStateDict s = t5_hf_state_dict(*model);
  find(s, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight").value = torch::zeros({32, 4});
  const std::string e = load_error(*model, s);
  EXPECT_NE(e.find("'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight' has shape [32, 4] in the "
                   "checkpoint but [8, 4] in the model"),
            std::string::npos)
      << e;
  find(s, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight").value = torch::zeros({8, 4});
  s.tensors.push_back({"lm_head.weight", torch::zeros({50, 8})});  // a tied copy of the wrong shape
  EXPECT_NE(load_error(*model, s).find("'lm_head.weight' has shape [50, 8] but shared.weight [50, 16]"), std::string::npos);
}

TEST(T5Checkpoint, HalfPrecisionIsWidenedAndIntegersRefused) {
  T5Model model = model_for("relu_tied");
  HfStateDict s = t5_hf_state_dict(*model);
  const torch::Tensor shared = torch::randn({50, 16});
  find(s, "shared.weight").value = shared.to(torch::kBFloat16);
  find(s, "encoder.final_layer_norm.weight").value = torch::full({16}, 0.1).to(torch::kHalf);
  T5Model target = model_for("relu_tied");
  load_t5_state(*target, s);
  EXPECT_EQ(target->shared->weight.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(target->shared->weight, shared.to(torch::kBFloat16).to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(target->encoder->final_layer_norm->weight, torch::full({16}, 0.1).to(torch::kHalf).to(torch::kFloat)));
  // Integer tensors in a file: an error naming the tensor.
  const fs::path dir = fresh_dir("int_dtype");
  fs::create_directories(dir);
  const int64_t v[2] = {1, 2};
  io::write_safetensors_file((dir / "model.safetensors").string(), {{"shared.weight", io::StDType::kI64, {2}, v, 16}}, {});
  try {
    read_hf_state_dict(dir.string());
    ADD_FAILURE() << "integer tensor accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'shared.weight' has dtype I64"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(T5Checkpoint, ExtraCrossAttentionsLeftAtInitOnRequest) {
  // HRG-SSA on t5-base weights: decoder blocks >= 1 of 2 have layer.3, absent from the checkpoint.
  const HfStateDict s = read_hf_state_dict(t5_fixture("relu_tied").string());
  T5Model model = model_for("relu_tied", /*extra_from=*/1);
  const std::string e = load_error(*model, s);
  EXPECT_NE(e.find("missing keys (5): decoder.block.1.layer.3.EncDecAttention.k.weight"), std::string::npos) << e;
  T5LoadOptions o;
  o.keep_initial = {kExtraCrossAttentionPattern};
  const torch::Tensor before = model->decoder->named_parameters()["block.1.layer.3.EncDecAttention.q.weight"].clone();
  const T5LoadReport r = load_t5_state(*model, s, o);
  const std::string x = "decoder.block.1.layer.3.";
  EXPECT_EQ(r.left_at_init,
            (std::vector<std::string>{x + "EncDecAttention.k.weight", x + "EncDecAttention.o.weight",
                                      x + "EncDecAttention.q.weight", x + "EncDecAttention.v.weight",
                                      x + "layer_norm.weight"}));
  EXPECT_TRUE(torch::equal(model->decoder->named_parameters()["block.1.layer.3.EncDecAttention.q.weight"], before));
}

TEST(T5Checkpoint, DamagedFilesAndEmptyFoldersAreRefused) {
  const fs::path dir = fresh_dir("damaged");
  fs::create_directories(dir);
  fs::copy_file(t5_fixture("relu_tied") / "config.json", dir / "config.json");
  try {
    load_t5_pretrained(dir.string());
    ADD_FAILURE() << "an empty folder loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has neither model.safetensors nor pytorch_model.bin"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos);
  }
  const std::string bytes = io::read_file_bytes((t5_fixture("relu_tied") / "model.safetensors").string());
  io::write_file_atomically((dir / "model.safetensors").string(), bytes.substr(0, bytes.size() - 100));
  try {
    load_t5_pretrained(dir.string());
    ADD_FAILURE() << "a truncated file loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "model.safetensors").string()), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(T5Checkpoint, SaveThenLoadRoundTrip) {
  torch::manual_seed(31);
  T5Model model = model_for("gated_untied");
  const fs::path dir = fresh_dir("round_trip");
  save_t5_pretrained(*model, dir.string());
  const io::SafetensorsFile f = io::SafetensorsFile::open((dir / "model.safetensors").string());
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_NE(f.find("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"), nullptr);  // HF name
  EXPECT_NE(f.find("lm_head.weight"), nullptr);
  const LoadedT5 back = load_t5_pretrained(dir.string());
  EXPECT_EQ(back.model->options.config.feed_forward_proj, "gated-gelu");
  const auto want = model->named_parameters();
  for (const auto& p : back.model->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), want[p.key()])) << p.key();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace merc::nn::t5
