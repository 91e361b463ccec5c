#include "merc/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/utils.h>

#include "merc/core/error.h"
#include "merc/core/progress.h"
#include "merc/data/missing_protocol.h"
#include "merc/data/splits.h"
#include "merc/io/binary_file.h"
#include "merc/models/registry.h"
#include "merc/train/checkpoint.h"
#include "merc/train/evaluate.h"
#include "merc/train/init_weights.h"
#include "merc/train/losses.h"
#include "merc/train/optimizers.h"
#include "merc/train/run_data.h"
#include "merc/train/schedulers.h"
#include "merc/train/stage_optimizers.h"

namespace merc::train {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

std::string selection_label(const ExperimentConfig& config) {
  const std::string leak = input_leak_note(config);
  const std::string base = config.test_max() ? "test-max (published protocol: the epoch is selected on the TEST set; "
                                               "numbers are optimistic)"
                                             : "validation";
  return leak.empty() ? base : base + "; " + leak;
}

std::vector<int64_t> stage_starts(const models::Model& model, int64_t epochs) {
  std::vector<int64_t> starts{0};
  for (int64_t e = 1; e < epochs; ++e)
    if (model.stage_for_epoch(e, epochs) != model.stage_for_epoch(e - 1, epochs)) starts.push_back(e);
  return starts;
}

std::string selection_metric(const ExperimentConfig& config, data::Task task) {
  if (config.train.metric != "auto") return config.train.metric;
  return task == data::Task::kClassification ? "weighted_f1" : "mae";
}

void configure_torch(const TrainConfig& config) {
  if (config.threads > 0) torch::set_num_threads(static_cast<int>(config.threads));
  torch::manual_seed(static_cast<uint64_t>(config.seed));
}

torch::Device resolve_device(const std::string& device) {
  if (device == "cpu") return torch::kCPU;
  if (device.rfind("cuda", 0) == 0) {
    MERC_CHECK(torch::cuda::is_available(), "device '{}' requested but this merc has no CUDA device available "
               "(CPU-only LibTorch or no GPU); use --device cpu", device);
    try {
      return torch::Device(device);
    } catch (const c10::Error&) {
      throw Error(fmt::format("device '{}': expected cuda or cuda:N", device));
    }
  }
  throw Error(fmt::format("device '{}': expected cpu, cuda or cuda:N", device));
}

namespace {

// Keeps the first `epochs` lines of train_log.jsonl (a run killed between writing the log line and
// the checkpoint left one line too many).
void truncate_log(const std::string& path, int64_t epochs) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line) && static_cast<int64_t>(lines.size()) < epochs;)
    if (!line.empty()) lines.push_back(line);
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  io::write_file_atomically(path, out);
}

// A model.pt.pending left by a kill between writing it and renaming it: keep it when the checkpoint
// already names its epoch as the best (the kill came after the checkpoint), else drop it.
void settle_pending_weights(const std::string& pending, const std::string& best, int64_t best_epoch) {
  if (!fs::exists(pending)) return;
  bool keep = false;
  try {
    keep = read_weights_epoch(pending) == best_epoch;
  } catch (const Error&) {
    keep = false;  // torn or unreadable: the checkpoint cannot refer to it
  }
  if (keep) fs::rename(pending, best);
  else fs::remove(pending);
}

// The metrics an evaluation of `task` produces, plus "loss" (added by the trainer).
void check_metric_for_task(const std::string& metric, data::Task task) {
  std::vector<std::string> valid = metrics::metric_names(task);
  valid.push_back("loss");
  if (std::find(valid.begin(), valid.end(), metric) == valid.end())
    throw UnknownNameError(fmt::format("train.metric '{}' is not a {} metric; valid: {}", metric,
                                       data::task_name(task), fmt::join(valid, ", ")));
}


}  // namespace

