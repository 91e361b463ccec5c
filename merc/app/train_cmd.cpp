#include "merc/app/train_cmd.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "merc/app/data_cmd.h"
#include "merc/app/eval_outputs.h"
#include "merc/app/overhead_cmd.h"
#include "merc/app/run_dir.h"
#include "merc/app/run_predictions.h"
#include "merc/app/scenario_table.h"
#include "merc/core/error.h"
#include "merc/data/text_featurizer.h"
#include "merc/io/binary_file.h"
#include "merc/models/registry.h"
#include "merc/train/checkpoint.h"
#include "merc/train/evaluate.h"
#include "merc/train/run_data.h"
#include "merc/train/runners.h"
#include "merc/train/trainer.h"

namespace merc::app {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

bool has_any_features(const data::Dataset& ds) {
  for (int64_t d : ds.info.modality_dims)
    if (d > 0) return true;
  return false;
}

std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

void print_metrics_line(std::ostream& out, const char* part, const metrics::MetricValues& m) {
  if (m.empty()) return;
  out << fmt::format("  {:<5}", part);
  for (const auto& [name, value] : m) out << fmt::format(" {} {:.4g}", name, value);
  out << "\n";
}

void print_train_result(std::ostream& out, const train::TrainResult& r, const std::string& dir) {
  out << fmt::format("finished: best epoch {} of {} (selection: {})\n", r.best_epoch, r.epochs_run, r.selection);
  print_metrics_line(out, "valid", r.valid);
  print_metrics_line(out, "test", r.test);
  out << "run directory: " << dir << "\n";
}

// Featurized transcripts are unit-norm TF-IDF rows projected on `dim` orthonormal components, so a
// train row keeps on average the fraction r = explained_variance_ratio of its (unit) energy: the
// per-dimension RMS is sqrt(r / dim), about 0.06 for MELD at 100 dims. Networks with the usual
// initialisation and learning rates barely move on inputs that small (all three models collapsed
// to the majority class on MELD), so the features are scaled by sqrt(dim / r) to unit RMS on train.
// The factor is a function of the saved featurizer state, so eval and predict apply the same one.
void scale_text_features(data::Dataset& ds, const data::TextFeaturizer& f) {
  const double r = f.explained_variance_ratio();
  if (!(r > 0)) return;
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(f.dim()) / r));
  for (auto& d : ds.dialogues)
    for (float& v : d.features[data::index_of(data::Modality::kText)].values) v *= scale;
}

}  // namespace

train::ExperimentConfig resolve_experiment(const ConfigArgs& args, std::ostream* out) {
  train::ConfigLayers layers;
  layers.config_dir = args.config_dir;
  layers.experiment_file = args.config_file;
  layers.overrides = args.overrides;
  if (!args.data.empty()) layers.overrides.push_back("data.path=" + args.data);
  if (!args.split.empty()) layers.overrides.push_back("data.split=" + args.split);
  if (args.threads >= 0) layers.overrides.push_back("train.threads=" + std::to_string(args.threads));
  if (!args.device.empty()) layers.overrides.push_back("train.device=" + args.device);
  std::vector<std::string> sources;
  train::ExperimentConfig config = train::resolve_config(layers, &sources);
  if (out) {
    *out << "resolved config (defaults";
    for (const auto& s : sources) *out << " <- " << s;
    *out << "):\n" << to_yaml_text(config);
  }
  return config;
}

data::Dataset load_experiment_dataset(const train::DataConfig& config, const std::string& featurizer_in,
                                      const std::string& featurizer_out) {
  DataSource src;
  src.path = config.path;
  src.format = config.format;
  src.features = config.features;
  src.loso = config.loso;
  src.sequences = config.sequences;
  data::Dataset ds = load_dataset(src);  // carving happens per run (train::select_partitions)
  if (has_any_features(ds)) return ds;
  // Transcript-only data: featurize with the featurizer of the run, or fit one on train.
  if (!featurizer_in.empty() && featurizer_out.empty()) {
    // eval / predict / resume: the run's own featurizer or nothing (a refit would give other features).
    MERC_CHECK(fs::exists(featurizer_in), "dataset '{}' has transcripts only and the run has no {} to featurize "
               "them as in training", ds.info.name, featurizer_in);
  }
  if (!featurizer_in.empty() && fs::exists(featurizer_in)) {
    const data::TextFeaturizer f = data::TextFeaturizer::load(featurizer_in);
    data::featurize_dataset_text(ds, f);
    scale_text_features(ds, f);
    return ds;
  }
  MERC_CHECK(config.featurize_text > 0, "dataset '{}' has no features and data.featurize_text is 0", ds.info.name);
  data::TextFeaturizerOptions opts;
  opts.dim = config.featurize_text;
  const data::TextFeaturizer f = data::fit_on_partition(ds, opts, "train", config.split);
  scale_text_features(ds, f);
  spdlog::info("{}: transcript features fitted on the train split ({} dims)", ds.info.name, f.dim());
  if (!featurizer_out.empty()) {
    fs::create_directories(fs::path(featurizer_out).parent_path());
    f.save(featurizer_out);
  }
  return ds;
}

