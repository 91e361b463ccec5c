// THE registry sweep (design.md "Registries"): every registered model, built from its default
// config at tiny size for several modality/task combinations, must forward with the contract's
// shapes, give finite gradients to every parameter, and survive save -> load bit-exactly.

#include "merc/models/registry.h"

#include <algorithm>
#include <set>
#include <utility>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "merc/core/config.h"
#include "merc/core/error.h"
#include "merc/core/registry.h"
#include "model_test_util.h"

namespace merc::models {
namespace {

struct SweepCase {
  std::string model;
  std::vector<std::string> modalities;
  data::Task task;
};

std::string sweep_case_name_text(const SweepCase& c) {
  std::string mods;
  for (const auto& m : c.modalities) mods += m;
  return fmt::format("{}_{}_{}", c.model, mods, c.task == data::Task::kRegression ? "reg" : "cls");
}

// Readable test listings (gtest prints raw bytes otherwise).
void PrintTo(const SweepCase& c, std::ostream* os) { *os << sweep_case_name_text(c); }

std::string sweep_case_name(const ::testing::TestParamInfo<SweepCase>& info) {
  return sweep_case_name_text(info.param);
}

std::vector<SweepCase> all_sweep_cases() {
  std::vector<SweepCase> cases;
  for (const ModelEntry& e : model_registry()) {
    cases.push_back({e.name, {"t", "a", "v"}, data::Task::kClassification});
    cases.push_back({e.name, {"t"}, data::Task::kClassification});
    cases.push_back({e.name, {"a", "v"}, data::Task::kClassification});
    cases.push_back({e.name, {"t", "a", "v"}, data::Task::kRegression});
    cases.push_back({e.name, {"v"}, data::Task::kRegression});
  }
  return cases;
}

std::shared_ptr<Model> build_tiny(const std::string& name, const ModelDims& dims, uint64_t seed) {
  const ModelEntry& entry = find_model(name);
  auto config = entry.make_config();
  entry.make_tiny(*config);
  torch::manual_seed(seed);
  return entry.build(*config, dims);
}

class RegistrySweep : public ::testing::TestWithParam<SweepCase> {};

TEST_P(RegistrySweep, ForwardShapesGradientsAndSaveLoad) {
  const SweepCase& c = GetParam();
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, c.modalities, c.task);
  const data::DialogueBatch batch = testing::collate_indices(ds, {0, 1, 2, 3});  // B = 4, T = 5
  const int64_t C = c.task == data::Task::kRegression ? 1 : 3;

