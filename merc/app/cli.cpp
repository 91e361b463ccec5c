#include "merc/app/cli.h"

#include <iostream>

#include <CLI/CLI.hpp>

#include "merc/app/data_cmd.h"
#include "merc/core/error.h"
#include "merc/core/log.h"
#include "merc/version.h"

namespace merc::app {

namespace {
void add_source_options(CLI::App* cmd, DataSource* src, bool positional) {
  if (positional)
    cmd->add_option("PATH", src->path, "dataset file or directory (default: the embedded CMU-MOSI)");
  cmd->add_option("--format", src->format, "dataset format (default: detect; see `merc data list-formats`)");
  cmd->add_option("--features", src->features, "per-utterance feature folder MODALITY=DIR (GCNet layout; repeatable)");
  cmd->add_option("--carve-valid", src->carve_valid,
                  "carve FRACTION of train dialogues into a 'valid' partition where a split has none")
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--split-seed", src->split_seed, "seed for --carve-valid");
  cmd->add_flag("--loso", src->loso, "add IEMOCAP leave-one-session-out split schemes loso-1..loso-5");
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
  try {
    if (list_formats->parsed()) return run_data_list_formats(out);
    if (inspect->parsed()) return run_data_inspect(inspect_args, out);
    if (convert->parsed()) return run_data_convert(convert_args, out);
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
  std::vector<std::string> args(argv + 1, argv + argc);
  return run_cli(args, std::cout, std::cerr);
}

}  // namespace merc::app