int run_train(const TrainArgs& args, std::ostream& out) {
  if (!args.resume.empty()) {
    // The run's own config is authoritative; only the dataset is re-read.
    const std::string dir = args.resume;
    const train::CheckpointHeader h = train::read_checkpoint_header((fs::path(dir) / "checkpoint.pt").string());
    train::ExperimentConfig config;
    apply_yaml_text(config, h.config_yaml, dir + "/checkpoint.pt (config)");
    out << "resuming with the run's config:\n" << to_yaml_text(config);
    const std::string feat = (fs::path(dir) / kFeaturizerFile).string();
    const data::Dataset ds = load_experiment_dataset(config.data, feat, "");
    train::TrainOptions opts;
    opts.out_dir = dir;
    opts.resume = true;
    opts.log = &out;
    print_train_result(out, train::train_model(config, ds, opts), dir);
    return 0;
  }
  train::ExperimentConfig config = resolve_experiment(args.config, args.print_config ? &out : nullptr);
  if (args.print_config) return 0;
  const std::string dir = args.out.empty() ? fmt::format("runs/{}-{}", config.model->name, timestamp()) : args.out;
  out << "resolved config:\n" << to_yaml_text(config);
  // Before anything is written into DIR (a featurizer fitted now would replace the old run's).
  MERC_CHECK(!args.folds.empty() || !fs::exists(fs::path(dir) / "checkpoint.pt"),
             "{} already holds a run (checkpoint.pt); use --resume to continue it or choose another --out", dir);
  const std::string feat = (fs::path(dir) / kFeaturizerFile).string();
  const data::Dataset ds = load_experiment_dataset(config.data, "", feat);
  if (!args.folds.empty()) {
    MERC_CHECK(!fs::exists(feat), "--folds on transcript-only data is not supported: the text featurizer would "
               "have to be fitted on each fold's train partition (it was fitted on split '{}')", config.data.split);
    const train::RunTable t = train::run_folds(config, ds, args.folds, dir, &out);
    out << train::markdown_summary(t) << "results: " << dir << "/results.{csv,json,md}\n";
    return 0;
  }
  train::TrainOptions opts;
  opts.out_dir = dir;
  opts.log = &out;
  print_train_result(out, train::train_model(config, ds, opts), dir);
  return 0;
}

namespace {

// A protocol spec as a directory name: "random:0.3" -> "random_0.3".
std::string export_dir_name(const std::string& protocol) {
  std::string s = protocol;
  for (char& c : s)
    if (c == ':' || c == '/') c = '_';
  return s;
}

}  // namespace

