#include "merc/models/hrg_ssa_generative.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>

#include "merc/core/error.h"
#include "merc/models/registry.h"
#include "merc/nn/t5/checkpoint.h"
#include "merc/nn/t5/config.h"
#include "merc/train/experiment_config.h"
#include "model_test_util.h"

namespace merc::models {
namespace {

namespace fs = std::filesystem;

// A from-scratch tiny T5 folder: the committed tokenizer fixture (256 pieces + 100 sentinels + the
// 10 HRG-SSA tokens) and random weights of a 2+2-layer T5 sized to that vocabulary.
fs::path tiny_t5_dir() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("merc_hrg_gen_t5_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    const fs::path src = fs::path(MERC_FIXTURE_DIR) / "t5_tokenizer";
    for (const char* f : {"spiece.model", "added_tokens.json", "special_tokens_map.json"})
      fs::copy_file(src / f, d / f);
    nn::t5::T5Config c;
    c.vocab_size = nn::t5::T5Tokenizer(d).size();
    c.d_model = 16;
    c.d_kv = 4;
    c.num_heads = 4;
    c.d_ff = 32;
    c.num_layers = 2;
    c.num_decoder_layers = 2;
    c.relative_attention_num_buckets = 8;
    c.relative_attention_max_distance = 16;
    c.dropout_rate = 0.0;
    torch::manual_seed(5);
    nn::t5::T5Model model(nn::t5::T5ModelOptions{c, -1});
    nn::t5::save_t5_pretrained(*model, d.string());
    return d;
  }();
  return dir;
}

// sweep_dataset (3 classes, three modalities) with transcripts and speaker names.
data::Dataset text_dataset() {
  data::Dataset ds = testing::sweep_dataset();
  const char* lines[] = {"i think it was good", "the movie was bad", "it was fine", "i really liked it",
                         "not so great"};
  const char* names[] = {"Joey", "Ross"};
  int k = 0;
  for (auto& d : ds.dialogues)
    for (auto& u : d.utterances) {
      u.transcript = lines[k++ % 5];
      u.speaker_name = names[u.speaker];
    }
  return ds;
}

HrgSsaConfig generative_config() {
  HrgSsaConfig c;
  c.name = "hrg_ssa";
  c.text_encoder = "t5";
  c.head = "generate";
  c.t5_dir = tiny_t5_dir().string();
  c.window = 2;
  c.gat_layers = 1;
  c.node_layers = 1;
  c.detector_dim = 4;
  c.dropout = 0.0;
  c.max_generate_length = 30;
  c.emotion_words = {"negative", "neutral", "positive"};
  c.sentiment_map = {0, 1, 2};
  c.frozen_epochs = 0;
  return c;
}

std::shared_ptr<HrgSsaGenerativeModel> make_model(const data::Dataset& ds, const HrgSsaConfig& c) {
  torch::manual_seed(11);
  return std::make_shared<HrgSsaGenerativeModel>(c, model_dims(ds.info, {}, data::Task::kClassification));
}

TEST(HrgSsaGenerative, TrainingForwardGivesTheLmAndAlignmentLosses) {
  const data::Dataset ds = text_dataset();
  auto model = make_model(ds, generative_config());
  model->train();
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2});
  const ModelOutput out = model->forward(batch, {});
  EXPECT_EQ(out.task_loss_weight, 0.0);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 5, 3}));
  for (const char* k : {"lm", "con_u", "con_c"}) {
    ASSERT_TRUE(out.aux_losses.count(k)) << k;
    EXPECT_TRUE(std::isfinite(out.aux_losses.at(k).item<double>())) << k;
  }
  // An untrained LM is near uniform over the vocabulary: loss ~ ln(V).
  const double lm = out.aux_losses.at("lm").item<double>();
  EXPECT_NEAR(lm, std::log(static_cast<double>(model->tokenizer().size())), 2.0);
  out.aux_losses.at("lm").backward();
  int64_t with_grad = 0;
  for (const auto& p : model->parameters()) with_grad += p.grad().defined() && p.grad().abs().sum().item<double>() > 0;
  EXPECT_GT(with_grad, 10);
}

