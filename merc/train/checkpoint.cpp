#include "merc/train/checkpoint.h"

#include <filesystem>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"

namespace merc::train {

namespace fs = std::filesystem;

std::string dims_to_json(const models::ModelDims& d) {
  nlohmann::json j = {{"input_dims", d.input_dims},
                      {"use", d.use},
                      {"task", data::task_name(d.task)},
                      {"num_classes", d.num_classes},
                      {"num_speakers", d.num_speakers},
                      {"semantic_dim", d.semantic_dim}};
  return j.dump();
}

models::ModelDims dims_from_json(const std::string& text, const std::string& path) {
  try {
    const auto j = nlohmann::json::parse(text);
    models::ModelDims d;
    d.input_dims = j.at("input_dims").get<std::array<int64_t, data::kNumModalities>>();
    d.use = j.at("use").get<std::array<bool, data::kNumModalities>>();
    const std::string task = j.at("task").get<std::string>();
    MERC_CHECK(task == "classification" || task == "regression", "unknown task '{}'", task);
    d.task = task == "regression" ? data::Task::kRegression : data::Task::kClassification;
    d.num_classes = j.at("num_classes").get<int64_t>();
    d.num_speakers = j.at("num_speakers").get<int64_t>();
    // Absent in run directories written before semantic vectors existed: they had none.
    d.semantic_dim = j.value("semantic_dim", int64_t{0});
    MERC_CHECK(d.semantic_dim >= 0, "semantic_dim {} is negative", d.semantic_dim);
    return d;
  } catch (const std::exception& e) {
    throw FormatError(path, std::string("model dims are malformed: ") + e.what());
  }
}

torch::Tensor torch_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_torch_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

namespace {

// Serialises in memory, then the shared durable atomic write (temp file, fsync, rename, fsync of
// the directory): after a kill -9 or a power loss the old or the new file is complete.
void write_atomically(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  io::write_file_atomically(path, bytes.str(), /*durable=*/true);
}

void write_string(torch::serialize::OutputArchive& a, const std::string& key, const std::string& value) {
  a.write(key, c10::IValue(value));
}

std::string read_string(torch::serialize::InputArchive& a, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!a.try_read(key, v) || !v.isString()) throw FormatError(path, "checkpoint has no string entry '" + key + "'");
  return v.toStringRef();
}

int64_t read_int(torch::serialize::InputArchive& a, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!a.try_read(key, v) || !v.isInt()) throw FormatError(path, "checkpoint has no integer entry '" + key + "'");
  return v.toInt();
}

void load_archive(torch::serialize::InputArchive& a, const std::string& path) {
  if (!fs::exists(path)) throw FormatError(path, "no such file");
  try {
    a.load_from(path);
  } catch (const c10::Error& e) {
    throw FormatError(path, std::string("not a readable merc checkpoint: ") + e.what_without_backtrace());
  }
}

std::vector<std::string> read_class_names(torch::serialize::InputArchive& a, const std::string& path) {
  try {
    return nlohmann::json::parse(read_string(a, "class_names", path)).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("class names are malformed: ") + e.what());
  }
}

}  // namespace

void save_checkpoint(const std::string& path, const std::string& config_yaml, const models::ModelDims& dims,
                     models::Model& model, const std::vector<torch::optim::Optimizer*>& optimizers,
                     const TrainingState& s) {
  torch::serialize::OutputArchive a;
  write_string(a, "format", "merc-checkpoint-1");
  write_string(a, "config", config_yaml);
  write_string(a, "dims", dims_to_json(dims));
  torch::serialize::OutputArchive weights;
  model.save(weights);
  a.write("model", weights);
  a.write("num_optimizers", c10::IValue(static_cast<int64_t>(optimizers.size())));
  for (size_t i = 0; i < optimizers.size(); ++i) {
    torch::serialize::OutputArchive o;
    optimizers[i]->save(o);
    a.write("optimizer" + std::to_string(i), o);
  }
  nlohmann::json j = {{"epochs_done", s.epochs_done}, {"stage", s.stage},       {"best_value", s.best_value},
                      {"has_best", s.has_best},       {"best_epoch", s.best_epoch}, {"bad_epochs", s.bad_epochs},
                      {"shuffle_rng", s.shuffle_rng}, {"scheduler", s.scheduler}, {"best_metrics", s.best_metrics_json}};
  write_string(a, "state", j.dump());
  write_string(a, "protocol_rng", s.protocol_rng);  // binary; IValue strings hold any bytes
  a.write("torch_rng", s.torch_rng.defined() ? s.torch_rng : torch_rng_state());
  write_atomically(a, path);
}