TrainResult train_model(const ExperimentConfig& config_in, const data::Dataset& dataset, const TrainOptions& options) {
  MERC_CHECK(!options.out_dir.empty(), "train: no output directory given");
  const fs::path dir(options.out_dir);
  const std::string ckpt_path = (dir / "checkpoint.pt").string();
  const std::string best_path = (dir / "model.pt").string();
  const std::string log_path = (dir / "train_log.jsonl").string();
  std::ostream* log = options.log;

  ExperimentConfig config = config_in;
  CheckpointHeader header;
  bool resume = options.resume;
  if (resume && !fs::exists(ckpt_path)) {
    // Killed before the first checkpoint was complete: nothing was trained yet, so start the run
    // over from its saved config.
    const std::string saved = (dir / "config.yaml").string();
    MERC_CHECK(fs::exists(saved), "cannot resume: {} has neither checkpoint.pt nor config.yaml (was the run started "
               "with --out {}?)", options.out_dir, options.out_dir);
    config = load_config_file(saved);
    resume = false;
    if (log) *log << fmt::format("{} has no checkpoint yet: starting the run over from its config.yaml\n", options.out_dir);
  } else if (resume) {
    header = read_checkpoint_header(ckpt_path);
    config = ExperimentConfig();
    apply_yaml_text(config, header.config_yaml, ckpt_path + " (config)");
    config.validate();
  } else if (!options.resume) {
    MERC_CHECK(!fs::exists(ckpt_path), "{} already holds a run (checkpoint.pt); use --resume to continue it or "
               "choose another --out", options.out_dir);
  }
  fs::create_directories(dir);
  const std::string config_yaml = to_yaml_text(config);
  if (!resume) io::write_file_atomically((dir / "config.yaml").string(), config_yaml);

  configure_torch(config.train);
  const torch::Device device = resolve_device(config.train.device);
  const RunData rd = select_partitions(dataset, config);
  const models::ModelDims dims = models::model_dims(dataset.info, config.model->modalities, rd.task);
  if (resume)
    MERC_CHECK(header.dims == dims, "cannot resume: the dataset gives model dims '{}' but the checkpoint was trained "
               "with '{}'", dims.describe(), header.dims.describe());
  auto build = [&] { return options.build_model ? options.build_model(dims) : models::build_model(*config.model, dims); };
  std::shared_ptr<models::Model> model = build();
  // train.init_from: a fresh run starts from given weights, before any optimizer holds the tensors.
  std::string init_line;
  if (!resume && !config.train.init_from.empty())
    init_line = load_initial_weights(*model, *config.model, dims, {config.train.init_from, config.train.init_names}, build);
  model->to(device);
  const TaskLoss loss = find_loss(config.train.loss, rd.task, config.train.loss_options());
  const std::string metric = selection_metric(config, rd.task);
  const bool higher = metrics::higher_is_better(metric);
  check_metric_for_task(metric, rd.task);
  LrScheduler scheduler(config.train, config.train.schedule_per_stage
                                          ? stage_starts(*model, config.train.epochs)
                                          : std::vector<int64_t>{});
  const uint64_t mask_seed = config.protocol_seed();
  auto train_protocol = data::make_missing_protocol(
      config.protocol.train, mask_seed,
      config.protocol.redraw == "fixed" ? data::RedrawMode::kFixed : data::RedrawMode::kPerBatch);
  EvalOptions eval_opts = evaluation_options(config, device);
  data::make_missing_protocol(config.protocol.test, mask_seed);  // validate the spec before training

  // Shuffle stream: its own seed so that it does not depend on how many draws init made.
  data::SplitRng shuffle_rng(static_cast<uint64_t>(config.train.seed) * 0x9E3779B97F4A7C15ULL + 17);
  TrainingState state;
  {
    // A schedule whose later stages lie beyond train.epochs would select and report an epoch of a
    // model whose final stage (e.g. ComP's fused head) was never trained: refuse it up front.
    const int64_t far = int64_t{1} << 40;
    const int reached = model->stage_for_epoch(config.train.epochs - 1, config.train.epochs);
    const int eventual = model->stage_for_epoch(far, far);
    MERC_CHECK(reached >= eventual,
               "train.epochs = {} ends in stage {} but {}'s schedule has a stage {} (see the model's stage_epoch): its "
               "final stage would never be trained",
               config.train.epochs, reached, config.model->name, eventual);
    MERC_CHECK(reached >= config.protocol.from_stage,
               "protocol.from_stage = {} is never reached: train.epochs = {} ends in stage {}", config.protocol.from_stage,
               config.train.epochs, reached);
  }
  int stage = resume ? header.stage : model->stage_for_epoch(0, config.train.epochs);
  model->set_stage(stage);
  StageOptimizers optimizers;
  optimizers.build(*model, stage, config.train);
  const std::string pending_path = best_path + ".pending";
  // Captures every generator and schedule state into `state` and writes checkpoint.pt.
  auto write_checkpoint = [&] {
    state.stage = stage;
    state.shuffle_rng = shuffle_rng.state();
    state.protocol_rng = train_protocol->rng_state();
    state.scheduler = scheduler.state();
    state.torch_rng = torch_rng_state();
    save_checkpoint(ckpt_path, config_yaml, dims, *model, optimizers.raw(), state);
  };
  if (resume) {
    state = load_checkpoint(ckpt_path, *model, optimizers.raw());
    set_torch_rng_state(state.torch_rng);
    shuffle_rng = data::SplitRng(state.shuffle_rng);
    train_protocol->set_rng_state(state.protocol_rng);
    scheduler.set_state(state.scheduler);
    truncate_log(log_path, state.epochs_done);
    settle_pending_weights(pending_path, best_path, state.best_epoch);
    if (log) *log << fmt::format("resuming {} after epoch {}\n", options.out_dir, state.epochs_done);
  } else {
    io::write_file_atomically(log_path, "");
    fs::remove(pending_path);
    // Epoch-0 checkpoint: a run killed at any later moment can be resumed.
    write_checkpoint();
  }
  if (log && !resume) {
    *log << fmt::format("merc train: {} on {} ({} dialogues train / {} valid / {} test), split '{}'\n",
                        config.model->name, dataset.info.name, rd.train.size(), rd.valid.size(), rd.test.size(),
                        rd.scheme.name);
    for (const auto& n : rd.notes) *log << "  note: " << n << "\n";
    if (!init_line.empty()) *log << "  init: " << init_line << "\n";
    *log << fmt::format("  model: {} ({} parameters)\n", dims.describe(), [&] {
      int64_t n = 0;
      for (const auto& p : model->parameters()) n += p.numel();
      return n;
    }());
    *log << fmt::format("  selection: {} on {}\n", selection_label(config), metric);
  }

  const ProgressMode mode = parse_progress_mode(config.train.progress, options.bar_stream);
  TrainResult result;
  result.selection = selection_label(config);
  const std::string leak = input_leak_note(config);  // marks every epoch line, as test-max does
  result.metric = metric;
  result.run_dir = options.out_dir;
  int64_t epochs_this_call = 0;
  std::vector<const data::Dialogue*> order = rd.train;

  if (config.train.early_stopping > 0 && state.bad_epochs >= config.train.early_stopping) result.early_stopped = true;
  if (options.stop_after_epochs == 0 && state.epochs_done < config.train.epochs) {
    result.epochs_run = state.epochs_done;
    return result;  // the starting weights only (tests of train.init_from)
  }
  for (int64_t epoch = state.epochs_done; epoch < config.train.epochs && !result.early_stopped; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const int new_stage = model->stage_for_epoch(epoch, config.train.epochs);
    if (new_stage != stage) {
      stage = new_stage;
      model->set_stage(stage);
      optimizers.build(*model, stage, config.train);
    }
    const double lr = scheduler.lr_for_epoch(epoch);
    optimizers.set_lr(lr);
    order = rd.train;
    if (config.train.shuffle) data::shuffle_in_place(order, shuffle_rng);
    const auto batches = make_batches(order, config.train.batch_size);
    const int substeps = model->substeps(stage);
    model->train();
    metrics::MetricAccumulator train_acc(dims.task, dims.num_classes);
    double loss_sum = 0.0;
    int64_t n_sum = 0;
    ProgressBar bar(mode, options.bar_stream, fmt::format("epoch {}/{}", epoch + 1, config.train.epochs),
                    static_cast<int64_t>(batches.size()));
    for (size_t bi = 0; bi < batches.size(); ++bi) {
      data::DialogueBatch batch = data::collate(batches[bi], dataset.info);
      const torch::Tensor keep = train_protocol->draw(
          batch, data::BatchPosition{epoch, static_cast<int64_t>(bi), static_cast<int64_t>(batches.size())});
      // protocol.from_stage: the mask is drawn either way (the stream does not depend on the stage)
      // but only applied from that stage on.
      if (stage >= config.protocol.from_stage) data::apply_missing(batch, keep);
      const data::DialogueBatch dev = batch.to(device);
      models::ModelOutput out;
      torch::Tensor task_loss;
      for (int s = 0; s < substeps; ++s) {
        const models::ForwardContext ctx{epoch, stage, s};
        if (substeps > 1 && !model->run_substep(dev, ctx)) continue;
        const models::SubstepPlan plan = substeps > 1 ? model->substep_plan(stage, s) : models::SubstepPlan{};
        model->zero_grad();
        out = model->forward(dev, ctx);
        task_loss = loss.compute(out.logits, dev);
        torch::Tensor total = task_loss * out.task_loss_weight;
        for (const auto& [name, aux] : out.aux_losses) total = total + aux;
        // A substep with nothing to learn on this batch (no loss term depends on a parameter, e.g.
        // an adversarial step with fewer than two eligible rows) takes no step.
        if (!total.requires_grad()) continue;
        if (!std::isfinite(total.item<double>()))
          throw Error(fmt::format("training diverged: the loss is {} at epoch {} batch {}; lower train.lr or set "
                                  "train.clip_norm", total.item<double>(), epoch + 1, bi + 1));
        total.backward();
        model->after_backward(ctx, out);
        if (plan.clip && config.train.clip_value > 0)
          torch::nn::utils::clip_grad_value_(model->parameters(), config.train.clip_value);
        if (plan.clip && config.train.clip_norm > 0)
          torch::nn::utils::clip_grad_norm_(model->parameters(), config.train.clip_norm);
        optimizers.at(static_cast<size_t>(plan.optimizer)).step();
      }
      MERC_CHECK(task_loss.defined(), "model {} ran none of its {} substeps on batch {} of epoch {}",
                 config.model->name, substeps, bi + 1, epoch + 1);
      const int64_t n = data::target_mask(batch, dims.task).sum().item<int64_t>();
      loss_sum += task_loss.item<double>() * static_cast<double>(n);
      n_sum += n;
      train_acc.add(out.logits.detach().to(torch::kCPU).to(torch::kFloat), batch.label, batch.score,
                    batch.utterance_mask);
      bar.update(static_cast<int64_t>(bi + 1),
                 state.has_best ? fmt::format("loss {:.4f} | best {} {:.4f} @ {}", n_sum ? loss_sum / n_sum : 0.0, metric,
                                              state.best_value, state.best_epoch)
                                : fmt::format("loss {:.4f}", n_sum ? loss_sum / n_sum : 0.0));
    }
    bar.finish();
    const double train_loss = n_sum ? loss_sum / static_cast<double>(n_sum) : 0.0;

    // Evaluate and select (in the epoch's stage).
    eval_opts.epoch = epoch;
    eval_opts.stage = stage;
    ordered_json line = ordered_json::object();
    line["epoch"] = epoch + 1;
    line["stage"] = stage;
    line["lr"] = lr;
    line["train_loss"] = train_loss;
    line["train"] = metrics_to_json(train_acc.compute());
    metrics::MetricValues valid_m, test_m;
    if (!rd.valid.empty()) {
      eval_opts.partition = "valid";
      const EvalResult v = evaluate(*model, rd.valid, dataset.info, dims, loss, eval_opts);
      valid_m = v.metrics;
      valid_m.set("loss", v.loss);  // selectable: train.metric=loss (early stopping on validation loss)
      line["valid_loss"] = v.loss;
      line["valid"] = metrics_to_json(valid_m);
    }
    if (config.test_max()) {
      eval_opts.partition = "test";
      const EvalResult t = evaluate(*model, rd.test, dataset.info, dims, loss, eval_opts);
      test_m = t.metrics;
      test_m.set("loss", t.loss);
      line["test"] = metrics_to_json(test_m);
    }
    const double value = (config.test_max() ? test_m : valid_m).get(metric);
    // Epochs before protocol.from_stage ran on complete modalities: not selectable, and they do not
    // count towards early stopping.
    const bool selectable = stage >= config.protocol.from_stage;
    const bool improved = selectable && std::isfinite(value) &&
                          (!state.has_best || (higher ? value > state.best_value : value < state.best_value));
    if (improved) {
      state.has_best = true;
      state.best_value = value;
      state.best_epoch = epoch + 1;
      state.bad_epochs = 0;
      // Written aside and renamed only after the checkpoint that records this epoch as the best,
      // so model.pt never holds weights the checkpoint does not know about.
      save_weights(pending_path, config_yaml, dims, *model, epoch + 1, stage, dataset.info.class_names);
      state.best_metrics_json = ordered_json{{"valid", metrics_to_json(valid_m)}, {"test", metrics_to_json(test_m)}}.dump();
    } else if (selectable) {
      ++state.bad_epochs;
    }
    // Epochs before from_stage ran on complete modalities: they must not drive the lr schedule.
    if (selectable) scheduler.observe(value, higher);
    line["selected"] = improved;
    if (!selectable) line["selectable"] = false;
    if (config.test_max()) line["selection"] = "test-max";
    if (!leak.empty()) line["input_leak"] = leak;
    line["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    {
      std::ofstream out(log_path, std::ios::app);
      out << line.dump() << "\n";
    }
    state.epochs_done = epoch + 1;
    write_checkpoint();
    if (improved) fs::rename(pending_path, best_path);
    if (log && mode != ProgressMode::kNone)
      *log << fmt::format("epoch {}/{} lr {:.3g} train loss {:.4f} | {} {} {:.4f} (best {:.4f} @ {}) | {:.1f}s\n",
                          epoch + 1, config.train.epochs, lr, train_loss, config.test_max() ? "test" : "valid", metric,
                          value, state.best_value, state.best_epoch, line["seconds"].get<double>());
    ++epochs_this_call;
    if (config.train.early_stopping > 0 && state.bad_epochs >= config.train.early_stopping) {
      result.early_stopped = true;
      if (log) *log << fmt::format("early stopping: {} epochs without improvement\n", state.bad_epochs);
      break;
    }
    if (options.stop_after_epochs >= 0 && epochs_this_call >= options.stop_after_epochs &&
        state.epochs_done < config.train.epochs) {
      result.epochs_run = state.epochs_done;
      return result;  // as if killed: checkpoint written, no metrics.json
    }
  }

  // Final: the selected weights; test (validation selection) evaluated once, here.
  MERC_CHECK(state.has_best, "no epoch produced a finite {} ; nothing was selected", metric);
  const WeightsInfo best_info = load_weights(best_path, *model);
  model->set_stage(best_info.stage);
  eval_opts.epoch = best_info.epoch - 1;
  eval_opts.stage = best_info.stage;
  const auto best = ordered_json::parse(state.best_metrics_json);
  ordered_json valid_j = best.at("valid"), test_j = best.at("test");
  if (!config.test_max()) {
    eval_opts.partition = "test";
    const EvalResult t = evaluate(*model, rd.test, dataset.info, dims, loss, eval_opts);
    result.test = t.metrics;
    result.test.set("loss", t.loss);
    test_j = metrics_to_json(result.test);
  }
  result.best_epoch = state.best_epoch;
  result.epochs_run = state.epochs_done;
  result.finished = true;
  ordered_json m = ordered_json::object();
  m["selection"] = config.test_max() ? "test-max" : "validation";
  if (config.test_max()) m["selection_note"] = result.selection;
  const std::string leak_note = input_leak_note(config);
  if (!leak_note.empty()) m["input_leak"] = leak_note;
  m["metric"] = metric;
  m["best_epoch"] = state.best_epoch;
  m["epochs_run"] = state.epochs_done;
  m["early_stopped"] = result.early_stopped;
  m["dataset"] = dataset.info.name;
  m["split"] = rd.scheme.name;
  m["model"] = config.model->name;
  m["task"] = data::task_name(rd.task);
  m["protocol"] = {{"train", config.protocol.train}, {"test", config.protocol.test}};
  if (config.protocol.from_stage > 0) m["protocol"]["from_stage"] = config.protocol.from_stage;
  m["valid"] = valid_j;
  m["test"] = test_j;
  io::write_file_atomically((dir / "metrics.json").string(), m.dump(2) + "\n");
  result.valid = metrics_from_json(valid_j);
  if (config.test_max()) result.test = metrics_from_json(test_j);
  return result;
}

}  // namespace merc::train
