// T5 tokenizer and SentencePiece training against tests/fixtures/t5_tokenizer/ (written by
// tests/fixtures/make_t5_tokenizer_fixtures.py: a 256-piece model trained with Python's
// sentencepiece, and the ids, pieces and decoded strings of Hugging Face's T5Tokenizer rules written
// out in Python). Everything here is exact: ids and strings, no tolerances.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "error_text.h"
#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/nn/t5/tokenizer.h"
#include "merc/nn/t5/tokenizer_training.h"

namespace merc::nn::t5 {
namespace {

namespace fs = std::filesystem;
using testing_support::error_text;

const fs::path kFixture = fs::path(MERC_FIXTURE_DIR) / "t5_tokenizer";

const std::vector<std::string> kHrgTokens = {"<bos_emotion>", "<eos_emotion>", "<bos_sentiment>", "<eos_sentiment>",
                                             "<bos_audio>",   "<eos_audio>",   "<bos_video>",     "<eos_video>",
                                             "<eos_status>",  "<bos_resp>"};

const nlohmann::json& expected() {
  static const nlohmann::json j = nlohmann::json::parse(io::read_file_bytes((kFixture / "expected.json").string()));
  return j;
}

// Hugging Face's decode(ids, skip_special_tokens) with its defaults: nothing cut, pad kept.
DecodeOptions hf_decode(bool skip_special_tokens) {
  return DecodeOptions{skip_special_tokens, /*stop_at_eos=*/false, /*skip_pad=*/false,
                       /*clean_up_tokenization_spaces=*/true};
}

// A scratch folder removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("merc_t5tok_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::vector<std::string> corpus() {
  std::ifstream in(kFixture / "corpus.txt");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(T5Tokenizer, EncodesDecodesAndTokenizesLikeTheReference) {
  const T5Tokenizer tok(kFixture);  // the folder: spiece.model + added_tokens.json + ...
  ASSERT_EQ(expected().at("cases").size(), 18u);
  for (const auto& c : expected().at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    SCOPED_TRACE(text);
    const auto ids = c.at("ids").get<std::vector<int64_t>>();
    EXPECT_EQ(tok.encode(text), ids);
    EXPECT_EQ(tok.tokenize(text), c.at("pieces").get<std::vector<std::string>>());
    EXPECT_EQ(tok.decode(ids, hf_decode(false)), c.at("decoded").get<std::string>());
    EXPECT_EQ(tok.decode(ids, hf_decode(true)), c.at("decoded_skipping_special").get<std::string>());
  }
}

TEST(T5Tokenizer, ModelFileAloneHasNoAddedTokens) {
  const T5Tokenizer tok(kFixture / "spiece.model");
  EXPECT_EQ(tok.size(), expected().at("vocab_size").get<int64_t>());
  EXPECT_TRUE(tok.added_tokens().empty());
  for (const auto& c : expected().at("cases")) {
    SCOPED_TRACE(c.at("text").get<std::string>());
    EXPECT_EQ(tok.encode(c.at("text").get<std::string>()),
              c.at("ids_without_added_tokens").get<std::vector<int64_t>>());
  }
}

TEST(T5Tokenizer, IdsOfSpecialTokensSentinelsAndAddedTokens) {
  const T5Tokenizer tok(kFixture);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_EQ(tok.unk_id(), 2);
  EXPECT_EQ(tok.piece_count(), 256);
  EXPECT_EQ(tok.vocab_size(), 356);  // + 100 sentinels
  EXPECT_EQ(tok.size(), expected().at("size_with_added").get<int64_t>());
  // Sentinels count down from the end of the vocabulary.
  EXPECT_EQ(tok.extra_id(0), 355);
  EXPECT_EQ(tok.extra_id(99), 256);
  EXPECT_EQ(tok.token_to_id("<extra_id_0>"), 355);
  EXPECT_EQ(tok.id_to_token(256), "<extra_id_99>");
  EXPECT_EQ(tok.token_to_id("</s>"), 1);
  EXPECT_EQ(tok.id_to_token(0), "<pad>");
  EXPECT_EQ(tok.token_to_id("▁the"), 6);
  // added_tokens.json lists them alphabetically by JSON order; the ids (HRG-SSA's order) decide.
  ASSERT_EQ(tok.added_tokens(), kHrgTokens);
  for (size_t i = 0; i < kHrgTokens.size(); ++i) {
    EXPECT_EQ(tok.token_to_id(kHrgTokens[i]), 356 + static_cast<int64_t>(i));
    EXPECT_EQ(tok.id_to_token(356 + static_cast<int64_t>(i)), kHrgTokens[i]);
    EXPECT_TRUE(tok.is_special(356 + static_cast<int64_t>(i)));
  }
  EXPECT_TRUE(tok.is_special(0) && tok.is_special(1) && tok.is_special(2) && tok.is_special(300));
  EXPECT_FALSE(tok.is_special(6));
}

TEST(T5Tokenizer, AddSpecialTokensAppendsNewTokensInOrder) {
  T5Tokenizer tok(kFixture / "spiece.model");
  EXPECT_EQ(tok.add_special_tokens(kHrgTokens), 10);
  EXPECT_EQ(tok.token_to_id("<bos_resp>"), 365);
  // Known tokens keep their ids: nothing new.
  EXPECT_EQ(tok.add_special_tokens({"<bos_emotion>", "</s>", "<extra_id_3>"}), 0);
  EXPECT_EQ(tok.size(), 366);
  EXPECT_EQ(tok.add_special_tokens({"<speaker>"}), 1);
  EXPECT_EQ(tok.token_to_id("<speaker>"), 366);
  // Added through the API or read from the folder: the same encodings.
  const T5Tokenizer folder(kFixture);
  const std::string text = "x <bos_emotion> happy <eos_emotion>, and <bos_sentiment> positive <eos_sentiment>.";
  EXPECT_EQ(tok.encode(text), folder.encode(text));
}

TEST(T5Tokenizer, DecodeRoundTripsAndReadsTheEmotionWord) {
  const T5Tokenizer tok(kFixture);
  for (const std::string text :
       {"the movie was really good", "It's 100% great!!! (really) I don't know; maybe, maybe not?"}) {
    EXPECT_EQ(tok.decode(tok.encode(text)), text);
  }
  const std::string target = "In the last round of the above dialogue, the speaker A's emotion is <bos_emotion> happy "
                             "<eos_emotion>, and the sentiment is <bos_sentiment> positive <eos_sentiment>.";
  const std::string decoded = tok.decode(tok.encode(target));
  EXPECT_EQ(decoded, target);
  // HRG-SSA's parse: the space-separated word after "<bos_emotion>".
  const size_t at = decoded.find("<bos_emotion> ") + std::string("<bos_emotion> ").size();
  EXPECT_EQ(decoded.substr(at, decoded.find(' ', at) - at), "happy");
}

TEST(T5Tokenizer, DecodeStopsAtEosAndSkipsPadding) {
  const T5Tokenizer tok(kFixture);
  const std::vector<int64_t> body = tok.encode("the movie", /*add_eos=*/false);
  std::vector<int64_t> generated = {tok.pad_id()};  // decoder start
  generated.insert(generated.end(), body.begin(), body.end());
  for (const int64_t id : {tok.eos_id(), tok.pad_id(), body[0]}) generated.push_back(id);
  EXPECT_EQ(tok.decode(generated), "the movie");
  EXPECT_EQ(tok.decode(generated, hf_decode(false)), "<pad> the movie</s><pad>the");  // HF spacing, checked in Python
  EXPECT_EQ(tok.decode(generated, hf_decode(true)), "the movie the");
  DecodeOptions skip_special;
  skip_special.skip_special_tokens = true;
  EXPECT_EQ(tok.decode(tok.encode("a <extra_id_0> b <bos_resp>"), skip_special), tok.decode(tok.encode("a b")));
}

TEST(T5Tokenizer, BatchesArePaddedWithAMask) {
  const T5Tokenizer tok(kFixture);
  const std::vector<std::string> texts = {"the movie was really good", "none", ""};
  const TokenBatch batch = tok.encode_batch(texts);
  ASSERT_EQ(batch.input_ids.sizes(), (std::vector<int64_t>{3, 7}));
  ASSERT_EQ(batch.attention_mask.sizes(), batch.input_ids.sizes());
  EXPECT_EQ(batch.input_ids.scalar_type(), torch::kLong);
  for (int64_t b = 0; b < 3; ++b) {
    const std::vector<int64_t> ids = tok.encode(texts[static_cast<size_t>(b)]);
    const auto n = static_cast<int64_t>(ids.size());
    EXPECT_TRUE(batch.input_ids[b].narrow(0, 0, n).equal(torch::tensor(ids, torch::kLong))) << b;
    EXPECT_TRUE(batch.input_ids[b].narrow(0, n, 7 - n).eq(tok.pad_id()).all().item<bool>()) << b;
    EXPECT_EQ(batch.attention_mask[b].sum().item<int64_t>(), n);
    EXPECT_EQ(batch.attention_mask[b].narrow(0, 0, n).sum().item<int64_t>(), n);  // ones first
  }
  BatchEncodeOptions fixed;
  fixed.max_length = 10;
  fixed.pad_to_max_length = true;
  EXPECT_EQ(tok.encode_batch(texts, fixed).input_ids.size(1), 10);
  EXPECT_EQ(tok.encode_batch({}).input_ids.numel(), 0);
}

TEST(T5Tokenizer, TruncationKeepsEosLastFromEitherSide) {
  const T5Tokenizer tok(kFixture);
  const std::vector<int64_t> ids = tok.encode("the movie was really good");  // 6 ids + EOS
  BatchEncodeOptions o;
  o.max_length = 4;
  const TokenBatch right = tok.encode_batch({"the movie was really good", "a"}, o);
  EXPECT_TRUE(right.input_ids[0].equal(torch::tensor({ids[0], ids[1], ids[2], tok.eos_id()})));
  ASSERT_EQ(tok.encode("a").size(), 2u);  // "▁a", EOS: shorter rows are padded, not truncated
  EXPECT_TRUE(right.attention_mask[1].equal(torch::tensor(std::vector<int64_t>{1, 1, 0, 0})));
  o.truncation_side = TruncationSide::kLeft;
  EXPECT_TRUE(tok.encode_batch({"the movie was really good"}, o)
                  .input_ids[0]
                  .equal(torch::tensor({ids[3], ids[4], ids[5], tok.eos_id()})));
  o.add_eos = false;
  EXPECT_TRUE(tok.encode_batch({"the movie was really good"}, o)
                  .input_ids[0]
                  .equal(torch::tensor({ids[2], ids[3], ids[4], ids[5]})));
}

TEST(T5Tokenizer, ClearErrorsForBadFilesAndUnknownTokens) {
  TempDir dir("errors");
  const fs::path missing = dir.path / "nothing" / "spiece.model";
  EXPECT_NE(error_text([&] { T5Tokenizer t(missing); }).find(missing.string()), std::string::npos);
  EXPECT_NE(error_text([&] { T5Tokenizer t(dir.path); }).find((dir.path / "spiece.model").string()), std::string::npos);
  const fs::path corrupt = dir.path / "corrupt.model";
  write(corrupt, "this is not a protobuf");
  const std::string corrupt_error = error_text([&] { T5Tokenizer t(corrupt); });
  EXPECT_NE(corrupt_error.find(corrupt.string()), std::string::npos) << corrupt_error;
  // added_tokens.json whose ids leave a gap after the vocabulary.
  fs::copy_file(kFixture / "spiece.model", dir.path / "spiece.model");
  write(dir.path / "added_tokens.json", R"({"<a>": 356, "<b>": 358})");
  const std::string gap = error_text([&] { T5Tokenizer t(dir.path); });
  EXPECT_NE(gap.find("added_tokens.json"), std::string::npos) << gap;
  EXPECT_NE(gap.find("<b>"), std::string::npos) << gap;
  write(dir.path / "added_tokens.json", "{not json");
  EXPECT_THROW(T5Tokenizer t(dir.path), FormatError);

  const T5Tokenizer tok(kFixture);
  EXPECT_NE(error_text([&] { tok.token_to_id("<bos_emotoin>"); }).find("<bos_emotoin>"), std::string::npos);
  EXPECT_FALSE(tok.contains("<extra_id_100>"));
  EXPECT_THROW(tok.extra_id(100), Error);
  EXPECT_THROW(tok.id_to_token(tok.size()), Error);
  EXPECT_THROW(tok.decode({5, -1}), Error);
}

TEST(T5Tokenizer, TrainingIsDeterministicAndMatchesPythonSentencePiece) {
  // The options of make_t5_tokenizer_fixtures.py (TRAINER_OPTIONS, SEED).
  SentencePieceTrainingOptions o;
  o.vocab_size = expected().at("vocab_size_trained").get<int64_t>();
  o.normalization = "identity";
  o.seed = expected().at("seed").get<uint32_t>();
  const std::vector<std::string> sentences = corpus();
  ASSERT_EQ(sentences.size(), 322u);
  const std::string model = train_sentencepiece_model(sentences, o);
  EXPECT_TRUE(model == io::read_file_bytes((kFixture / "spiece.model").string()))
      << "C++ training differs from the committed model trained by Python's sentencepiece";
  // Twice, through the file-writing entry: same bytes, and a tokenizer that encodes the same.
  TempDir dir("train");
  const fs::path written = train_sentencepiece(sentences, dir.path / "t5", o);
  EXPECT_EQ(written, dir.path / "t5" / "spiece.model");
  EXPECT_TRUE(io::read_file_bytes(written.string()) == model);
  const T5Tokenizer trained(dir.path / "t5");
  for (const auto& c : expected().at("cases")) {
    EXPECT_EQ(trained.encode(c.at("text").get<std::string>()),
              c.at("ids_without_added_tokens").get<std::vector<int64_t>>());
  }
}

TEST(T5Tokenizer, TrainingRefusesWhatItCannotDo) {
  SentencePieceTrainingOptions o;
  o.vocab_size = 5000;  // three short sentences cannot fill it
  const std::string error = error_text([&] { train_sentencepiece_model({"a b", "c d", "e f"}, o); });
  EXPECT_NE(error.find("vocab_size 5000"), std::string::npos) << error;
  EXPECT_THROW(train_sentencepiece_model({"", ""}, {}), Error);
}

}  // namespace
}  // namespace merc::nn::t5
