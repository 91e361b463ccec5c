#include "merc/app/t5_init_cmd.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/nn/t5/checkpoint.h"
#include "merc/nn/t5/tokenizer.h"
#include "merc/train/run_data.h"

namespace merc::app {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("merc_t5_init_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

std::string bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

T5InitArgs tiny_args(const fs::path& out) {
  T5InitArgs a;
  a.out = out.string();
  a.size = "tiny";
  a.vocab = 300;
  a.seed = 7;
  return a;  // no --config / --data: the embedded CMU-MOSI, standard split
}

TEST(T5Init, WritesAFolderThatLoadsAndRepeatsByteForByte) {
  const fs::path a = fresh_dir("a"), b = fresh_dir("b");
  std::ostringstream log;
  ASSERT_EQ(run_t5_init(tiny_args(a), log), 0);
  ASSERT_EQ(run_t5_init(tiny_args(b), log), 0);
  for (const char* f : {"spiece.model", "config.json", "model.safetensors", "README.txt"}) {
    ASSERT_TRUE(fs::exists(a / f)) << f;
    EXPECT_EQ(bytes(a / f), bytes(b / f)) << f;  // same data, options and seed -> same bytes
  }
  const nn::t5::T5Tokenizer tok(a);
  EXPECT_EQ(tok.piece_count(), 300);
  const nn::t5::LoadedT5 t5 = nn::t5::load_t5_pretrained(a.string());
  EXPECT_EQ(t5.model->options.config.vocab_size, tok.size());  // pieces + 100 sentinels
  EXPECT_EQ(t5.model->options.config.d_model, 64);
  EXPECT_NE(bytes(a / "README.txt").find("NOT a pretrained model"), std::string::npos);
  // Another seed: other weights, same vocabulary.
  const fs::path c = fresh_dir("c");
  T5InitArgs other = tiny_args(c);
  other.seed = 8;
  ASSERT_EQ(run_t5_init(other, log), 0);
  EXPECT_EQ(bytes(a / "spiece.model"), bytes(c / "spiece.model"));
  EXPECT_NE(bytes(a / "model.safetensors"), bytes(c / "model.safetensors"));
  for (const fs::path& d : {a, b, c}) fs::remove_all(d);
}

// The vocabulary is learnt from the training partition only: the README names the sentence count,
// which is that of the train dialogues' transcripts.
TEST(T5Init, LearnsTheVocabularyFromTrainingTranscriptsOnly) {
  const train::ExperimentConfig config = resolve_experiment(ConfigArgs{}, nullptr);
  const data::Dataset ds = load_experiment_dataset(config.data, "", "");
  const train::RunData rd = train::select_partitions(ds, config, false);
  const std::vector<std::string> train_text = dialogue_transcripts(rd.train);
  std::vector<const data::Dialogue*> all;
  for (const auto& d : ds.dialogues) all.push_back(&d);
  ASSERT_GT(train_text.size(), 100u);
  EXPECT_LT(train_text.size(), dialogue_transcripts(all).size());
  const fs::path a = fresh_dir("d");
  std::ostringstream log;
  ASSERT_EQ(run_t5_init(tiny_args(a), log), 0);
  EXPECT_NE(bytes(a / "README.txt").find(std::to_string(train_text.size()) + " transcripts of the 'train' partition"),
            std::string::npos)
      << bytes(a / "README.txt");
  fs::remove_all(a);
}

TEST(T5Init, BadRequestsAreNamedErrors) {
  EXPECT_THROW(t5_size_preset("huge", 100), UnknownNameError);
  EXPECT_EQ(t5_size_preset("base", 32128).d_ff, 3072);
  const fs::path a = fresh_dir("e");
  fs::create_directories(a);
  std::ofstream(a / "keep.txt") << "x";
  std::ostringstream log;
  try {
    run_t5_init(tiny_args(a), log);
    ADD_FAILURE() << "wrote into a non-empty folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not empty"), std::string::npos) << e.what();
  }
  T5InitArgs forced = tiny_args(a);
  forced.force = true;
  EXPECT_EQ(run_t5_init(forced, log), 0);
  fs::remove_all(a);
}

// CMU-MOSI's transcripts are upper case: a vocabulary from them alone maps HRG-SSA's lower-case
// sentence template and class words to <unk>. For an hrg_ssa generative experiment the training
// utterances' label sentences join the corpus, so the sentences the model writes have pieces.
TEST(T5Init, AnHrgSsaExperimentsVocabularyCoversItsLabelSentences) {
  const fs::path a = fresh_dir("f");
  T5InitArgs args = tiny_args(a);
  args.config.overrides = {"data.task=classification", "model.name=hrg_ssa", "model.text_encoder=t5",
                           "model.head=generate"};
  std::ostringstream log;
  ASSERT_EQ(run_t5_init(args, log), 0);
  const nn::t5::T5Tokenizer tok(a);
  for (const char* text : {"In the last round of the above dialogue, the speaker speaker's emotion is", "negative",
                           "positive", "undetermined"})
    for (int64_t id : tok.encode(text, false)) EXPECT_NE(id, tok.unk_id()) << text;
  EXPECT_NE(bytes(a / "README.txt").find("label sentences"), std::string::npos);
  fs::remove_all(a);
}

}  // namespace
}  // namespace merc::app
