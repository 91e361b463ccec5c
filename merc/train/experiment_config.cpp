#include "merc/train/experiment_config.h"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "merc/core/error.h"
#include "merc/models/registry.h"

namespace merc::train {

namespace fs = std::filesystem;

void DataConfig::visit(FieldVisitor& v) {
  v.field("path", path, "dataset file or directory (any supported format); empty = embedded CMU-MOSI");
  v.field("format", format, "dataset format; empty = detect (see `merc data list-formats`)");
  v.field("split", split, "split scheme (e.g. standard, poria); empty = the dataset's default");
  v.field("features", features,
          "per-utterance feature folders MODALITY=DIR (GCNet layout) and semantic=DIR (semantic vectors, any format)");
  v.field("carve_valid", carve_valid, "carve this fraction of train dialogues into 'valid' when a split has none");
  v.field("split_seed", split_seed, "seed for carve_valid");
  v.field("loso", loso, "add IEMOCAP leave-one-session-out split schemes loso-1..loso-5");
  v.field("sequences", sequences,
          "keep per-utterance sequences where the format has them (MMSA); averaging stays the default");
  v.field("task", task, "auto | classification | regression (auto = the dataset's task)");
  v.field("featurize_text", featurize_text, "text feature dims for transcript-only data (fit on train)");
  v.field("preset", preset, "dataset preset configs/datasets/<preset>.yaml, layered under the model preset");
}

void TrainConfig::visit(FieldVisitor& v) {
  v.field("epochs", epochs, "number of training epochs");
  v.field("seed", seed, "seed for initialisation, shuffling, dropout and (by default) missing-modality masks");
  v.field("batch_size", batch_size, "dialogues per batch");
  v.field("lr", lr, "learning rate");
  v.field("optimizer", optimizer, "adam | adamw | sgd");
  v.field("weight_decay", weight_decay, "weight decay (L2 for adam/sgd, decoupled for adamw)");
  v.field("momentum", momentum, "sgd momentum");
  v.field("scheduler", scheduler, "none | step | cosine | plateau");
  v.field("step_size", step_size, "step: epochs between decays");
  v.field("gamma", gamma, "step/plateau: multiply the lr by this at each decay");
  v.field("plateau_patience", plateau_patience, "plateau: epochs without improvement before a decay");
  v.field("min_lr", min_lr, "cosine/plateau: lower bound of the lr");
  v.field("warmup_epochs", warmup_epochs, "linear warm-up epochs before the schedule");
  v.field("warmup_ratio", warmup_ratio,
          "warm-up over this fraction of the epochs (of each stage with schedule_per_stage), floored, as "
          "Hugging Face's warmup_ratio; exclusive with warmup_epochs");
  v.field("schedule_per_stage", schedule_per_stage,
          "restart the lr schedule, warm-up included, at each stage of a multi-stage model (HRG-SSA's two phases, "
          "each with a fresh optimizer and its own linear schedule)");
  v.field("clip_norm", clip_norm, "> 0: clip the global gradient norm to this");
  v.field("clip_value", clip_value, "> 0: clip every gradient element to [-v, v]");
  v.field("early_stopping", early_stopping, "> 0: stop after this many epochs without improvement");
  v.field("metric", metric, "selection metric (auto = weighted_f1 for classification, mae for regression)");
  v.field("loss", loss, "task loss (auto = cross_entropy or mse; see `merc list losses`)");
  v.field("class_weights", class_weights,
          "per-class weights of classification losses, one per class in label order (empty = none; weighted mean "
          "as torch NLLLoss(weight))");
  v.field("focal_gamma", focal_gamma, "focal_moed loss: gamma");
  v.field("focal_alpha", focal_alpha, "focal_moed loss: alpha");
  v.field("threads", threads, "torch intra-op threads (metrics are reproducible for a fixed count)");
  v.field("device", device, "cpu | cuda | cuda:N");
  v.field("shuffle", shuffle, "shuffle training dialogues every epoch");
  v.field("progress", progress, "auto | bar | log | none");
  v.field("init_from", init_from,
          "start a fresh run from these weights (not on --resume): a merc run directory or model.pt, or with "
          "init_names upstream an authors' torch.save state_dict; empty = the model's own initialisation");
  v.field("init_names", init_names,
          "names in init_from: merc (merc's own, model.pt) | upstream (the reference code's, read through the "
          "model's upstream name table)");
}

void ProtocolConfig::visit(FieldVisitor& v) {
  v.field("train", train, "missing-modality protocol for training (complete, fixed:at, random:0.3, ...)");
  v.field("test", test, "missing-modality protocol for validation and test");
  v.field("redraw", redraw, "training masks: per_batch (new every batch) | fixed (per dialogue, every epoch)");
  v.field("test_redraw", test_redraw, "evaluation masks: fixed (per dialogue, same every evaluation) | per_batch (new every batch and every evaluation, as published)");
  v.field("seed", seed, "mask seed; -1 = train.seed");
  v.field("from_stage", from_stage,
          "protocols apply (and epochs are selectable) only from this model stage on; 0 = always");
}

ExperimentConfig::ExperimentConfig() : model(models::make_model_config(kDefaultModel)) {}

ExperimentConfig::ExperimentConfig(const ExperimentConfig& other) { *this = other; }

ExperimentConfig& ExperimentConfig::operator=(const ExperimentConfig& other) {
  if (this == &other) return *this;
  // Model configs are polymorphic: copy through their YAML form (exact: doubles are written
  // round-trip).
  data = other.data;
  train = other.train;
  protocol = other.protocol;
  selection = other.selection;
  model = models::make_model_config(other.model->name);
  YAML::Node node = YAML::Load(to_yaml_text(*other.model));
  apply_yaml(*model, node, "copy of model config");
  return *this;
}

void ExperimentConfig::visit(FieldVisitor& v) {
  v.section("data", data, "which dataset and split");
  v.section("model", *model, "model name and its hyper-parameters");
  v.section("train", train, "optimisation");
  v.section("protocol", protocol, "missing-modality protocols");
  v.field("selection", selection, "model selection: validation | test-max (published protocol, selects on test)");
}

void ExperimentConfig::resolve_sections(const YAML::Node& node) {
  const YAML::Node m = node["model"];
  if (!m || !m.IsMap()) return;
  const YAML::Node name = m["name"];
  if (!name || !name.IsScalar()) return;
  const std::string wanted = name.Scalar();
  if (wanted != model->name) model = models::make_model_config(wanted);  // unknown -> lists names
}

void ExperimentConfig::validate() const {
  MERC_CHECK(selection == "validation" || selection == "test-max",
             "selection: expected 'validation' or 'test-max', got '{}'", selection);
  MERC_CHECK(data.task == "auto" || data.task == "classification" || data.task == "regression",
             "data.task: expected auto, classification or regression, got '{}'", data.task);
  MERC_CHECK(train.epochs >= 1, "train.epochs must be >= 1, got {}", train.epochs);
  MERC_CHECK(train.batch_size >= 1, "train.batch_size must be >= 1, got {}", train.batch_size);
  MERC_CHECK(train.lr > 0, "train.lr must be > 0, got {}", train.lr);
  MERC_CHECK(train.threads >= 0 && train.threads <= 256, "train.threads must be in [0, 256], got {}", train.threads);
  MERC_CHECK(train.clip_norm >= 0 && train.clip_value >= 0, "train.clip_norm and train.clip_value must be >= 0");
  MERC_CHECK(train.progress == "auto" || train.progress == "bar" || train.progress == "log" || train.progress == "none",
             "train.progress: expected auto, bar, log or none, got '{}'", train.progress);
  MERC_CHECK(train.init_names == "merc" || train.init_names == "upstream",
             "train.init_names: expected merc or upstream, got '{}'", train.init_names);
  for (const std::string* r : {&protocol.redraw, &protocol.test_redraw})
    MERC_CHECK(*r == "per_batch" || *r == "fixed", "protocol redraw: expected per_batch or fixed, got '{}'", *r);
  MERC_CHECK(protocol.from_stage >= 0, "protocol.from_stage must be >= 0, got {}", protocol.from_stage);
  MERC_CHECK(data.carve_valid >= 0 && data.carve_valid < 0.9, "data.carve_valid must be in [0, 0.9), got {}",
             data.carve_valid);
}

uint64_t ExperimentConfig::protocol_seed() const {
  return static_cast<uint64_t>(protocol.seed >= 0 ? protocol.seed : train.seed);
}

std::string default_config_dir() {
  if (const char* env = std::getenv("MERC_CONFIG_DIR"); env && *env) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& p : {exe.parent_path() / ".." / "share" / "merc" / "configs", exe.parent_path() / ".." / "configs",
                              exe.parent_path() / ".." / ".." / "configs"}) {
      if (fs::is_directory(p / "models", ec)) return fs::weakly_canonical(p, ec).string();
    }
  }
