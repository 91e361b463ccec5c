// Greedy generation: the reference's greedy tokens, identical with and without the key/value cache,
// each token the argmax of a full teacher-forced pass over its prefix, rows stopping at EOS and then
// padded, and the cache with HRG-SSA's extra memory.
#include <gtest/gtest.h>

#include "merc/nn/t5/checkpoint.h"
#include "merc/nn/t5/generate.h"
#include "t5_fixture.h"

namespace merc::nn::t5 {
namespace generate_test_detail {

using t5_fixtures::npy_long;
using t5_fixtures::t5_fixture;

GenerateInput fixture_input(const std::string& variant) {
  GenerateInput in;
  in.encoder.input_ids = npy_long(variant, "input_ids");
  in.encoder.attention_mask = npy_long(variant, "attention_mask");
  return in;
}

GenerateOptions options(int64_t max_length, bool use_cache) {
  GenerateOptions o;
  o.max_length = max_length;
  o.use_cache = use_cache;
  return o;
}

}  // namespace generate_test_detail

namespace {

using namespace generate_test_detail;

TEST(T5Generate, ReferenceTokensWithAndWithoutCache) {
  for (const char* variant : {"relu_tied", "gated_untied"}) {
    LoadedT5 t5 = load_t5_pretrained(t5_fixture(variant).string());
    const GenerateInput in = fixture_input(variant);
    const GenerateOutput cached = greedy_generate(*t5.model, in, options(6, true));
    const GenerateOutput full = greedy_generate(*t5.model, in, options(6, false));
    EXPECT_TRUE(torch::equal(cached.tokens, full.tokens)) << variant;
    EXPECT_TRUE(torch::equal(cached.tokens, npy_long(variant, "greedy"))) << variant << cached.tokens;
    EXPECT_TRUE(torch::equal(cached.lengths, torch::tensor({6, 6}))) << variant;  // no EOS within 6
  }
}

TEST(T5Generate, EachTokenIsTheArgmaxOfTheTeacherForcedPass) {
  LoadedT5 t5 = load_t5_pretrained(t5_fixture("gated_untied").string());
  const GenerateInput in = fixture_input("gated_untied");
  const GenerateOutput g = greedy_generate(*t5.model, in, options(6, true));
  Seq2SeqInput teacher;
  teacher.encoder = in.encoder;
  // Decoder input = start token + generated tokens but the last: predicts every generated token.
  teacher.decoder_input_ids = t5.model->shift_right(g.tokens);
  const torch::Tensor argmax = t5.model->forward(teacher).logits.argmax(-1);
  EXPECT_TRUE(torch::equal(argmax, g.tokens)) << argmax << g.tokens;
}

TEST(T5Generate, RowsStopAtEosThenPad) {
  LoadedT5 t5 = load_t5_pretrained(t5_fixture("gated_untied").string());
  // The reference's greedy rows are [29 29 29 4 40 37] and [29 25 8 4 27 4]: with EOS = 8 row 1 ends
  // at its third token, row 0 runs to max_length.
  t5.model->options.config.eos_token_id = 8;
  for (bool cache : {true, false}) {
    const GenerateOutput g = greedy_generate(*t5.model, fixture_input("gated_untied"), options(6, cache));
    EXPECT_TRUE(torch::equal(g.tokens, torch::tensor({{29, 29, 29, 4, 40, 37}, {29, 25, 8, 0, 0, 0}}))) << g.tokens;
    EXPECT_TRUE(torch::equal(g.lengths, torch::tensor({6, 3})));
  }
  // EOS = 4: both rows end at step 4, so generation stops early.
  t5.model->options.config.eos_token_id = 4;
  const GenerateOutput early = greedy_generate(*t5.model, fixture_input("gated_untied"), options(10, true));
  EXPECT_EQ(early.tokens.size(1), 4);
  EXPECT_TRUE(torch::equal(early.lengths, torch::tensor({4, 4})));
}

TEST(T5Generate, CacheWithExtraMemory) {
  torch::manual_seed(41);
  T5ModelOptions o;
  o.config = read_t5_config((t5_fixture("gated_untied").string() + "/config.json"));
  o.extra_cross_attention_from = extra_cross_attention_start(o.config.num_decoder_layers);
  T5Model model(o);
  model->eval();
  GenerateInput in = fixture_input("gated_untied");
  in.extra_memory = torch::randn({2, 3, 16});
  in.extra_mask = torch::tensor({{1, 1, 1}, {1, 1, 0}});
  const GenerateOutput cached = greedy_generate(*model, in, options(8, true));
  const GenerateOutput full = greedy_generate(*model, in, options(8, false));
  EXPECT_TRUE(torch::equal(cached.tokens, full.tokens)) << cached.tokens << full.tokens;
}

}  // namespace
}  // namespace merc::nn::t5
