// Applies a NameTable strictly: collects every problem first, then throws one error listing them
// all, so a user fixing a mismatched checkpoint sees the whole picture at once.

#include "merc/models/upstream/import.h"

#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "merc/core/error.h"

namespace merc::models::upstream {

namespace {

std::string upstream_shape_str(const torch::Tensor& t) { return fmt::format("{}", fmt::join(t.sizes().vec(), "x")); }

bool upstream_matches(const std::string& key, const std::string& pattern, bool prefix) {
  return prefix ? key.compare(0, pattern.size(), pattern) == 0 : key == pattern;
}

const IgnoredKey* upstream_find_ignored(const NameTable& table, const std::string& key) {
  for (const auto& ig : table.ignored)
    if (upstream_matches(key, ig.key, ig.prefix)) return &ig;
  return nullptr;
}

bool upstream_is_merc_only(const NameTable& table, const std::string& name) {
  for (const auto& m : table.merc_only)
    if (upstream_matches(name, m.name, m.prefix)) return true;
  return false;
}

// Every parameter and buffer of the model by name (the tensors share storage with the model).
std::map<std::string, torch::Tensor> upstream_merc_tensors(Model& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  for (const auto& b : model.named_buffers(/*recurse=*/true)) out[b.key()] = b.value();
  return out;
}

// Problems are listed at most this many per kind; the count says how many more.
constexpr size_t kMaxListed = 40;

void upstream_add_section(std::string& msg, const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  msg += fmt::format("\n  {} ({}):", title, items.size());
  for (size_t i = 0; i < items.size() && i < kMaxListed; ++i) msg += "\n    " + items[i];
  if (items.size() > kMaxListed) msg += fmt::format("\n    ... and {} more", items.size() - kMaxListed);
}

TensorList upstream_convert(const TensorTransform& f, const TensorList& in) {
  if (!f) return in;
  return f(in);
}

}  // namespace

ImportReport load_upstream_state(Model& model, const NameTable& table, const std::vector<NamedTensor>& state,
                                 const std::string& source) {
  std::map<std::string, torch::Tensor> file;
  for (const auto& t : state) file[t.name] = t.value;
  std::map<std::string, torch::Tensor> mine = upstream_merc_tensors(model);

  std::vector<std::string> missing, unmapped, bad_shape, unfilled, unknown_merc, twice;
  std::set<std::string> used_keys, filled;
  ImportReport report;
  report.upstream_keys = static_cast<int64_t>(state.size());

  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (merc destination, value)
  for (const auto& rule : table.rules) {
    TensorList in;
    bool complete = true;
    for (const auto& k : rule.upstream) {
      auto it = file.find(k);
      if (it == file.end()) {
        missing.push_back(k);
        complete = false;
      } else {
        in.push_back(it->second);
        used_keys.insert(k);
      }
    }
    if (!complete) continue;
    if (!rule.to_merc && (rule.upstream.size() != 1 || rule.merc.size() != 1))
      throw Error(fmt::format("upstream name table of '{}': a rule without a transform must map one key to one "
                              "name ({} -> {})", table.model, fmt::join(rule.upstream, ", "), fmt::join(rule.merc, ", ")));
    TensorList out;
    try {
      out = upstream_convert(rule.to_merc, in);
    } catch (const std::exception& e) {
      std::vector<std::string> shapes;
      for (size_t i = 0; i < in.size(); ++i) shapes.push_back(rule.upstream[i] + " " + upstream_shape_str(in[i]));
      bad_shape.push_back(fmt::format("{}: {}", fmt::join(shapes, ", "), e.what()));
      continue;
    }
    MERC_CHECK(out.size() == rule.merc.size(), "upstream name table of '{}': a transform returned {} tensors for {}",
               table.model, out.size(), fmt::join(rule.merc, ", "));
    for (size_t i = 0; i < out.size(); ++i) {
      const std::string& name = rule.merc[i];
      auto it = mine.find(name);
      if (it == mine.end()) {
        unknown_merc.push_back(name);
        continue;
      }
      if (!filled.insert(name).second) twice.push_back(name);
      if (it->second.sizes() != out[i].sizes()) {
        bad_shape.push_back(fmt::format("{} {} -> merc {} {}", fmt::join(rule.upstream, " + "),
                                        rule.to_merc ? "(transformed) " + upstream_shape_str(out[i]) : upstream_shape_str(out[i]), name,
                                        upstream_shape_str(it->second)));
        continue;
      }
      copies.emplace_back(it->second, out[i]);
    }
  }
  for (const auto& t : state) {
    if (used_keys.count(t.name)) continue;
    if (upstream_find_ignored(table, t.name)) {
      ++report.ignored_keys;
      continue;
    }
    unmapped.push_back(fmt::format("{} {}", t.name, upstream_shape_str(t.value)));
  }
  for (const auto& [name, tensor] : mine)
    if (!filled.count(name) && !upstream_is_merc_only(table, name)) unfilled.push_back(fmt::format("{} {}", name, upstream_shape_str(tensor)));

  std::string msg;
  upstream_add_section(msg, "keys the model needs that the file lacks", missing);
  upstream_add_section(msg, "keys in the file that no rule maps", unmapped);
  upstream_add_section(msg, "shape mismatches", bad_shape);
  upstream_add_section(msg, "merc tensors no key fills", unfilled);
  upstream_add_section(msg, "names in the table that the merc model does not have", unknown_merc);
  upstream_add_section(msg, "merc tensors filled twice", twice);
  if (!msg.empty())
    MERC_FORMAT_ERROR(source,
                      "this checkpoint does not fit model '{}' as configured (upstream names from {}; is it the "
                      "checkpoint of another model, dataset or config?){}",
                      table.model, table.upstream, msg);

  torch::NoGradGuard no_grad;
  for (auto& [dst, value] : copies) dst.copy_(value.to(dst.dtype()));
  report.mapped_keys = static_cast<int64_t>(used_keys.size());
  report.merc_tensors = static_cast<int64_t>(filled.size());
  return report;
}

NameTable merc_names_table(Model& model, const std::string& model_name) {
  NameTable t;
  t.model = model_name;
  t.upstream = "merc names";
  for (const auto& [name, tensor] : upstream_merc_tensors(model)) t.copy(name, name);
  return t;
}

std::vector<NamedTensor> export_upstream_state(Model& model, const NameTable& table) {
  std::map<std::string, torch::Tensor> mine = upstream_merc_tensors(model);
  torch::NoGradGuard no_grad;
  std::vector<NamedTensor> out;
  for (const auto& rule : table.rules) {
    TensorList in;
    for (const auto& n : rule.merc) {
      auto it = mine.find(n);
      MERC_CHECK(it != mine.end(), "upstream name table of '{}' names '{}', which the merc model does not have",
                 table.model, n);
      in.push_back(it->second.detach().cpu());
    }
    TensorList up = upstream_convert(rule.to_upstream, in);
    MERC_CHECK(up.size() == rule.upstream.size(), "upstream name table of '{}': the inverse transform of {} returned {} "
               "tensors", table.model, fmt::join(rule.merc, ", "), up.size());
    for (size_t i = 0; i < up.size(); ++i) out.push_back(NamedTensor{rule.upstream[i], up[i].contiguous()});
  }
  return out;
}

}  // namespace merc::models::upstream
