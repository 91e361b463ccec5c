// The incomplete-modality family's experiment files (configs/experiments/gcnet_*, momke_*,
// comp_*): every file is listed here with the selection it must carry (the published protocols
// that pick the epoch on the test set are labelled test-max, the others validation), resolves
// through the engine's layering, and builds and forwards its model at the published feature
// dimensions (wav2vec 512 / DeBERTa 1024 / MANet 1024, method_reference §1.4) in every stage.
// Most of these files point at feature releases that are not in the repository, so nothing is
// trained here; tests/app/imer_experiments_test.cpp runs the LOSO files end to end on a fixture.

#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "merc/models/comp.h"
#include "merc/models/momke.h"
#include "merc/models/registry.h"
#include "merc/train/experiment_config.h"
#include "model_test_util.h"

namespace merc::models {
namespace {

namespace fs = std::filesystem;

struct Expected {
  std::string selection;  // "validation" | "test-max"
  int64_t classes;        // 0 = regression
};

// Every gcnet / momke / comp experiment file. A new file must be added here (the test fails
// otherwise), so its selection label is checked rather than assumed.
const std::map<std::string, Expected>& expected_files() {
  static const std::map<std::string, Expected> files = {
      {"comp_iemocap4_loso.yaml", {"test-max", 4}},
      {"comp_iemocap6_loso.yaml", {"test-max", 6}},
      {"comp_mosei.yaml", {"test-max", 0}},
      {"comp_mosi.yaml", {"validation", 0}},
      {"comp_mosi_published.yaml", {"test-max", 0}},
      {"gcnet_iemocap4_loso.yaml", {"validation", 4}},
      {"gcnet_iemocap4_loso_testmax.yaml", {"test-max", 4}},
      {"gcnet_iemocap6_loso.yaml", {"validation", 6}},
      {"gcnet_iemocap6_loso_testmax.yaml", {"test-max", 6}},
      {"gcnet_mosei.yaml", {"validation", 0}},  // GCNet selects CMU epochs on the real validation split
      {"gcnet_mosi.yaml", {"validation", 0}},
      {"gcnet_mosi_published.yaml", {"validation", 0}},
      {"momke_iemocap4_loso.yaml", {"test-max", 4}},
      {"momke_iemocap6_loso.yaml", {"test-max", 6}},
      {"momke_mosei.yaml", {"test-max", 0}},
      {"momke_mosi.yaml", {"validation", 0}},
      {"momke_mosi_testmax.yaml", {"test-max", 0}},
  };
  return files;
}

fs::path experiments_dir() { return fs::path(MERC_SOURCE_DIR) / "configs" / "experiments"; }

train::ExperimentConfig resolve(const std::string& file) {
  train::ConfigLayers layers;
  layers.config_dir = (fs::path(MERC_SOURCE_DIR) / "configs").string();
  layers.experiment_file = (experiments_dir() / file).string();
  return train::resolve_config(layers);
}

// Two dialogues (3 and 2 utterances) at the published feature dimensions. Text, audio, visual
// order as data::Modality.
data::Dataset published_shape_dataset(int64_t classes) {
  data::Dataset ds;
  ds.info.name = "published-shape";
  ds.info.task = classes > 0 ? data::Task::kClassification : data::Task::kRegression;
  ds.info.class_names = classes > 0 ? std::vector<std::string>(static_cast<size_t>(classes), "c")
                                    : std::vector<std::string>{"negative", "positive"};
  ds.info.num_speakers = classes > 0 ? 2 : 1;  // IEMOCAP F/M; CMU a single speaker slot
  ds.info.modality_dims = {1024, 512, 1024};
  const int64_t lengths[] = {3, 2};
  for (int64_t d = 0; d < 2; ++d) {
    data::Dialogue dlg;
    dlg.id = "d" + std::to_string(d);
    for (int m = 0; m < data::kNumModalities; ++m)
      dlg.features[m] = data::FeatureMatrix(lengths[d], ds.info.modality_dims[static_cast<size_t>(m)]);
    for (int64_t u = 0; u < lengths[d]; ++u) {
      data::Utterance utt;
      utt.id = dlg.id + "_" + std::to_string(u);
      utt.speaker = classes > 0 ? u % 2 : 0;
      utt.label = classes > 0 ? (d + u) % classes : -1;
      utt.score = static_cast<float>(0.5 * u - 0.7 * d);
      dlg.utterances.push_back(utt);
      for (int m = 0; m < data::kNumModalities; ++m)
        for (int64_t j = 0; j < ds.info.modality_dims[static_cast<size_t>(m)]; ++j)
          dlg.features[m].row(u)[j] = static_cast<float>(std::sin(0.1 * j + 1.3 * u + 2.1 * m + d));
    }
    ds.dialogues.push_back(std::move(dlg));
  }
  return ds;
}

TEST(ImerConfigs, EveryFileIsListedWithItsSelection) {
  std::set<std::string> found;
  for (const auto& e : fs::directory_iterator(experiments_dir())) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".yaml" &&
        (name.rfind("gcnet_", 0) == 0 || name.rfind("momke_", 0) == 0 || name.rfind("comp_", 0) == 0))
      found.insert(name);
  }
  std::set<std::string> listed;
  for (const auto& kv : expected_files()) listed.insert(kv.first);
  EXPECT_EQ(found, listed);
}