  auto model = build_tiny(c.model, dims, 1);
  model->train();
  ModelOutput out = model->forward(batch, ForwardContext{});
  ASSERT_TRUE(out.logits.defined());
  ASSERT_EQ(out.logits.sizes(), (std::vector<int64_t>{4, 5, C}));
  EXPECT_EQ(out.logits.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
  // Padding (dialogue 1 after 2 utterances, dialogue 3 after 1) is zero.
  EXPECT_EQ(out.logits[1].narrow(0, 2, 3).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(out.logits[3].narrow(0, 1, 4).abs().max().item<float>(), 0.0f);

  // Loss backward: every parameter the stage trains (its parameter groups) takes part (defined,
  // finite gradient), some gradient is non-zero.
  torch::Tensor loss = testing::task_loss(out.logits, batch, c.task);
  for (const auto& [name, aux] : out.aux_losses) loss = loss + aux;
  loss.backward();
  int64_t nonzero = 0;
  std::vector<torch::Tensor> trained;
  for (const auto& g : model->parameter_groups(0)) trained.insert(trained.end(), g.params.begin(), g.params.end());
  auto in_stage = [&](const torch::Tensor& t) {
    return std::any_of(trained.begin(), trained.end(), [&](const torch::Tensor& q) { return q.is_same(t); });
  };
  for (const auto& p : model->named_parameters()) {
    if (!p.value().requires_grad() || !in_stage(p.value())) continue;
    ASSERT_TRUE(p.value().grad().defined()) << c.model << ": parameter " << p.key() << " got no gradient";
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << c.model << ": " << p.key();
    nonzero += p.value().grad().abs().sum().item<double>() > 0;
  }
  EXPECT_GT(nonzero, 0) << c.model << ": every gradient is zero";

  // Save -> load into a model built with other random weights -> identical eval outputs.
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = model->forward(batch, ForwardContext{}).logits;
  std::stringstream buffer;
  {
    torch::serialize::OutputArchive archive;
    model->save(archive);
    archive.save_to(buffer);
  }
  auto restored = build_tiny(c.model, dims, 99);
  restored->eval();
  EXPECT_FALSE(torch::equal(restored->forward(batch, ForwardContext{}).logits, expected))
      << "a fresh model with another seed should differ before loading";
  {
    torch::serialize::InputArchive archive;
    archive.load_from(buffer);
    restored->load(archive);
  }
  EXPECT_TRUE(torch::equal(restored->forward(batch, ForwardContext{}).logits, expected));
}

INSTANTIATE_TEST_SUITE_P(AllModels, RegistrySweep, ::testing::ValuesIn(all_sweep_cases()), sweep_case_name);

TEST(ModelRegistry, HasTheFirstModelsAndEachBuilderRejectsOtherConfigs) {
  const auto names = registry_names(model_registry());
  for (const char* expected : {"mlp", "bc_lstm", "dialogue_gcn"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  for (const ModelEntry& e : model_registry()) {
    EXPECT_EQ(make_model_config(e.name)->name, e.name);
    EXPECT_FALSE(e.description.empty());
    for (const ModelEntry& other : model_registry()) {
      if (other.name == e.name) continue;
      auto wrong = other.make_config();
      try {
        e.build(*wrong, dims);
        ADD_FAILURE() << e.name << " accepted a config of " << other.name;
      } catch (const Error& err) {
        EXPECT_NE(std::string(err.what()).find(e.name), std::string::npos) << err.what();
      }
      EXPECT_THROW(e.make_tiny(*wrong), Error);
    }
  }
}

TEST(ModelRegistry, UnknownNameListsValidNames) {
  try {
    find_model("no_such_model");
    FAIL() << "expected an error";
  } catch (const UnknownNameError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no_such_model"), std::string::npos);
    for (const ModelEntry& entry : model_registry()) EXPECT_NE(what.find(entry.name), std::string::npos) << what;
  }
  auto config = make_model_config("mlp");
  config->name = "nope";
  EXPECT_THROW(build_model(*config, ModelDims{}), UnknownNameError);
}

TEST(ModelRegistry, DefaultConfigsRoundTripThroughYaml) {
  for (const ModelEntry& e : model_registry()) {
    auto config = e.make_config();
    const std::string yaml = to_yaml_text(*config);
    auto again = e.make_config();
    again->name.clear();
    apply_yaml_text(*again, yaml, "round trip");
    EXPECT_EQ(to_yaml_text(*again), yaml) << e.name;
    // An unknown key is an error naming it.
    EXPECT_THROW(apply_yaml_text(*again, "no_such_key: 1", "test"), Error) << e.name;
  }
}

TEST(ModelRegistry, BadConfigValuesAreClearErrors) {
  const data::Dataset ds = testing::sweep_dataset();
  const ModelDims dims = model_dims(ds.info, {}, data::Task::kClassification);
  for (const ModelEntry& e : model_registry()) {
    auto config = e.make_config();
    const auto fields = describe(*config);
    if (std::none_of(fields.begin(), fields.end(), [](const ConfigFieldInfo& f) { return f.key == "dropout"; }))
      continue;
    apply_yaml_text(*config, "dropout: 1.5", "test");
    EXPECT_THROW(e.build(*config, dims), Error) << e.name << " accepted dropout 1.5";
  }
  auto gcn = make_model_config("dialogue_gcn");
  apply_yaml_text(*gcn, "rnn: transformer", "test");
  EXPECT_THROW(build_model(*gcn, dims), Error);
}

// Every registered model has a test pinning its default forward against an independent
// recomputation (docs/testing.md). A model added to the registry fails here until its value pin
// exists and is listed, so "shapes and finiteness only" cannot come back for a new model.
TEST(ModelRegistry, EveryModelHasAValuePin) {
  const std::vector<std::pair<std::string, std::string>> pinned = {
      {"bc_lstm", "BcLstm.DefaultForwardEqualsADenseRecomputation"},
      {"cadgl", "Cadgl.DefaultForwardEqualsADenseRecomputation"},
      {"comp", "Comp.DefaultForwardEqualsADenseRecomputationInBothStages"},
      {"dialogue_gcn", "DialogueGcn.DefaultForwardEqualsADenseRecomputation"},
      {"gcnet", "Gcnet.DefaultForwardEqualsADenseRecomputation"},
      {"graphsmile", "GraphSmile.DefaultForwardWithAllThreeModalitiesEqualsADenseRecomputation"},
      {"hrg_ssa", "HrgSsa.DefaultForwardEqualsADenseRecomputation"},
      {"m3net", "M3net.DefaultForwardEqualsADenseRecomputation"},
      {"mlp", "Mlp.DefaultForwardEqualsADenseRecomputation"},
      {"mmgcn", "Mmgcn.DefaultForwardWithAllThreeModalitiesEqualsADenseRecomputation"},
      {"moed", "MoedForward.DefaultForwardEqualsADenseRecomputation"},
      {"momke", "Momke.DefaultForwardEqualsADenseRecomputationInBothStages"},
      {"rohydr", "Rohydr.DefaultForwardEqualsADenseRecomputation"},
  };
  std::set<std::string> registered_tests;
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i)
    for (int j = 0; j < unit.GetTestSuite(i)->total_test_count(); ++j)
      registered_tests.insert(std::string(unit.GetTestSuite(i)->name()) + "." +
                              unit.GetTestSuite(i)->GetTestInfo(j)->name());
  std::set<std::string> with_pin;
  for (const auto& [model, test] : pinned) {
    with_pin.insert(model);
    EXPECT_TRUE(registered_tests.count(test)) << model << ": its value pin " << test << " is not in this executable";
  }
  for (const ModelEntry& e : model_registry())
    EXPECT_TRUE(with_pin.count(e.name)) << "model '" << e.name << "' has no value pin (docs/testing.md)";
}

}  // namespace
}  // namespace merc::models