CheckpointHeader read_checkpoint_header(const std::string& path) {
  torch::serialize::InputArchive a;
  load_archive(a, path);
  const std::string format = read_string(a, "format", path);
  if (format != "merc-checkpoint-1" && format != "merc-weights-1")
    throw FormatError(path, "unsupported checkpoint format '" + format + "'");
  CheckpointHeader h;
  h.config_yaml = read_string(a, "config", path);
  h.dims = dims_from_json(read_string(a, "dims", path), path);
  if (format == "merc-weights-1") h.class_names = read_class_names(a, path);
  if (format == "merc-checkpoint-1") {
    try {
      const auto j = nlohmann::json::parse(read_string(a, "state", path));
      h.epochs_done = j.at("epochs_done").get<int64_t>();
      h.stage = j.at("stage").get<int>();
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(path, std::string("checkpoint state is malformed: ") + e.what());
    }
  }
  return h;
}

TrainingState load_checkpoint(const std::string& path, models::Model& model,
                              const std::vector<torch::optim::Optimizer*>& optimizers) {
  torch::serialize::InputArchive a;
  load_archive(a, path);
  if (read_string(a, "format", path) != "merc-checkpoint-1")
    throw FormatError(path, "not a resumable checkpoint (format is not merc-checkpoint-1)");
  TrainingState s;
  try {
    torch::serialize::InputArchive weights;
    a.read("model", weights);
    model.load(weights);
    const int64_t n = read_int(a, "num_optimizers", path);
    if (n != static_cast<int64_t>(optimizers.size()))
      throw FormatError(path, "checkpoint has " + std::to_string(n) + " optimizer states, the model's stage needs " +
                                  std::to_string(optimizers.size()));
    for (size_t i = 0; i < optimizers.size(); ++i) {
      torch::serialize::InputArchive o;
      a.read("optimizer" + std::to_string(i), o);
      optimizers[i]->load(o);
    }
    a.read("torch_rng", s.torch_rng);
  } catch (const c10::Error& e) {
    throw FormatError(path, std::string("checkpoint does not match the model: ") + e.what_without_backtrace());
  }
  try {
    const auto j = nlohmann::json::parse(read_string(a, "state", path));
    s.epochs_done = j.at("epochs_done").get<int64_t>();
    s.stage = j.at("stage").get<int>();
    s.best_value = j.at("best_value").get<double>();
    s.has_best = j.at("has_best").get<bool>();
    s.best_epoch = j.at("best_epoch").get<int64_t>();
    s.bad_epochs = j.at("bad_epochs").get<int64_t>();
    s.shuffle_rng = j.at("shuffle_rng").get<uint64_t>();
    s.scheduler = j.at("scheduler").get<std::string>();
    s.best_metrics_json = j.at("best_metrics").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("checkpoint state is malformed: ") + e.what());
  }
  s.protocol_rng = read_string(a, "protocol_rng", path);
  return s;
}

void save_weights(const std::string& path, const std::string& config_yaml, const models::ModelDims& dims,
                  models::Model& model, int64_t epoch, int stage, const std::vector<std::string>& class_names) {
  torch::serialize::OutputArchive a;
  write_string(a, "format", "merc-weights-1");
  write_string(a, "config", config_yaml);
  write_string(a, "dims", dims_to_json(dims));
  write_string(a, "class_names", nlohmann::json(class_names).dump());
  a.write("epoch", c10::IValue(epoch));
  a.write("stage", c10::IValue(static_cast<int64_t>(stage)));
  torch::serialize::OutputArchive weights;
  model.save(weights);
  a.write("model", weights);
  write_atomically(a, path);
}

WeightsInfo load_weights(const std::string& path, models::Model& model) {
  torch::serialize::InputArchive a;
  load_archive(a, path);
  try {
    torch::serialize::InputArchive weights;
    a.read("model", weights);
    model.load(weights);
  } catch (const c10::Error& e) {
    throw FormatError(path, std::string("weights do not match the model: ") + e.what_without_backtrace());
  }
  WeightsInfo info;
  info.epoch = read_int(a, "epoch", path);
  info.stage = static_cast<int>(read_int(a, "stage", path));
  info.class_names = read_class_names(a, path);
  return info;
}

int64_t read_weights_epoch(const std::string& path) {
  torch::serialize::InputArchive a;
  load_archive(a, path);
  return read_int(a, "epoch", path);
}

}  // namespace merc::train