TEST(ImerConfigs, ResolveBuildAndForwardAtPublishedDims) {
  for (const auto& [file, want] : expected_files()) {
    SCOPED_TRACE(file);
    train::ExperimentConfig cfg;
    ASSERT_NO_THROW(cfg = resolve(file));
    EXPECT_EQ(cfg.selection, want.selection);
    EXPECT_EQ(cfg.test_max(), want.selection == "test-max");
    // The IMER protocols mask in training and evaluation alike (GCNet random rate, MoMKE fixed).
    EXPECT_EQ(cfg.protocol.train, cfg.protocol.test);
    EXPECT_NE(cfg.protocol.train, "complete");
    const std::string& task = cfg.data.task;
    if (want.classes > 0) {
      EXPECT_EQ(task, "classification");
      EXPECT_TRUE(cfg.data.loso);
    } else if (!cfg.data.path.empty()) {  // MOSEI files; the MOSI ones take the mosi preset
      EXPECT_EQ(task, "regression");
    }

    const data::Dataset ds = published_shape_dataset(want.classes);
    const data::Task t = want.classes > 0 ? data::Task::kClassification : data::Task::kRegression;
    const ModelDims dims = model_dims(ds.info, cfg.model->modalities, t);
    torch::manual_seed(3);
    std::shared_ptr<Model> model;
    ASSERT_NO_THROW(model = build_model(*cfg.model, dims));
    model->eval();
    torch::NoGradGuard no_grad;
    const auto batch = testing::collate_indices(ds, {0, 1});
    // Every stage of the schedule: the first epoch and the last.
    for (const int64_t epoch : {int64_t{0}, cfg.train.epochs - 1}) {
      ForwardContext ctx;
      ctx.epoch = epoch;
      ctx.stage = model->stage_for_epoch(epoch, cfg.train.epochs);
      model->set_stage(ctx.stage);
      const ModelOutput out = model->forward(batch, ctx);
      const int64_t C = want.classes > 0 ? want.classes : 1;
      ASSERT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 3, C})) << "epoch " << epoch;
      EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>()) << "epoch " << epoch;
    }
  }
}

// The values the published commands fix (method_reference §3.5, §5.1, §5.4), as resolved.
TEST(ImerConfigs, PublishedScheduleValues) {
  struct Sched {
    const char* file;
    int64_t batch, epochs, stage_epoch, seq_len;  // seq_len 0 = not comp
    const char* metric;
  };
  const Sched cases[] = {
      {"comp_mosi_published.yaml", 32, 300, 150, 65, "f1"},
      {"comp_mosei.yaml", 32, 100, 50, 150, "f1"},
      {"comp_iemocap4_loso.yaml", 16, 200, 100, 150, "accuracy"},
      {"comp_iemocap6_loso.yaml", 16, 200, 100, 150, "accuracy"},
      {"momke_mosi_testmax.yaml", 32, 300, 150, 0, "f1"},
      {"momke_mosei.yaml", 32, 100, 50, 0, "f1"},
      {"momke_iemocap4_loso.yaml", 16, 200, 100, 0, "accuracy"},
      {"momke_iemocap6_loso.yaml", 16, 200, 100, 0, "accuracy"},
  };
  for (const Sched& c : cases) {
    SCOPED_TRACE(c.file);
    const train::ExperimentConfig cfg = resolve(c.file);
    EXPECT_EQ(cfg.train.batch_size, c.batch);
    EXPECT_EQ(cfg.train.epochs, c.epochs);
    EXPECT_EQ(cfg.train.metric, c.metric);
    EXPECT_EQ(cfg.train.seed, 66);
    EXPECT_DOUBLE_EQ(cfg.train.lr, 1e-4);
    if (c.seq_len > 0) {
      const auto* comp = dynamic_cast<const CompConfig*>(cfg.model.get());
      ASSERT_NE(comp, nullptr);
      EXPECT_EQ(comp->stage_epoch, c.stage_epoch);
      EXPECT_EQ(comp->seq_len, c.seq_len);
      EXPECT_EQ(comp->hidden_dim, 256);
      EXPECT_EQ(cfg.protocol.train, "random:0.7");
      EXPECT_EQ(cfg.protocol.from_stage, 0);  // ComP masks in both stages
    } else {
      const auto* momke = dynamic_cast<const MomkeConfig*>(cfg.model.get());
      ASSERT_NE(momke, nullptr);
      EXPECT_EQ(momke->stage_epoch, c.stage_epoch);
      EXPECT_EQ(momke->hidden_dim, 256);
      EXPECT_EQ(cfg.protocol.from_stage, 1);  // MoMKE keeps every modality in stage 1
    }
  }
}

}  // namespace
}  // namespace merc::models