int run_eval(const EvalArgs& args, std::ostream& out) {
  if (args.overhead) return run_eval_overhead(args, out);
  LoadedRun run = load_run(args.run, args.threads, args.device);
  train::ExperimentConfig& config = run.config;
  if (!args.data.empty()) config.data.path = args.data;
  std::string partition = args.partition;
  const data::Dataset ds = [&] {
    train::DataConfig dc = config.data;
    if (!args.split.empty()) dc.split = args.split;
    data::Dataset d = load_experiment_dataset(dc, run_featurizer_path(args.run), "");
    // `--split test` (issue wording) names a partition when the dataset has no scheme of that name.
    const bool is_scheme = std::any_of(d.split_schemes.begin(), d.split_schemes.end(),
                                       [&](const data::SplitScheme& s) { return s.name == args.split; });
    if (!args.split.empty() && !is_scheme &&
        (args.split == "train" || args.split == "valid" || args.split == "test" || args.split == "dev")) {
      partition = args.split == "dev" ? "valid" : args.split;
    } else if (!args.split.empty()) {
      config.data.split = args.split;
    }
    return d;
  }();
  const train::RunData rd = train::select_partitions(ds, config, /*require_valid=*/false);
  const models::ModelDims dims = models::model_dims(ds.info, config.model->modalities, rd.task);
  MERC_CHECK(dims == run.dims, "the dataset gives model dims '{}' but the run was trained with '{}'", dims.describe(),
             run.dims.describe());
  const std::vector<const data::Dialogue*>* part = &pick_partition(rd, args.run, partition);
  // --scenarios: CADGL's scenarios the run can be evaluated under, first, then any explicit --protocol.
  const ScenarioPlan plan = args.scenarios ? plan_scenarios(run.dims.use) : ScenarioPlan{};
  std::vector<std::string> protocols = args.scenarios ? scenario_protocols(plan, args.protocols) : args.protocols;
  if (protocols.empty()) protocols.push_back(config.protocol.test);
  const train::TaskLoss loss = train::find_loss(config.train.loss, rd.task, config.train.loss_options());
  const std::string selection = train::selection_label(config);
  ordered_json results = ordered_json::array();
  std::vector<std::pair<std::string, metrics::MetricValues>> rows;
  const bool cls = rd.task == data::Task::kClassification;
  MERC_CHECK(!args.inertia || cls, "--inertia needs a classification run (this one is {})", data::task_name(rd.task));
  MERC_CHECK(!cls || static_cast<int64_t>(run.class_names.size()) == dims.num_classes,
             "{}/model.pt lists {} class names for {} classes", args.run, run.class_names.size(), dims.num_classes);
  std::string details;  // reports, confusion matrices and inertia analyses, printed after the table
  for (const auto& p : protocols) {
    train::EvalOptions o = train::evaluation_options(config, train::resolve_device(config.train.device));
    o.protocol = p;
    o.partition = part == &rd.test ? "test" : part == &rd.valid ? "valid" : "train";
    o.keep_predictions = cls || !args.export_dir.empty();
    o.keep_features = !args.export_dir.empty();
    o.epoch = run.epoch - 1;
    o.stage = run.stage;
    const train::EvalResult r = train::evaluate(*run.model, *part, ds.info, dims, loss, o);
    ordered_json entry = {
        {"protocol", p}, {"utterances", r.utterances}, {"loss", r.loss}, {"metrics", train::metrics_to_json(r.metrics)}};
    if (cls) {
      const metrics::ClassificationReport report = prediction_report(r.predictions, dims.num_classes);
      entry["report"] = report_json(report, run.class_names);
      details += fmt::format("\n== {} ==\n{}", p, report_text(report, run.class_names));
      if (args.inertia) {
        const InertiaAnalysis a = inertia_analysis(r.predictions, dims.num_classes);
        entry["inertia"] = inertia_json(a);
        details += "\n" + inertia_text(a, run.class_names);
      }
    }
    if (!args.export_dir.empty()) {
      const std::string dir =
          protocols.size() == 1 ? args.export_dir : (fs::path(args.export_dir) / export_dir_name(p)).string();
      const std::vector<std::string> files = export_analysis(dir, r, rd.task, run.class_names);
      entry["export"] = {{"dir", dir}, {"files", files}};
      details += fmt::format("\nexported {} utterances of protocol {} to {}: {}\n", r.predictions.size(), p, dir,
                             fmt::join(files, ", "));
    }
    results.push_back(std::move(entry));
    rows.emplace_back(p, r.metrics);
  }
  // scenario_protocols puts the plan's scenarios first, in order: rows[i] is plan.scenarios[i].
  std::vector<std::pair<Scenario, metrics::MetricValues>> scenario_rows;
  for (size_t i = 0; i < plan.scenarios.size(); ++i) scenario_rows.emplace_back(plan.scenarios[i], rows[i].second);
  const std::vector<ScenarioGroup> summary =
      args.scenarios ? summarize_scenarios(scenario_rows) : std::vector<ScenarioGroup>{};
  if (args.json) {
    ordered_json j = {{"run", args.run},          {"selection", config.test_max() ? "test-max" : "validation"},
                      {"selection_note", selection}, {"epoch", run.epoch},
                      {"dataset", ds.info.name},  {"split", rd.scheme.name},  {"partition", partition},
                      {"results", results}};
    if (run.imported) {
      j["selection"] = "imported";
      j["imported"] = {{"checkpoint", run.provenance.checkpoint}, {"sha256", run.provenance.sha256},
                       {"upstream", run.provenance.upstream}};
    }
    if (args.scenarios) j["scenarios"] = scenarios_json(scenario_rows, summary, plan.skipped);
    out << j.dump(2) << "\n";
    return 0;
  }
  out << fmt::format("run {} (epoch {}, selection: {}) on {} split '{}' partition '{}'\n", args.run, run.epoch,
                     run.imported ? "none, " + run.provenance.describe() : selection, ds.info.name, rd.scheme.name,
                     partition);
  out << metric_table("protocol", rows);
  if (args.scenarios) out << "\n" << scenario_summary_text(summary, plan.skipped);
  out << details;
  return 0;
}