// Every real utterance is either one class (one-hot) or an abstention; padding is neither.
void expect_parsed_or_abstained(const ModelOutput& out, const data::DialogueBatch& batch) {
  const torch::Tensor abstain = out.features.at("abstain");
  const torch::Tensor ones = out.logits.sum(2);
  for (int64_t b = 0; b < batch.batch_size(); ++b)
    for (int64_t t = 0; t < batch.max_length(); ++t) {
      const bool real = batch.utterance_mask[b][t].item<bool>();
      const bool abst = abstain[b][t].item<bool>();
      const double s = ones[b][t].item<double>();
      if (!real) {
        EXPECT_FALSE(abst);
        EXPECT_EQ(s, 0.0);
      } else {
        EXPECT_EQ(abst ? 0.0 : 1.0, s) << b << "," << t;
      }
    }
}

TEST(HrgSsaGenerative, PredictedHistoryEvaluationReadsNoLabel) {
  data::Dataset ds = text_dataset();
  auto model = make_model(ds, generative_config());
  model->eval();
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 2});
  const ModelOutput first = model->forward(batch, {});
  expect_parsed_or_abstained(first, batch);
  ASSERT_EQ(model->last_generated().size(), 9u);
  for (auto& d : ds.dialogues)
    for (auto& u : d.utterances) u.label = (u.label + 1) % 3;  // other labels: nothing may change
  const ModelOutput second = model->forward(testing::collate_indices(ds, {0, 2}), {});
  EXPECT_TRUE(torch::equal(first.logits, second.logits));
  EXPECT_TRUE(torch::equal(first.features.at("abstain"), second.features.at("abstain")));
}

TEST(HrgSsaGenerative, GoldAndNoHistoryModesGenerateForEveryUtterance) {
  const data::Dataset ds = text_dataset();
  for (const char* mode : {"gold", "none"}) {
    HrgSsaConfig c = generative_config();
    c.label_history = mode;
    auto model = make_model(ds, c);
    model->eval();
    const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2, 3});
    expect_parsed_or_abstained(model->forward(batch, {}), batch);
    EXPECT_EQ(model->last_generated().size(), 12u) << mode;
  }
}

TEST(HrgSsaGenerative, ATinyRunLearnsToWriteParseableLabelSentences) {
  const data::Dataset ds = text_dataset();
  auto model = make_model(ds, generative_config());
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-2));
  const data::DialogueBatch batch = testing::collate_indices(ds, {1, 3});  // 3 utterances: fast steps
  model->train();
  double first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    const ModelOutput out = model->forward(batch, {});
    torch::Tensor loss = out.aux_losses.at("lm") + out.aux_losses.at("con_u") + out.aux_losses.at("con_c");
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = out.aux_losses.at("lm").item<double>();
  }
  EXPECT_LT(last, first / 4) << first << " -> " << last;
  model->eval();
  const ModelOutput out = model->forward(batch, {});
  // The template is learnt: the generated sentences parse (3 utterances).
  EXPECT_EQ(out.features.at("abstain").sum().item<int64_t>(), 0) << model->last_generated().front();
}

TEST(HrgSsaGenerative, TwoPhasesFreezeThePretrainedT5First) {
  const data::Dataset ds = text_dataset();
  HrgSsaConfig c = generative_config();
  c.frozen_epochs = -1;  // the release: epochs - 10
  auto model = make_model(ds, c);
  EXPECT_EQ(model->stage_for_epoch(9, 20), 0);
  EXPECT_EQ(model->stage_for_epoch(10, 20), 1);
  EXPECT_EQ(model->stage_for_epoch(0, 8), 1);  // fewer than 10 epochs: no frozen phase
  EXPECT_TRUE(HrgSsaGenerativeModel::trained_while_frozen("t5.decoder.block.1.layer.3.EncDecAttention.q.weight"));
  EXPECT_TRUE(HrgSsaGenerativeModel::trained_while_frozen("node_encoders.audio_mapping.weight"));
  EXPECT_TRUE(HrgSsaGenerativeModel::trained_while_frozen("graphs.text_gat.layers.0.linear_proj.weight"));
  EXPECT_FALSE(HrgSsaGenerativeModel::trained_while_frozen("t5.shared.weight"));
  EXPECT_FALSE(HrgSsaGenerativeModel::trained_while_frozen("t5.encoder.block.0.layer.0.SelfAttention.q.weight"));
  const auto frozen = model->parameter_groups(0), all = model->parameter_groups(1);
  ASSERT_EQ(frozen.size(), 1u);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_LT(frozen[0].params.size(), all[0].params.size());
  EXPECT_DOUBLE_EQ(all[0].lr_scale, 0.6);
  auto shared_trains = [&] { return model->named_parameters()["t5.shared.weight"].requires_grad(); };
  model->set_stage(0);
  EXPECT_FALSE(shared_trains());
  model->set_stage(1);
  EXPECT_TRUE(shared_trains());
}

