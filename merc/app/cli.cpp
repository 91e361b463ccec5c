#include "merc/app/cli.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include "merc/app/compare_cmd.h"
#include "merc/app/data_cmd.h"
#include "merc/app/import_cmd.h"
#include "merc/app/report_cmd.h"
#include "merc/app/run_figures.h"
#include "merc/app/t5_init_cmd.h"
#include "merc/app/train_cmd.h"
#include "merc/app/tsne_cmd.h"
#include "merc/core/allocator.h"
#include "merc/core/error.h"
#include "merc/core/log.h"
#include "merc/version.h"

namespace merc::app {

namespace {
void add_source_options(CLI::App* cmd, DataSource* src, bool positional) {
  if (positional)
    cmd->add_option("PATH", src->path, "dataset file or directory (default: the embedded CMU-MOSI)");
  cmd->add_option("--format", src->format, "dataset format (default: detect; see `merc data list-formats`)");
  cmd->add_option("--features", src->features,
                  "per-utterance feature folder MODALITY=DIR (GCNet layout) or semantic=DIR (semantic vectors, "
                  "docs/semantic_vectors.md); repeatable");
  cmd->add_option("--carve-valid", src->carve_valid,
                  "carve FRACTION of train dialogues into a 'valid' partition where a split has none")
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--split-seed", src->split_seed, "seed for --carve-valid");
  cmd->add_flag("--loso", src->loso, "add IEMOCAP leave-one-session-out split schemes loso-1..loso-5");
  cmd->add_flag("--sequences", src->sequences,
                "keep per-utterance sequences where the format has them (MMSA; a merc file that stores them)");
}
// Torch's own warnings (e.g. "scatter_reduce() is in beta", printed once per process) are about
// torch, not about the user's run: send them to the debug log instead of stderr.
class TorchWarningsToLog final : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override {
    spdlog::debug("torch: {}", msg);
  }
};

void add_config_options(CLI::App* cmd, ConfigArgs* c) {
  cmd->add_option("--config", c->config_file, "experiment YAML file (layered over dataset and model presets)");
  cmd->add_option("--set", c->overrides, "override a config key, KEY=VALUE (repeatable), e.g. --set train.lr=0.001")
      ->allow_extra_args(false);
  cmd->add_option("--config-dir", c->config_dir, "directory with datasets/ and models/ presets");
  cmd->add_option("--data", c->data, "dataset file or directory, any supported format (default: embedded CMU-MOSI)");
  cmd->add_option("--split", c->split, "split scheme of the dataset (e.g. standard, poria)");
  cmd->add_option("--threads", c->threads, "torch threads (default: train.threads)")->check(CLI::Range(0, 256));
  cmd->add_option("--device", c->device, "cpu | cuda | cuda:N");
}
}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"merc: multimodal emotion recognition in conversation"};
  app.set_version_flag("--version", std::string("merc ") + MERC_VERSION);
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "debug logging");
  app.add_flag("-q,--quiet", quiet, "errors only");

  CLI::App* data = app.add_subcommand("data", "read, inspect and convert datasets");
  data->require_subcommand(1);
  CLI::App* list_formats = data->add_subcommand("list-formats", "list the dataset formats merc reads");
  DataInspectArgs inspect_args;
  CLI::App* inspect = data->add_subcommand("inspect", "summarise a dataset: splits, classes, speakers, modalities");
  add_source_options(inspect, &inspect_args.source, true);
  inspect->add_flag("--json", inspect_args.json, "one JSON object instead of the report");
  DataConvertArgs convert_args;
  CLI::App* convert = data->add_subcommand("convert", "convert a dataset to merc's native .safetensors file");
  convert->add_option("INPUT", convert_args.source.path, "dataset file or directory")->required();
  add_source_options(convert, &convert_args.source, false);
  convert->add_option("--to", convert_args.output, "output file (.safetensors)")->required();
  convert->add_option("--featurize-text", convert_args.featurize_text,
                      "fit the transcript featurizer on the train split and store DIM-d text features")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  convert->add_option("--seed", convert_args.seed, "featurizer seed");

  TrainArgs train_args;
  CLI::App* train = app.add_subcommand("train", "train a model (writes config.yaml, train_log.jsonl, checkpoint.pt, model.pt, metrics.json)");
  add_config_options(train, &train_args.config);
  train->add_option("--out", train_args.out, "run directory (default runs/<model>-<time>)");
  CLI::Option* resume_opt =
      train->add_option("--resume", train_args.resume, "continue the interrupted run in DIR (with its own config)");
  train->add_option("--folds", train_args.folds, "k-fold: one run per split scheme PREFIX-N (e.g. loso), mean and std");
  train->add_flag("--print-config", train_args.print_config, "print the resolved config and exit");
  // A resumed run uses the config saved in its checkpoint: flags that would change it are refused.
  for (const char* name : {"--config", "--set", "--config-dir", "--data", "--split", "--threads", "--device", "--out",
                           "--folds", "--print-config"})
    resume_opt->excludes(train->get_option(name));

  EvalArgs eval_args;
  CLI::App* eval = app.add_subcommand("eval", "evaluate a trained run under one or more missing-modality protocols");
  eval->add_option("--run", eval_args.run, "run directory")->required();
  eval->add_option("--data", eval_args.data, "dataset (default: the run's)");
  eval->add_option("--split", eval_args.split, "split scheme (default: the run's)");
  eval->add_option("--partition", eval_args.partition, "train | valid | test (default test)");
  eval->add_option("--protocol", eval_args.protocols, "protocol NAME[:ARG] (repeatable), e.g. random:0.3, fixed:at")
      ->allow_extra_args(false);
  eval->add_flag("--scenarios", eval_args.scenarios,
                 "CADGL's scenario table: evaluate complete and every drop: scenario the run's modalities allow "
                 "(drop:a, drop:v, drop:t, drop:av, drop:at, drop:tv), then print the means complete / 1 missing / "
                 "2 missing / average; --protocol adds rows outside the summary");
  eval->add_option("--export", eval_args.export_dir,
                   "write DIR/utterances.csv and .npy analysis files (features_before = model inputs, "
                   "features_after = fused representation, labels, speakers); one subdirectory per protocol when "
                   "several are given");
  eval->add_flag("--inertia", eval_args.inertia,
                 "emotional-inertia analysis: report on utterances whose label equals the same speaker's previous "
                 "label vs the rest (classification)");
  eval->add_flag("--json", eval_args.json, "one JSON object");
  eval->add_option("--threads", eval_args.threads, "torch threads")->check(CLI::Range(0, 256));
  eval->add_option("--device", eval_args.device, "cpu | cuda | cuda:N");
  // Overhead (app/overhead_cmd.h): instead of metrics, what the model costs at inference.
  CLI::Option* overhead_opt = eval->add_flag(
      "--overhead", eval_args.overhead,
      "parameters, latency per dialogue and per utterance (median, p95), peak memory and FLOPs per utterance "
      "of the run's model on the partition, one dialogue per forward (docs/analysis/overhead.md)");
  eval->add_flag("--overhead-dummy", eval_args.overhead_dummy,
                 "with --overhead: MoED's dummy batch (B=1, T=40, random features) instead of the data")
      ->needs(overhead_opt);
  eval->add_option("--overhead-warmup", eval_args.overhead_warmup, "with --overhead: untimed forwards first")
      ->check(CLI::Range(int64_t{0}, int64_t{10000}))
      ->needs(overhead_opt);
  eval->add_option("--overhead-repeats", eval_args.overhead_repeats, "with --overhead: timed passes over the dialogues")
      ->check(CLI::Range(int64_t{1}, int64_t{10000}))
      ->needs(overhead_opt);
  eval->add_option("--overhead-dialogues", eval_args.overhead_dialogues,
                   "with --overhead: measure the first N dialogues of the partition (0 = all)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}))
      ->needs(overhead_opt);
  for (const char* other : {"--scenarios", "--export", "--inertia"})
    overhead_opt->excludes(eval->get_option(other));

  PredictArgs predict_args;
  CLI::App* predict = app.add_subcommand("predict", "write per-utterance predictions of a trained run as CSV");
  predict->add_option("--run", predict_args.run, "run directory")->required();
  predict->add_option("--data", predict_args.data, "dataset to predict (default: the run's)");
  predict->add_option("--split", predict_args.split, "split scheme for --partition");
  predict->add_option("--partition", predict_args.partition, "only this partition (default: every dialogue)");
  predict->add_option("--protocol", predict_args.protocol, "missing-modality protocol (default complete)");
  predict->add_option("--out", predict_args.out, "output CSV")->required();
  predict->add_option("--threads", predict_args.threads, "torch threads")->check(CLI::Range(0, 256));
  predict->add_option("--device", predict_args.device, "cpu | cuda | cuda:N");

  ImportArgs import_args;
  CLI::App* import_ckpt = app.add_subcommand(
      "import-checkpoint", "load an upstream PyTorch checkpoint (torch.save) into a merc run directory");
  add_config_options(import_ckpt, &import_args.config);
  import_ckpt->add_option("--checkpoint", import_args.checkpoint, "torch.save file (.pth/.pt; zip or legacy format)")
      ->required();
  import_ckpt->add_option("--out", import_args.out, "run directory to write")->required();
  import_ckpt->add_option("--state-dict-key", import_args.state_dict_key,
                          "path of dict keys to the state_dict, e.g. state_dict or model/net (default: found)");
  import_ckpt->add_option("--names", import_args.names, "key names in the file: upstream (the authors' code) | merc")
      ->check(CLI::IsMember({"upstream", "merc"}));
  import_ckpt->add_flag("--keep-module-prefix", import_args.keep_module_prefix,
                        "do not strip the DataParallel 'module.' prefix");

  ExportWeightsArgs export_args;
  CLI::App* export_w = app.add_subcommand("export-weights", "write a run's weights as safetensors");
  export_w->add_option("--run", export_args.run, "run directory")->required();
  export_w->add_option("--to", export_args.to, "output .safetensors file")->required();
  export_w->add_option("--names", export_args.names, "upstream (loadable by the authors' code) | merc")
      ->check(CLI::IsMember({"upstream", "merc"}));

  SweepArgs sweep_args;
  CLI::App* sweep = app.add_subcommand("sweep", "train over missing rates x seeds x conditions; results table");
  add_config_options(sweep, &sweep_args.config);
  sweep->add_option("--out", sweep_args.out, "sweep directory (re-run to resume)");
  sweep->add_option("--rates", sweep_args.rates, "random missing rates, e.g. 0,0.1,0.2")->delimiter(',');
  sweep->add_option("--seeds", sweep_args.seeds, "seeds, e.g. 1,2,3")->delimiter(',');
  sweep->add_option("--conditions", sweep_args.conditions, "other protocols, e.g. fixed:a,fixed:at")->delimiter(',');

  // Analyses of finished runs and sweeps (merc/analysis): one subcommand per analysis.
  CLI::App* analyze = app.add_subcommand("analyze", "analyses of finished runs: t-SNE, figures");
  analyze->require_subcommand(1);
  TsneCmdArgs tsne_args;
  CLI::App* tsne = analyze->add_subcommand(
      "tsne", "t-SNE of the features `merc eval --export DIR` wrote: DIR/tsne_before.csv, tsne_after.csv "
              "(x,y,label,speaker) and tsne.json; defaults are MoED's tsne_*.py setting (sklearn TSNE with "
              "perplexity 30, learning rate 200, 5000 iterations, seed 42)");
  tsne->add_option("DIR", tsne_args.dir, "folder written by `merc eval --export`")->required();
  tsne->add_option("--out", tsne_args.out, "output folder (default DIR)");
  tsne->add_option("--perplexity", tsne_args.perplexity, "effective number of neighbours (MoED: 30)")
      ->check(CLI::PositiveNumber);
  tsne->add_option("--learning-rate", tsne_args.learning_rate,
                   "a number (sklearn's scale; MoED: 200) or auto = max(N / 48, 50)");
  tsne->add_option("--iterations", tsne_args.iterations, "gradient-descent iterations, the first 250 with early "
                                                         "exaggeration (MoED: 5000)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  tsne->add_option("--seed", tsne_args.seed, "seed of the initialisation (MoED: 42)");
  tsne->add_option("--theta", tsne_args.theta, "Barnes-Hut opening angle; 0 = exact t-SNE (small sets only)")
      ->check(CLI::Range(0.0, 1.0));
  tsne->add_option("--init", tsne_args.init, "pca | random")->check(CLI::IsMember({"pca", "random"}));
  tsne->add_option("--threads", tsne_args.threads, "torch threads")->check(CLI::Range(0, 256));
  tsne->add_option("--progress", tsne_args.progress, "auto | bar | log | none")
      ->check(CLI::IsMember({"auto", "bar", "log", "none"}));

  FiguresArgs figures_args;
  CLI::App* figures = analyze->add_subcommand("figures", "figures of a run or sweep directory as SVG, PNG and PDF");
  figures->add_option("DIR", figures_args.dir, "run directory (train_log.jsonl, model.pt) or sweep directory "
                                               "(results.json)")->required();
  figures->add_option("--out", figures_args.out, "output directory (default: DIR/figures)");

  // T5 folders for hrg_ssa's generative variant (app/t5_init_cmd.h, docs/t5.md).
  CLI::App* t5 = app.add_subcommand("t5", "T5 folders (Hugging Face layout) for hrg_ssa's generative variant");
  t5->require_subcommand(1);
  T5InitArgs t5_init_args;
  CLI::App* t5_init = t5->add_subcommand(
      "init", "make a T5 folder to train FROM SCRATCH on an experiment's data: SentencePiece vocabulary from its "
              "training transcripts, config.json of a size preset, initialised model.safetensors");
  add_config_options(t5_init, &t5_init_args.config);
  t5_init->add_option("--out", t5_init_args.out, "the folder to write (model.t5_dir)")->required();
  t5_init->add_option("--size", t5_init_args.size, "tiny (d_model 64, 2+2 layers) | small (256, 4+4) | base (t5-base)")
      ->check(CLI::IsMember({"tiny", "small", "base"}));
  t5_init->add_option("--vocab", t5_init_args.vocab, "SentencePiece pieces wanted (capped by what the text supports)")
      ->check(CLI::Range(int64_t{8}, int64_t{1000000}));
  t5_init->add_option("--seed", t5_init_args.seed, "seed of the weights");
  t5_init->add_flag("--force", t5_init_args.force, "write into a non-empty folder");

  // Paired and seed-level model comparison (issue 18 §5; app/compare_cmd.h).
  CompareArgs compare_args;
  CLI::App* compare = app.add_subcommand(
      "compare", "does B really beat A? paired bootstrap CIs + exact McNemar on the same test utterances (runs), "
                 "or mean ± std over seeds + Welch's t-test (sweeps / directories of seed runs)");
  compare->add_option("DIRS", compare_args.dirs, "DIR_A DIR_B [...]: runs, or sweeps / sets of seed runs; each is "
                                                 "compared with DIR_A")
      ->required()
      ->expected(2, -1);
  compare->add_option("--metric", compare_args.metrics,
                      "metric to compare (repeatable; default accuracy, weighted_f1 or mae, acc2, corr)")
      ->allow_extra_args(false);
  compare->add_option("--resamples", compare_args.resamples, "bootstrap resamples (default 10000)")
      ->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  compare->add_option("--level", compare_args.level, "confidence level (default 0.95; the tests use 1 - level)")
      ->check(CLI::Range(0.5, 0.9999));
  compare->add_option("--seed", compare_args.seed, "bootstrap seed (default 0)");
  compare->add_option("--unit", compare_args.unit, "resampling unit: dialogue (default) | utterance")
      ->check(CLI::IsMember({"dialogue", "utterance"}));
  compare->add_flag("--json", compare_args.json, "one JSON object instead of the tables");
  compare->add_option("--threads", compare_args.threads, "torch threads for evaluating runs")
      ->check(CLI::Range(0, 256));
  compare->add_option("--device", compare_args.device, "cpu | cuda | cuda:N");

  // `merc report` (issue 18 §4): one self-contained HTML file for a run, k-fold or sweep directory.
  ReportArgs report_args;
  CLI::App* report = app.add_subcommand("report", "write one self-contained HTML report of a run, k-fold or sweep directory");
  report->add_option("DIR", report_args.dir, "run, k-fold (train --folds) or sweep directory")->required();
  report->add_option("--out", report_args.out, "HTML file to write (default DIR/report.html)");

  std::string list_what;
  CLI::App* list = app.add_subcommand("list", "list registries: models, datasets, protocols, formats, optimizers, "
                                              "schedulers, losses, config");
  list->add_option("WHAT", list_what, "models | datasets | protocols | formats | optimizers | schedulers | losses | config")
      ->required();

  std::vector<std::string> rev(args.rbegin(), args.rend());
  try {
    app.parse(rev);
  } catch (const CLI::CallForHelp&) {
    // Help for the deepest subcommand that was named.
    const CLI::App* target = &app;
    while (!target->get_subcommands().empty()) target = target->get_subcommands().front();
    out << target->help();
    return 0;
  } catch (const CLI::CallForVersion&) {
    out << "merc " << MERC_VERSION << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "merc: " << e.what() << "\n";
    const CLI::App* target = &app;
    while (!target->get_subcommands().empty()) target = target->get_subcommands().front();
    err << "run `" << target->get_name() << " --help` for usage\n";
    return 2;
  }
  set_log_level(quiet ? LogLevel::kQuiet : verbose ? LogLevel::kDebug : LogLevel::kWarn);
  static TorchWarningsToLog torch_warnings;
  c10::Warning::set_warning_handler(&torch_warnings);
  try {
    if (list_formats->parsed()) return run_data_list_formats(out);
    if (inspect->parsed()) return run_data_inspect(inspect_args, out);
    if (convert->parsed()) return run_data_convert(convert_args, out);
    if (train->parsed()) return run_train(train_args, out);
    if (eval->parsed()) return run_eval(eval_args, out);
    if (predict->parsed()) return run_predict(predict_args, out);
    if (sweep->parsed()) return run_sweep_cmd(sweep_args, out);
    if (import_ckpt->parsed()) return run_import_checkpoint(import_args, out);
    if (export_w->parsed()) return run_export_weights(export_args, out);
    if (list->parsed()) return run_list(list_what, out);
    if (figures->parsed()) return run_figures_cmd(figures_args, out);
    if (tsne->parsed()) return run_analyze_tsne(tsne_args, out);
    if (compare->parsed()) return run_compare(compare_args, out);
    if (report->parsed()) return run_report(report_args, out);
    if (t5_init->parsed()) return run_t5_init(t5_init_args, out);
  } catch (const merc::Error& e) {
    err << "merc: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "merc: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

int run_cli(int argc, char** argv) {
  // Reuse freed activation pages across training steps (core/allocator.h); the process entry
  // point only, so that in-process callers (tests) keep their own malloc settings.
  core::tune_allocator();
  std::vector<std::string> args(argv + 1, argv + argc);
  return run_cli(args, std::cout, std::cerr);
}

}  // namespace merc::app