int run_predict(const PredictArgs& args, std::ostream& out) {
  MERC_CHECK(!args.out.empty(), "predict: --out FILE is required");
  LoadedRun run = load_run(args.run, args.threads, args.device);
  train::ExperimentConfig& config = run.config;
  if (!args.data.empty()) {
    config.data.path = args.data;
    config.data.format.clear();
  }
  if (!args.split.empty()) config.data.split = args.split;
  const data::Dataset ds = load_experiment_dataset(config.data, run_featurizer_path(args.run), "");
  const data::Task task = run.dims.task;
  models::ModelDims dims = models::model_dims(ds.info, config.model->modalities, task);
  MERC_CHECK(dims.input_dims == run.dims.input_dims && dims.use == run.dims.use,
             "{}: the data gives model inputs '{}' but the run was trained on '{}'", config.data.path, dims.describe(),
             run.dims.describe());
  dims = run.dims;  // classes/speakers as trained
  std::vector<const data::Dialogue*> dialogues;
  if (args.partition.empty()) {
    for (const auto& d : ds.dialogues) dialogues.push_back(&d);
  } else {
    dialogues = ds.partition(args.partition, config.data.split);
  }
  MERC_CHECK(!dialogues.empty(), "predict: no dialogues to predict");
  const train::TaskLoss loss = train::find_loss(config.train.loss, task, config.train.loss_options());
  train::EvalOptions o = train::evaluation_options(config, train::resolve_device(config.train.device));
  o.protocol = args.protocol;
  o.epoch = run.epoch - 1;
  o.stage = run.stage;
  o.fixed_masks = true;  // per-dialogue masks: a row's prediction must not depend on its batch mates
  o.keep_predictions = true;
  o.require_targets = false;  // new data may carry no labels
  // Speaker ids beyond the trained slots would index past the model's speaker tables.
  for (const auto* d : dialogues)
    for (const auto& u : d->utterances)
      MERC_CHECK(u.speaker < dims.num_speakers, "{}: dialogue {} has speaker slot {} but the model was trained with {}",
                 config.data.path, d->id, u.speaker, dims.num_speakers);
  const train::EvalResult r = train::evaluate(*run.model, dialogues, ds.info, dims, loss, o);
  const bool cls = task == data::Task::kClassification;
  if (cls)
    MERC_CHECK(static_cast<int64_t>(run.class_names.size()) == dims.num_classes,
               "{}/model.pt lists {} class names for {} classes", args.run, run.class_names.size(), dims.num_classes);
  // Class names as trained, whatever the new file says.
  const std::string csv = predictions_csv(r.predictions, task, run.class_names, /*with_probabilities=*/true);
  io::write_file_atomically(args.out, csv);
  const std::string origin = run.imported ? run.provenance.describe()
                                          : fmt::format("model from epoch {}, selection: {}", run.epoch,
                                                        train::selection_label(config));
  out << fmt::format("wrote {} predictions for {} dialogues to {} ({})\n", r.predictions.size(), dialogues.size(),
                     args.out, origin);
  return 0;
}

int run_sweep_cmd(const SweepArgs& args, std::ostream& out) {
  train::ExperimentConfig config = resolve_experiment(args.config, nullptr);
  const std::string dir = args.out.empty() ? fmt::format("runs/sweep-{}-{}", config.model->name, timestamp()) : args.out;
  out << "resolved config:\n" << to_yaml_text(config);
  const data::Dataset ds =
      load_experiment_dataset(config.data, (fs::path(dir) / kFeaturizerFile).string(), (fs::path(dir) / kFeaturizerFile).string());
  train::SweepSpec spec;
  spec.rates = args.rates;
  spec.seeds = args.seeds.empty() ? std::vector<int64_t>{config.train.seed} : args.seeds;
  spec.conditions = args.conditions;
  const train::RunTable t = train::run_sweep(config, ds, spec, dir, &out);
  out << train::markdown_summary(t) << "results: " << dir << "/results.{csv,json,md}\n";
  return 0;
}

}  // namespace merc::app