TEST(HrgSsaGenerative, RegistryBuildsItAndBadConfigsAreNamedErrors) {
  const data::Dataset ds = text_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  EXPECT_NE(std::dynamic_pointer_cast<HrgSsaGenerativeModel>(build_model(generative_config(), dims)), nullptr);
  HrgSsaConfig c = generative_config();
  c.t5_dir = "";
  EXPECT_THROW(HrgSsaGenerativeModel(c, dims), Error);
  c = generative_config();
  c.t5_dir = "/nonexistent/t5";
  EXPECT_THROW(HrgSsaGenerativeModel(c, dims), Error);
  c = generative_config();
  c.label_history = "oracle";
  EXPECT_THROW(HrgSsaGenerativeModel(c, dims), Error);
  c = generative_config();
  EXPECT_THROW(HrgSsaGenerativeModel(c, model_dims(ds.info, {}, data::Task::kRegression)), Error);
  c.text_encoder = "features";  // features + generate is not a variant
  EXPECT_THROW(build_model(c, dims), Error);
}

// Every hrg_ssa experiment file resolves through the config layers and builds its model; the
// generative ones (the published IEMOCAP/MELD commands need google-t5/t5-base, which is not here) get
// the tiny test T5 folder as model.t5_dir, at IEMOCAP/MELD/MOSI shapes.
TEST(HrgSsaGenerative, ExperimentFilesResolveAndBuild) {
  const fs::path dir = fs::path(MERC_SOURCE_DIR) / "configs" / "experiments";
  int generative = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("hrg_ssa", 0) != 0) continue;
    SCOPED_TRACE(name);
    train::ConfigLayers layers;
    layers.config_dir = (fs::path(MERC_SOURCE_DIR) / "configs").string();
    layers.experiment_file = e.path().string();
    layers.overrides = {"model.t5_dir=" + tiny_t5_dir().string()};
    train::ExperimentConfig cfg;
    ASSERT_NO_THROW(cfg = train::resolve_config(layers));
    const auto& hrg = dynamic_cast<const HrgSsaConfig&>(*cfg.model);
    data::DatasetInfo info;
    info.name = "shape";
    const bool iemocap = name.find("iemocap") != std::string::npos, mosi = name.find("mosi") != std::string::npos;
    const bool meld_text = name.find("meld") != std::string::npos && name.find("text") != std::string::npos;
    info.modality_dims = {100, meld_text ? 0 : (iemocap ? 1582 : 300), meld_text ? 0 : 342};
    info.num_speakers = iemocap || mosi ? 2 : 9;
    info.class_names.assign(mosi ? 2 : (iemocap ? 6 : 7), "c");
    for (size_t k = 0; k < info.class_names.size(); ++k) info.class_names[k] += std::to_string(k);
    const data::Task task = mosi && hrg.head != "generate" ? data::Task::kRegression : data::Task::kClassification;
    std::shared_ptr<Model> m;
    ASSERT_NO_THROW(m = build_model(*cfg.model, model_dims(info, cfg.model->modalities, task)));
    if (hrg.head == "generate") {
      ++generative;
      EXPECT_NE(std::dynamic_pointer_cast<HrgSsaGenerativeModel>(m), nullptr);
      EXPECT_EQ(cfg.train.scheduler, "linear");
      EXPECT_DOUBLE_EQ(cfg.train.warmup_ratio, 0.2);
      EXPECT_DOUBLE_EQ(cfg.train.clip_norm, 1.0);
    }
  }
  EXPECT_EQ(generative, 4);  // hrg_ssa_iemocap, hrg_ssa_meld, hrg_ssa_gen_mosi, hrg_ssa_gen_meld
}

}  // namespace
}  // namespace merc::models
