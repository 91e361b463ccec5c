#include "merc/app/run_predictions.h"

#include <fmt/format.h>

#include "merc/app/train_cmd.h"
#include "merc/core/error.h"
#include "merc/models/registry.h"
#include "merc/train/losses.h"
#include "merc/train/run_data.h"
#include "merc/train/trainer.h"

namespace merc::app {

const std::vector<const data::Dialogue*>& pick_partition(const train::RunData& rd, const std::string& dir,
                                                         const std::string& partition) {
  const std::vector<const data::Dialogue*>* part = nullptr;
  if (partition == "test") part = &rd.test;
  else if (partition == "train") part = &rd.train;
  else if (partition == "valid" || (!rd.valid_name.empty() && partition == rd.valid_name)) part = &rd.valid;
  MERC_CHECK(part, "{}: partition '{}': expected train, valid or test", dir, partition);
  MERC_CHECK(!part->empty(), "{}: partition '{}' of split '{}' is empty", dir, partition, rd.scheme.name);
  return *part;
}

std::string MaskPlan::describe() const {
  return fixed ? fmt::format("seed {}, per-dialogue masks", seed)
               : fmt::format("seed {}, per-batch stream of epoch {}, batches of {}", seed, epoch, batch_size);
}

RunPredictions predict_saved_run(const std::string& dir, const RunPredictionRequest& request) {
  RunPredictions out;
  out.run_dir = dir;
  out.run = load_run(dir, request.threads, request.device);
  const train::ExperimentConfig& config = out.run.config;
  const data::Dataset ds = load_experiment_dataset(config.data, run_featurizer_path(dir), "");
  const train::RunData rd = train::select_partitions(ds, config, /*require_valid=*/false);
  const models::ModelDims dims = models::model_dims(ds.info, config.model->modalities, rd.task);
  MERC_CHECK(dims == out.run.dims, "{}: the dataset gives model dims '{}' but the run was trained with '{}'", dir,
             dims.describe(), out.run.dims.describe());
  const bool cls = rd.task == data::Task::kClassification;
  MERC_CHECK(!cls || static_cast<int64_t>(out.run.class_names.size()) == dims.num_classes,
             "{}/model.pt lists {} class names for {} classes", dir, out.run.class_names.size(), dims.num_classes);
  const auto& part = pick_partition(rd, dir, request.partition);

  train::EvalOptions o = train::evaluation_options(config, train::resolve_device(config.train.device));
  o.protocol = request.protocol.empty() ? config.protocol.test : request.protocol;
  o.partition = request.partition == "test" ? "test" : request.partition == "train" ? "train" : "valid";
  o.keep_predictions = true;
  o.keep_features = request.keep_features;
  o.epoch = out.run.epoch - 1;
  o.stage = out.run.stage;
  if (request.masks) {
    o.seed = request.masks->seed;
    o.fixed_masks = request.masks->fixed;
    o.mask_epoch = request.masks->epoch;
    o.batch_size = request.masks->batch_size;
  }
  out.masks = MaskPlan{o.seed, o.fixed_masks, o.mask_epoch >= 0 ? o.mask_epoch : o.epoch, o.batch_size};
  const train::TaskLoss loss = train::find_loss(config.train.loss, rd.task, config.train.loss_options());
  out.result = train::evaluate(*out.run.model, part, ds.info, dims, loss, o);

  out.dataset = ds.info.name;
  out.dataset_info = ds.info;
  out.dataset_path = config.data.path;
  out.split = rd.scheme.name;
  out.partition = request.partition;
  out.protocol = o.protocol;
  out.partition_dialogues = static_cast<int64_t>(part.size());
  out.selection = out.run.imported ? "imported" : config.test_max() ? "test-max" : "validation";
  out.selection_note = out.run.imported ? out.run.provenance.describe() : train::selection_label(config);
  return out;
}

}  // namespace merc::app
