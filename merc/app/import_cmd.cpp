#include "merc/app/import_cmd.h"

#include <filesystem>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "merc/app/run_dir.h"
#include "merc/core/error.h"
#include "merc/core/sha256.h"
#include "merc/io/binary_file.h"
#include "merc/models/registry.h"
#include "merc/models/upstream/import.h"
#include "merc/models/upstream/registry.h"
#include "merc/train/checkpoint.h"
#include "merc/train/evaluate.h"
#include "merc/train/losses.h"
#include "merc/train/run_data.h"
#include "merc/train/trainer.h"

namespace merc::app {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
namespace up = models::upstream;

namespace {

up::NameTable import_name_table(const std::string& names, models::Model& model, const models::ModelConfig& config,
                         const models::ModelDims& dims) {
  if (names == "merc") return up::merc_names_table(model, config.name);
  MERC_CHECK(names == "upstream", "--names '{}': expected upstream or merc", names);
  return up::find_upstream(config.name).table(config, dims);
}

ordered_json import_evaluate_partition(models::Model& model, const std::vector<const data::Dialogue*>& part,
                                const data::Dataset& ds, const models::ModelDims& dims,
                                const train::ExperimentConfig& config, const train::TaskLoss& loss, int stage,
                                const char* name) {
  train::EvalOptions o = train::evaluation_options(config, train::resolve_device(config.train.device));
  o.protocol = config.protocol.test;
  o.partition = name;
  o.stage = stage;
  const train::EvalResult r = train::evaluate(model, part, ds.info, dims, loss, o);
  metrics::MetricValues m = r.metrics;
  m.set("loss", r.loss);
  return train::metrics_to_json(m);
}

}  // namespace

int run_import_checkpoint(const ImportArgs& args, std::ostream& out) {
  MERC_CHECK(!args.checkpoint.empty(), "import-checkpoint: --checkpoint FILE is required");
  MERC_CHECK(!args.out.empty(), "import-checkpoint: --out DIR is required");
  MERC_CHECK(fs::is_regular_file(args.checkpoint), "import-checkpoint: checkpoint '{}' does not exist", args.checkpoint);
  const fs::path dir(args.out);
  MERC_CHECK(!fs::exists(dir / "model.pt"), "{} already holds a run (model.pt); choose another --out", args.out);
  train::ExperimentConfig config = resolve_experiment(args.config, nullptr);
  fs::create_directories(dir);
  const data::Dataset ds = load_experiment_dataset(config.data, "", (dir / kFeaturizerFile).string());
  const train::RunData rd = train::select_partitions(ds, config, /*require_valid=*/false);
  const models::ModelDims dims = models::model_dims(ds.info, config.model->modalities, rd.task);
  train::configure_torch(config.train);
  std::shared_ptr<models::Model> model = models::build_model(*config.model, dims);

  const up::NameTable table = import_name_table(args.names, *model, *config.model, dims);
  up::ReadOptions ro;
  ro.key_path = args.state_dict_key;
  ro.strip_module_prefix = !args.keep_module_prefix;
  const std::vector<up::NamedTensor> state = up::read_state_dict(args.checkpoint, ro);
  const up::ImportReport report = up::load_upstream_state(*model, table, state, args.checkpoint);
  // Imported weights are a trained model: multi-stage models evaluate in their last stage.
  const int stage = model->stage_for_epoch(config.train.epochs - 1, config.train.epochs);
  model->set_stage(stage);
  model->eval();

  ImportProvenance prov;
  prov.checkpoint = fs::absolute(args.checkpoint).lexically_normal().string();
  prov.sha256 = sha256_file(args.checkpoint);
  prov.names = args.names;
  prov.upstream = args.names == "upstream" ? table.upstream : "";
  prov.state_dict_key = args.state_dict_key;
  const std::string config_yaml = to_yaml_text(config);
  io::write_file_atomically((dir / "config.yaml").string(), config_yaml);
  train::save_weights((dir / "model.pt").string(), config_yaml, dims, *model, /*epoch=*/1, stage, ds.info.class_names);
  model->to(train::resolve_device(config.train.device));  // after saving: model.pt holds CPU tensors
  write_provenance(dir.string(), prov);

  const train::TaskLoss loss = train::find_loss(config.train.loss, rd.task, config.train.loss_options());
  ordered_json m = ordered_json::object();
  m["selection"] = "imported";
  m["imported"] = {{"checkpoint", prov.checkpoint},
                   {"sha256", prov.sha256},
                   {"names", prov.names},
                   {"upstream", prov.upstream},
                   {"keys_in_file", report.upstream_keys},
                   {"keys_mapped", report.mapped_keys},
                   {"keys_ignored", report.ignored_keys},
                   {"merc_tensors_filled", report.merc_tensors}};
  m["dataset"] = ds.info.name;
  m["split"] = rd.scheme.name;
  m["model"] = config.model->name;
  m["task"] = data::task_name(rd.task);
  m["protocol"] = {{"test", config.protocol.test}};
  if (!rd.valid.empty()) m["valid"] = import_evaluate_partition(*model, rd.valid, ds, dims, config, loss, stage, "valid");
  if (!rd.test.empty()) m["test"] = import_evaluate_partition(*model, rd.test, ds, dims, config, loss, stage, "test");
  io::write_file_atomically((dir / "metrics.json").string(), m.dump(2) + "\n");

  out << fmt::format("imported {} ({} keys: {} mapped, {} ignored as unused upstream; {} merc tensors filled)\n",
                     args.checkpoint, report.upstream_keys, report.mapped_keys, report.ignored_keys,
                     report.merc_tensors);
  out << "  " << prov.describe() << "\n";
  out << fmt::format("  model {} for {}; run directory {}\n", config.model->name, dims.describe(), args.out);
  for (const char* part : {"valid", "test"})
    if (m.contains(part)) out << fmt::format("  {} ({}): {}\n", part, config.protocol.test, m[part].dump());
  return 0;
}

int run_export_weights(const ExportWeightsArgs& args, std::ostream& out) {
  MERC_CHECK(!args.to.empty(), "export-weights: --to FILE.safetensors is required");
  LoadedRun run = load_run(args.run, -1, "cpu");
  const up::NameTable table = import_name_table(args.names, *run.model, *run.config.model, run.dims);
  const std::vector<up::NamedTensor> tensors = up::export_upstream_state(*run.model, table);
  std::vector<std::string> ignored;
  for (const auto& ig : table.ignored) ignored.push_back(ig.key + (ig.prefix ? "*" : ""));
  std::map<std::string, std::string> meta = {{"format", "pt"},
                                             {"merc_model", run.config.model->name},
                                             {"names", args.names},
                                             {"upstream", args.names == "upstream" ? table.upstream : ""},
                                             {"not_written_upstream_keys", ordered_json(ignored).dump()}};
  if (run.imported) meta["imported_from_sha256"] = run.provenance.sha256;
  up::write_state_dict_safetensors(args.to, tensors, meta);
  out << fmt::format("wrote {} tensors of run {} ({} names{}) to {}\n", tensors.size(), args.run, args.names,
                     args.names == "upstream" ? " of " + table.upstream : "", args.to);
  if (!ignored.empty())
    out << fmt::format("  not written (the upstream model creates them but never uses them; load with "
                       "load_state_dict(strict=False)): {}\n", fmt::join(ignored, ", "));
  return 0;
}

}  // namespace merc::app
