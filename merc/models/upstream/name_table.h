#pragma once
// Upstream names -> merc parameters: how a state_dict written by an author's PyTorch code maps onto
// the parameters and buffers of the merc model built from the same published configuration.
//
// A NameTable lists, for one model built from one config and one set of dims:
//  - rules: upstream keys read together -> the merc names they fill, with a transform when the
//    layouts differ (a fused q/k/v GEMM from three Linears, a transposed weight, GRU gate order...);
//  - ignored: upstream keys the reference creates but its forward never reads (e.g. a module built
//    for a modality the published command switches off), each with the reason;
//  - merc_only: merc parameters or buffers with no upstream counterpart, with the reason (they keep
//    the value the model was built with).
// import.h applies a table strictly: every key of the file must be covered by a rule or an ignore,
// every rule key must be in the file with the shape the transform accepts, and every merc parameter
// and buffer must be filled exactly once or listed in merc_only. Any violation is one
// merc::FormatError listing all of them.

#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace merc::models::upstream {

using TensorList = std::vector<torch::Tensor>;
// Converts the tensors of one rule from one side's layout to the other's (same order as the names).
using TensorTransform = std::function<TensorList(const TensorList&)>;

struct NameRule {
  std::vector<std::string> upstream;  // keys in the upstream state_dict
  std::vector<std::string> merc;      // merc named_parameters() / named_buffers() names
  // Upstream tensors (in `upstream` order) -> merc tensors (in `merc` order). Empty: a 1:1 copy,
  // which requires one name on each side and equal shapes.
  TensorTransform to_merc;
  // The inverse, for `merc export-weights --names upstream`. Empty: a 1:1 copy.
  TensorTransform to_upstream;
  std::string note;  // why a transform is needed ("" for plain copies)
};

struct IgnoredKey {
  std::string key;      // exact key, or a prefix when `prefix` is true
  bool prefix = false;
  std::string why;
};

struct MercOnly {
  std::string name;     // exact merc name, or a prefix when `prefix` is true
  bool prefix = false;
  std::string why;
};

struct NameTable {
  std::string model;     // merc model name
  std::string upstream;  // "owner/repo@commit" the names come from
  std::vector<NameRule> rules;
  std::vector<IgnoredKey> ignored;
  std::vector<MercOnly> merc_only;

  // ---- builders for the common cases ----
  // upstream_key -> merc_name, copied as is.
  void copy(const std::string& upstream_key, const std::string& merc_name);
  // `<up>.weight` / `<up>.bias` -> `<merc>.weight` / `<merc>.bias` (bias only when `bias`).
  void linear(const std::string& up, const std::string& merc, bool bias = true);
  // BatchNorm: weight, bias, running_mean, running_var, num_batches_tracked.
  void batch_norm(const std::string& up, const std::string& merc);
  // LayerNorm: weight, bias.
  void layer_norm(const std::string& up, const std::string& merc);
  // Every parameter of torch::nn::GRU / LSTM (weight_ih_l{k}[_reverse], weight_hh, bias_ih, bias_hh):
  // torch and LibTorch use the same names and gate layouts, so these are copies.
  void rnn(const std::string& up, const std::string& merc, int64_t num_layers, bool bidirectional);
  void ignore(const std::string& key, const std::string& why);
  void ignore_prefix(const std::string& prefix, const std::string& why);
  void only_in_merc(const std::string& name, const std::string& why, bool prefix = false);
};

}  // namespace merc::models::upstream