#ifdef MERC_SOURCE_DIR
  if (fs::is_directory(fs::path(MERC_SOURCE_DIR) / "configs", ec)) return (fs::path(MERC_SOURCE_DIR) / "configs").string();
#endif
  return "";
}

namespace {

// Value of a dotted key in the last layer that names it ("" if none).
std::string peek(const std::vector<YAML::Node>& layers, const char* section, const char* key) {
  std::string out;
  for (const auto& l : layers) {
    if (!l.IsMap()) continue;
    const YAML::Node s = l[section];
    if (s && s.IsMap() && s[key] && s[key].IsScalar()) out = s[key].Scalar();
  }
  return out;
}

}  // namespace

ExperimentConfig resolve_config(const ConfigLayers& layers, std::vector<std::string>* sources) {
  // Read the user's layers first: they decide which presets apply.
  std::vector<YAML::Node> user;
  std::vector<std::string> user_sources;
  if (!layers.experiment_file.empty()) {
    user.push_back(read_yaml_file(layers.experiment_file));
    user_sources.push_back(layers.experiment_file);
  }
  for (const auto& o : layers.overrides) {
    user.push_back(override_to_yaml(o));
    user_sources.push_back("--set " + o);
  }
  const std::string dir = layers.config_dir.empty() ? default_config_dir() : layers.config_dir;

  ExperimentConfig config;
  auto apply_file = [&](const std::string& path) {
    apply_yaml(config, read_yaml_file(path), path);
    if (sources) sources->push_back(path);
  };
  std::string preset = peek(user, "data", "preset");
  if (!preset.empty()) {
    const fs::path p = fs::path(dir) / "datasets" / (preset + ".yaml");
    if (dir.empty() || !fs::exists(p))
      throw Error(fmt::format("data.preset '{}': no file {} (config dir: '{}')", preset, p.string(), dir));
    apply_file(p.string());
  }
  std::string model_name = peek(user, "model", "name");
  if (model_name.empty()) model_name = config.model->name;
  models::find_model(model_name);  // unknown -> error listing names, before anything else
  if (!dir.empty()) {
    const fs::path p = fs::path(dir) / "models" / (model_name + ".yaml");
    if (fs::exists(p)) apply_file(p.string());
  }
  for (size_t i = 0; i < user.size(); ++i) {
    // A layer written for another model (e.g. an experiment file for bc_lstm run with
    // --set model.name=mlp) keeps its data/train/protocol keys; its model section does not apply.
    YAML::Node m = user[i].IsMap() ? user[i]["model"] : YAML::Node();
    if (m && m.IsMap() && m["name"] && m["name"].IsScalar() && m["name"].Scalar() != model_name) {
      spdlog::warn("{}: its model section is for '{}' and is ignored (the run's model is '{}')", user_sources[i],
                   m["name"].Scalar(), model_name);
      user[i].remove("model");
    }
    apply_yaml(config, user[i], user_sources[i]);
    if (sources) sources->push_back(user_sources[i]);
  }
  config.validate();
  return config;
}

