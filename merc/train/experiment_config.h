#pragma once
// The experiment config: everything a `merc train` run needs, as one typed tree with the key
// groups of the interface contract: data.*, model.* (model.name picks the model's own fields),
// train.*, protocol.train / protocol.test, selection.
//
// Layering (design.md): code defaults <- dataset preset (configs/datasets/<data.preset>.yaml) <-
// model preset (configs/models/<model.name>.yaml) <- experiment file <- `--set`.

#include <memory>
#include <string>
#include <vector>

#include "merc/core/config.h"
#include "merc/train/losses.h"
#include "merc/models/model.h"

namespace merc::train {

struct DataConfig : ConfigStruct {
  std::string path;                   // empty = the embedded default (CMU-MOSI)
  std::string format;                 // empty = detect
  std::string split;                  // split scheme; empty = the dataset's default
  std::vector<std::string> features;  // MODALITY=DIR feature folders (GCNet layout), semantic=DIR
  double carve_valid = 0.0;           // carve this fraction of train into "valid" when none exists
  int64_t split_seed = 0;
  bool loso = false;                  // add IEMOCAP leave-one-session-out schemes
  bool sequences = false;             // keep per-utterance sequences (ReadOptions::keep_sequences)
  std::string task = "auto";          // auto | classification | regression
  int64_t featurize_text = 100;       // dims for transcript-only data (featurizer fit on train)
  std::string preset;                 // name of configs/datasets/<preset>.yaml (layered first)
  void visit(FieldVisitor& v) override;
};

struct TrainConfig : ConfigStruct {
  int64_t epochs = 30;
  int64_t seed = 1;
  int64_t batch_size = 16;  // dialogues per batch
  double lr = 1e-3;
  std::string optimizer = "adam";  // adam | adamw | sgd
  double weight_decay = 0.0;
  double momentum = 0.9;           // sgd only
  std::string scheduler = "none";  // none | step | cosine | plateau
  int64_t step_size = 10;          // step: epochs between decays
  double gamma = 0.5;              // step / plateau: decay factor
  int64_t plateau_patience = 3;    // plateau: epochs without improvement before a decay
  double min_lr = 0.0;             // cosine floor / plateau floor
  int64_t warmup_epochs = 0;       // linear warm-up from lr/(warmup+1) to lr
  double warmup_ratio = 0.0;       // or: warm-up over this fraction of the epochs (of each stage), floored
  bool schedule_per_stage = false; // restart the schedule (warm-up included) at each model stage
  double clip_norm = 0.0;          // > 0: clip the global gradient norm
  double clip_value = 0.0;         // > 0: clip each gradient element to [-v, v]
  int64_t early_stopping = 0;      // > 0: stop after this many epochs without improvement
  std::string metric = "auto";     // selection metric; auto = weighted_f1 (classification) or mae
  std::string loss = "auto";       // auto = cross_entropy (classification) or mse (regression)
  std::vector<double> class_weights;  // per-class loss weights (empty = none); see LossOptions
  double focal_gamma = 2.5;        // focal_moed only
  double focal_alpha = 1.0;        // focal_moed only
  int64_t threads = 1;             // torch intra-op threads (results reproducible per thread count)
  std::string device = "cpu";      // cpu | cuda | cuda:N
  bool shuffle = true;
  std::string progress = "auto";   // auto (bar on a TTY) | bar | log | none
  std::string init_from;           // weights a fresh run starts from (init_weights.h); empty = none
  std::string init_names = "merc";  // merc (a run dir / model.pt) | upstream (a .pth via the name table)
  void visit(FieldVisitor& v) override;
  LossOptions loss_options() const { return LossOptions{class_weights, focal_gamma, focal_alpha}; }
};

struct ProtocolConfig : ConfigStruct {
  std::string train = "complete";  // missing-modality protocol for training batches
  std::string test = "complete";   // ... for validation and test evaluation
  std::string redraw = "per_batch";      // train masks: per_batch | fixed
  // eval masks: fixed = per dialogue, the same in every evaluation (merc's default: selection is
  // not steered by mask noise); per_batch = new every batch and every epoch's evaluation, as the
  // published scripts draw them (EvalOptions::fixed_masks).
  std::string test_redraw = "fixed";
  int64_t seed = -1;               // -1 = train.seed
  // Stage gate for both protocols (MoMKE, method_reference.md §2.4b: all modalities present during
  // stage 1): while the model's stage (Model::stage_for_epoch) is < from_stage, no mask is applied
  // to training or evaluation batches, and model selection considers only epochs whose stage is
  // >= from_stage. 0 = the protocols apply from the first epoch (every single-stage model).
  int64_t from_stage = 0;
  void visit(FieldVisitor& v) override;
};

struct ExperimentConfig : ConfigStruct {
  DataConfig data;
  std::unique_ptr<models::ModelConfig> model;  // never null; type follows model.name
  TrainConfig train;
  ProtocolConfig protocol;
  std::string selection = "validation";  // validation | test-max

  ExperimentConfig();  // model = the default model's default config
  ExperimentConfig(const ExperimentConfig& other);
  ExperimentConfig& operator=(const ExperimentConfig& other);
  void visit(FieldVisitor& v) override;
  // Swaps `model` for the named model's default config when the layer names another model.
  void resolve_sections(const YAML::Node& node) override;
  // Semantic checks after all layers (selection value, known optimizer, ...); merc::Error.
  void validate() const;
  bool test_max() const { return selection == "test-max"; }
  uint64_t protocol_seed() const;
};

// Config switches that put gold labels of the evaluated data into the model's inputs ("gold
// history"), as dotted keys: a key with "gold" in its name set true (e.g. a gold_label_history
// flag), or a key with "history" in its name set to "gold" (hrg_ssa's model.label_history=gold, the
// release's evaluation). Empty = none.
std::vector<std::string> gold_history_switches(const ExperimentConfig& config);
// The same scan over a config's YAML (any nesting).
std::vector<std::string> gold_history_switches(const YAML::Node& config);
// "" or "gold history: test labels leak into the input (<switches>)": the mark every output of such
// a run carries, as test-max runs carry theirs.
std::string input_leak_note(const ExperimentConfig& config);

inline constexpr const char* kDefaultModel = "bc_lstm";

// Where presets live: MERC_CONFIG_DIR, else <exe>/../share/merc/configs, <exe>/../configs, else the
// source tree's configs/. Empty when none exists.
std::string default_config_dir();

struct ConfigLayers {
  std::string config_dir;            // presets; empty = default_config_dir()
  std::string experiment_file;       // may be empty
  std::vector<std::string> overrides;  // "a.b=c"
};

// Builds the resolved config: defaults <- dataset preset <- model preset <- experiment <- --set.
// `sources` (optional) receives the files applied, in order.
ExperimentConfig resolve_config(const ConfigLayers& layers, std::vector<std::string>* sources = nullptr);

// Reads a saved config.yaml (as written in a run directory) exactly, without presets.
ExperimentConfig load_config_file(const std::string& path);

}  // namespace merc::train
