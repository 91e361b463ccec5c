#include "merc/models/registry.h"

#include "merc/core/registry.h"
#include "merc/models/bc_lstm.h"
#include "merc/models/comp.h"
#include "merc/models/dialogue_gcn.h"
#include "merc/models/mlp.h"
#include "merc/models/momke.h"

namespace merc::models {

namespace {
// The config a builder received, as the type its model needs; another model's config -> Error.
template <class Config>
const Config& config_as(const ModelConfig& config, const char* model) {
  const auto* typed = dynamic_cast<const Config*>(&config);
  MERC_CHECK(typed != nullptr, "model '{}' cannot be built from a config of model '{}' (a different config type)",
             model, config.name);
  return *typed;
}

template <class Config>
Config& config_as(ModelConfig& config, const char* model) {
  auto* typed = dynamic_cast<Config*>(&config);
  MERC_CHECK(typed != nullptr, "model '{}' cannot shrink a config of model '{}' (a different config type)", model,
             config.name);
  return *typed;
}

// One row for model class M with config C.
template <class M, class C>
ModelEntry model_row(const char* name, const char* description, std::function<void(C&)> tiny) {
  ModelEntry e;
  e.name = name;
  e.description = description;
  e.make_config = [name] {
    auto c = std::make_unique<C>();
    c->name = name;
    return std::unique_ptr<ModelConfig>(std::move(c));
  };
  e.build = [name](const ModelConfig& config, const ModelDims& dims) -> std::shared_ptr<Model> {
    return std::make_shared<M>(config_as<C>(config, name), dims);
  };
  e.make_tiny = [name, tiny](ModelConfig& config) { tiny(config_as<C>(config, name)); };
  return e;
}
}  // namespace

const std::vector<ModelEntry>& model_registry() {
  // THE table of models. Add a row per model (name, description, config factory, builder, tiny).
  static const std::vector<ModelEntry> table = registry_checked(
      std::vector<ModelEntry>{
          model_row<MlpModel, MlpConfig>("mlp", "utterance-level early-fusion MLP, no context (baseline)",
                                         [](MlpConfig& c) {
                                           c.hidden_dim = 6;
                                           c.num_layers = 2;
                                         }),
          model_row<BcLstmModel, BcLstmConfig>(
              "bc_lstm", "bc-LSTM: contextual BiLSTM per modality + hierarchical fusion (Poria et al., ACL 2017)",
              [](BcLstmConfig& c) {
                c.hidden_dim = 4;
                c.unimodal_dim = 3;
                c.fusion_dim = 5;
              }),
          model_row<DialogueGcnModel, DialogueGcnConfig>(
              "dialogue_gcn",
              "DialogueGCN: BiGRU context + speaker-relational graph over a window (Ghosal et al., EMNLP 2019)",
              [](DialogueGcnConfig& c) {
                c.proj_dim = 5;
                c.hidden_dim = 3;
                c.window_past = 2;
                c.window_future = 1;
                c.graph_hidden_dim = 4;
                c.num_bases = 3;
                c.classifier_hidden_dim = 4;
              }),
          model_row<CompModel, CompConfig>(
              "comp",
              "ComP: cross-modal prompting + gradient modulator for incomplete modalities (He et al., AAAI 2026)",
              [](CompConfig& c) {
                c.hidden_dim = 4;
                c.depth = 2;
                c.num_heads = 2;
                c.prompt_dim = 3;
                c.num_prototypes = 2;
                c.seq_len = 6;
              }),
          model_row<MomkeModel, MomkeConfig>(
              "momke",
              "MoMKE: modality knowledge experts (masked attention) mixed by per-modality routers, two-stage "
              "(Xu et al., ACM MM 2024)",
              [](MomkeConfig& c) {
                c.hidden_dim = 4;
                c.depth = 2;
                c.num_heads = 2;
                c.stage_epoch = 1;
              }),
      },
      "model");
  return table;
}

const ModelEntry& find_model(const std::string& name) { return registry_find(model_registry(), name, "model"); }

std::unique_ptr<ModelConfig> make_model_config(const std::string& name) {
  auto config = find_model(name).make_config();
  config->name = name;
  return config;
}

std::shared_ptr<Model> build_model(const ModelConfig& config, const ModelDims& dims) {
  return find_model(config.name).build(config, dims);
}

}  // namespace merc::models
