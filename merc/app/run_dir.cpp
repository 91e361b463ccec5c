#include "merc/app/run_dir.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/models/registry.h"
#include "merc/train/checkpoint.h"
#include "merc/train/trainer.h"

namespace merc::app {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

std::string ImportProvenance::describe() const {
  std::string s = fmt::format("weights imported from {} (sha256 {})", checkpoint, sha256);
  if (!upstream.empty()) s += ", upstream names of " + upstream;
  return s;
}

void write_provenance(const std::string& dir, const ImportProvenance& p) {
  const ordered_json j = {{"checkpoint", p.checkpoint}, {"sha256", p.sha256},   {"names", p.names},
                          {"upstream", p.upstream},     {"state_dict_key", p.state_dict_key}};
  io::write_file_atomically((fs::path(dir) / kImportedFile).string(), j.dump(2) + "\n");
}

ImportProvenance read_provenance(const std::string& path) {
  try {
    const auto j = ordered_json::parse(io::read_file_bytes(path));
    ImportProvenance p;
    p.checkpoint = j.at("checkpoint").get<std::string>();
    p.sha256 = j.at("sha256").get<std::string>();
    p.names = j.at("names").get<std::string>();
    p.upstream = j.at("upstream").get<std::string>();
    p.state_dict_key = j.at("state_dict_key").get<std::string>();
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("malformed imported.json: ") + e.what());
  }
}

LoadedRun load_run(const std::string& dir, int64_t threads, const std::string& device) {
  const std::string weights = (fs::path(dir) / "model.pt").string();
  MERC_CHECK(fs::is_directory(dir), "run directory '{}' does not exist", dir);
  MERC_CHECK(fs::exists(weights), "{} has no model.pt (the run has not finished an epoch)", dir);
  const train::CheckpointHeader h = train::read_checkpoint_header(weights);
  LoadedRun r;
  apply_yaml_text(r.config, h.config_yaml, weights + " (config)");
  if (threads >= 0) r.config.train.threads = threads;
  if (!device.empty()) r.config.train.device = device;
  r.dims = h.dims;
  r.dims.class_names = h.class_names;  // not part of the stored dims; models that write labels as words need them
  train::configure_torch(r.config.train);
  r.model = models::build_model(*r.config.model, r.dims);
  const train::WeightsInfo info = train::load_weights(weights, *r.model);
  r.epoch = info.epoch;
  r.class_names = info.class_names;
  r.stage = info.stage;
  r.model->set_stage(info.stage);
  r.model->to(train::resolve_device(r.config.train.device));
  r.model->eval();
  const fs::path imported = fs::path(dir) / kImportedFile;
  if (fs::exists(imported)) {
    r.imported = true;
    r.provenance = read_provenance(imported.string());
  }
  return r;
}

std::string run_featurizer_path(const std::string& run) {
  fs::path dir = fs::path(run);
  for (int up = 0; up < 3 && !dir.empty(); ++up, dir = dir.parent_path()) {
    const fs::path p = dir / kFeaturizerFile;
    if (fs::exists(p)) return p.string();
  }
  return (fs::path(run) / kFeaturizerFile).string();
}

}  // namespace merc::app
