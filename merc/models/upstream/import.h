#pragma once
// Loading an upstream state_dict into a merc model through its NameTable (name_table.h), and the
// reverse (merc weights under upstream names, for `merc export-weights --names upstream`).

#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "merc/models/model.h"
#include "merc/models/upstream/name_table.h"

namespace merc::models::upstream {

struct NamedTensor {
  std::string name;
  torch::Tensor value;
};

struct ReadOptions {
  // Slash-separated path of dict keys to the state_dict inside the checkpoint ("state_dict",
  // "model/net"); empty = found automatically (the root, or the one nested dict of tensors).
  std::string key_path;
  // Strip the "module." prefix DataParallel / DistributedDataParallel add (when every key has it).
  bool strip_module_prefix = true;
};

// Reads a torch.save file (zip or legacy format) and returns its state_dict as CPU tensors, in file
// order. Executes nothing (merc/io/torch_checkpoint.h). merc::FormatError naming `path` otherwise.
std::vector<NamedTensor> read_state_dict(const std::string& path, const ReadOptions& options = {});

struct ImportReport {
  int64_t upstream_keys = 0;    // keys in the file
  int64_t mapped_keys = 0;      // read through a rule
  int64_t ignored_keys = 0;     // present in the file and ignored by the table
  int64_t merc_tensors = 0;     // merc parameters + buffers filled
};

// Copies `state` into `model` (parameters and buffers) through `table`. Strict (see name_table.h);
// errors are one merc::FormatError naming `source` and listing every problem.
ImportReport load_upstream_state(Model& model, const NameTable& table, const std::vector<NamedTensor>& state,
                                 const std::string& source);

// The identity table: the model's own parameter and buffer names, copied as they are (`--names
// merc`: checkpoints written from merc weights, e.g. by `merc export-weights --names merc`).
NameTable merc_names_table(Model& model, const std::string& model_name);

// Writes `tensors` as a safetensors state_dict (loadable with safetensors.torch.load_file), with
// string `metadata` in its header. merc::Error for a dtype safetensors cannot hold.
void write_state_dict_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                                  const std::map<std::string, std::string>& metadata);

// The model's weights under upstream names (rules applied backwards), contiguous CPU float tensors
// in rule order. Ignored upstream keys are not produced (load with strict=False in Python; the
// missing keys are exactly the table's ignored ones).
std::vector<NamedTensor> export_upstream_state(Model& model, const NameTable& table);

}  // namespace merc::models::upstream