ExperimentConfig load_config_file(const std::string& path) {
  ExperimentConfig config;
  apply_yaml(config, read_yaml_file(path), path);
  config.validate();
  return config;
}

namespace experiment_config_detail {

bool is_true(const YAML::Node& n) {
  if (!n.IsScalar()) return false;
  const std::string v = n.Scalar();
  return v == "true" || v == "True" || v == "TRUE" || v == "yes" || v == "on" || v == "1";
}

void collect_gold(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& out) {
  if (!node.IsMap()) return;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (kv.second.IsMap()) {
      collect_gold(kv.second, path, out);
    } else if (key.find("gold") != std::string::npos && is_true(kv.second)) {
      out.push_back(path);
    } else if (key.find("history") != std::string::npos && kv.second.IsScalar() && kv.second.Scalar() == "gold") {
      out.push_back(path + "=gold");
    }
  }
}

}  // namespace experiment_config_detail

std::vector<std::string> gold_history_switches(const YAML::Node& config) {
  std::vector<std::string> out;
  experiment_config_detail::collect_gold(config, "", out);
  return out;
}

std::vector<std::string> gold_history_switches(const ExperimentConfig& config) {
  return gold_history_switches(parse_yaml(to_yaml_text(config), "config"));
}

std::string input_leak_note(const ExperimentConfig& config) {
  const std::vector<std::string> keys = gold_history_switches(config);
  if (keys.empty()) return "";
  return fmt::format("gold history: test labels leak into the input ({})", fmt::join(keys, ", "));
}

}  // namespace merc::train
