#include "merc/nn/t5/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "merc/io/safetensors.h"
#include "merc/io/torch_checkpoint.h"

namespace merc::nn::t5 {

namespace checkpoint_detail {

namespace fs = std::filesystem;

const std::string kMercBias = "relative_attention_bias.embedding.weight";
const std::string kHfBias = "relative_attention_bias.weight";

std::string replace_suffix(const std::string& name, const std::string& from, const std::string& to) {
  if (name.size() >= from.size() && name.compare(name.size() - from.size(), from.size(), from) == 0)
    return name.substr(0, name.size() - from.size()) + to;
  return name;
}

// Raw bytes (possibly unaligned) -> a CPU tensor of `dtype`.
torch::Tensor from_bytes(torch::ScalarType dtype, const std::vector<int64_t>& shape, const void* data, size_t size) {
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
  MERC_CHECK(static_cast<size_t>(t.nbytes()) == size, "t5 checkpoint: {} bytes for shape {}", size, t.sizes());
  if (size) std::memcpy(t.data_ptr(), data, size);
  return t;
}

// Only floating tensors belong in a T5 checkpoint.
torch::ScalarType st_float_dtype(io::StDType d, const std::string& source, const std::string& name) {
  switch (d) {
    case io::StDType::kF32: return torch::kFloat;
    case io::StDType::kF16: return torch::kHalf;
    case io::StDType::kBF16: return torch::kBFloat16;
    case io::StDType::kF64: return torch::kDouble;
    default: MERC_FORMAT_ERROR(source, "tensor '{}' has dtype {}; a T5 weight must be F16, BF16, F32 or F64", name,
                               io::st_dtype_name(d));
  }
}

torch::ScalarType torch_float_dtype(io::TorchDType d, const std::string& source, const std::string& name) {
  switch (d) {
    case io::TorchDType::kFloat32: return torch::kFloat;
    case io::TorchDType::kFloat16: return torch::kHalf;
    case io::TorchDType::kBFloat16: return torch::kBFloat16;
    case io::TorchDType::kFloat64: return torch::kDouble;
    default: MERC_FORMAT_ERROR(source, "tensor '{}' has dtype {}; a T5 weight must be float16, bfloat16, float32 or float64",
                               name, io::torch_dtype_name(d));
  }
}

HfStateDict read_safetensors(const std::string& path) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  HfStateDict out{path, {}};
  for (const io::TensorView& v : f.tensors())
    out.tensors.push_back({v.name, from_bytes(st_float_dtype(v.dtype, path, v.name), v.shape, v.data, v.size)});
  return out;
}

HfStateDict read_torch_bin(const std::string& path) {
  const io::TorchCheckpoint ckpt = io::read_torch_checkpoint(path);
  HfStateDict out{path, {}};
  for (const io::CheckpointTensor& t : io::extract_state_dict(ckpt))
    out.tensors.push_back(
        {t.name, from_bytes(torch_float_dtype(t.dtype, path, t.name), t.shape, t.bytes.data(), t.bytes.size())});
  return out;
}

std::string shape_string(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

bool matches_any(const std::string& name, const std::vector<std::regex>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::regex& r) { return std::regex_search(name, r); });
}

// What load_t5_state found wrong, reported all at once.
struct Problems {
  std::set<std::string> missing, unexpected;
  std::vector<std::string> shapes;

  bool empty() const { return missing.empty() && unexpected.empty() && shapes.empty(); }
  std::string message() const {
    std::ostringstream s;
    s << "does not fit this T5 model:";
    if (!missing.empty()) s << fmt::format("\n  missing keys ({}): {}", missing.size(), fmt::join(missing, ", "));
    if (!unexpected.empty())
      s << fmt::format("\n  unexpected keys ({}): {}", unexpected.size(), fmt::join(unexpected, ", "));
    for (const auto& m : shapes) s << "\n  " << m;
    return s.str();
  }
};

bool is_embed_copy(const std::string& hf) {
  return hf == "encoder.embed_tokens.weight" || hf == "decoder.embed_tokens.weight";
}

// The tensor that plays shared.weight: shared.weight itself, else one of its tied copies (some
// exports keep only those).
const HfTensor* find_shared(const HfStateDict& state) {
  const HfTensor* copy = nullptr;
  for (const HfTensor& t : state.tensors) {
    if (t.name == "shared.weight") return &t;
    if (!copy && is_embed_copy(t.name)) copy = &t;
  }
  return copy;
}

}  // namespace checkpoint_detail

std::string hf_parameter_name(const std::string& merc_name) {
  using namespace checkpoint_detail;
  return replace_suffix(merc_name, kMercBias, kHfBias);
}

std::string merc_parameter_name(const std::string& hf_name) {
  using namespace checkpoint_detail;
  return replace_suffix(hf_name, kHfBias, kMercBias);
}

HfStateDict read_hf_weights_file(const std::string& path) {
  using namespace checkpoint_detail;
  // By name, not by sniffing: a damaged .safetensors should get the safetensors reader's message.
  return fs::path(path).extension() == ".safetensors" ? read_safetensors(path) : read_torch_bin(path);
}

HfStateDict read_hf_state_dict(const std::string& dir) {
  using namespace checkpoint_detail;
  const fs::path d(dir);
  if (fs::exists(d / "model.safetensors")) return read_hf_weights_file((d / "model.safetensors").string());
  if (fs::exists(d / "pytorch_model.bin")) return read_hf_weights_file((d / "pytorch_model.bin").string());
  const bool sharded = fs::exists(d / "model.safetensors.index.json") || fs::exists(d / "pytorch_model.bin.index.json");
  MERC_FORMAT_ERROR(dir, "{} (a T5 checkpoint folder needs model.safetensors or pytorch_model.bin)",
                    sharded ? "holds a sharded checkpoint, which merc does not read"
                            : "has neither model.safetensors nor pytorch_model.bin");
}

T5LoadReport load_t5_state(T5ModelImpl& model, const HfStateDict& state, const T5LoadOptions& options) {
  using namespace checkpoint_detail;
  const bool tied = model.options.config.tie_word_embeddings;
  std::vector<std::regex> keep;
  for (const auto& p : options.keep_initial) keep.emplace_back(p);
  auto params = model.named_parameters();
  T5LoadReport report;
  report.source = state.source;
  Problems problems;
  std::map<std::string, torch::Tensor> chosen;  // merc name -> tensor to copy
  const HfTensor* shared = find_shared(state);
  if (shared) chosen["shared.weight"] = shared->value;
  std::set<std::string> seen;
  for (const HfTensor& t : state.tensors) {
    MERC_CHECK(seen.insert(t.name).second, "{}: key '{}' appears twice", state.source, t.name);
    if (t.name == "shared.weight" || is_embed_copy(t.name) || (tied && t.name == "lm_head.weight")) {
      if (&t != shared) report.tied_copies.push_back(t.name);
      if (shared && t.value.sizes() != shared->value.sizes())
        problems.shapes.push_back(fmt::format("'{}' has shape {} but shared.weight {}", t.name, shape_string(t.value),
                                              shape_string(shared->value)));
      continue;
    }
    const std::string name = merc_parameter_name(t.name);
    if (!params.contains(name)) {
      problems.unexpected.insert(t.name);
      continue;
    }
    chosen[name] = t.value;
  }
  for (const auto& p : params) {
    const auto it = chosen.find(p.key());
    if (it == chosen.end()) {
      if (matches_any(p.key(), keep))
        report.left_at_init.push_back(p.key());
      else
        problems.missing.insert(hf_parameter_name(p.key()));
    } else if (it->second.sizes() != p.value().sizes()) {
      problems.shapes.push_back(fmt::format("'{}' has shape {} in the checkpoint but {} in the model",
                                            hf_parameter_name(p.key()), shape_string(it->second),
                                            shape_string(p.value())));
    }
  }
  if (!problems.empty()) MERC_FORMAT_ERROR(state.source, "{}", problems.message());
  torch::NoGradGuard no_grad;
  for (auto& p : params) {
    const auto it = chosen.find(p.key());
    if (it == chosen.end()) continue;
    p.value().copy_(it->second.to(torch::kFloat));  // half / bfloat16 widened first, then the model's dtype
    ++report.loaded;
  }
  std::sort(report.tied_copies.begin(), report.tied_copies.end());
  std::sort(report.left_at_init.begin(), report.left_at_init.end());
  return report;
}

LoadedT5 load_t5_pretrained(const std::string& dir, const T5LoadOptions& options) {
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  MERC_CHECK(std::filesystem::exists(config_path), "{}: a T5 checkpoint folder needs config.json", dir);
  T5ModelOptions o;
  o.config = read_t5_config(config_path);
  o.extra_cross_attention_from = options.extra_cross_attention_from;
  LoadedT5 out{T5Model(o), {}};
  out.report = load_t5_state(*out.model, read_hf_state_dict(dir), options);
  out.model->eval();
  return out;
}

HfStateDict t5_hf_state_dict(T5ModelImpl& model) {
  HfStateDict out{"merc T5Model", {}};
  for (const auto& p : model.named_parameters())
    out.tensors.push_back({hf_parameter_name(p.key()), p.value().detach().to(torch::kCPU, torch::kFloat).contiguous()});
  return out;
}

void save_t5_pretrained(T5ModelImpl& model, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::filesystem::path d(dir);
  io::write_file_atomically((d / "config.json").string(), t5_config_json(model.options.config));
  const HfStateDict state = t5_hf_state_dict(model);
  std::vector<io::TensorToWrite> tensors;
  for (const HfTensor& t : state.tensors)
    tensors.push_back({t.name, io::StDType::kF32, t.value.sizes().vec(), t.value.data_ptr(),
                       static_cast<uint64_t>(t.value.nbytes())});
  io::write_safetensors_file((d / "model.safetensors").string(), tensors, {{"format", "pt"}});
}

}  // namespace merc::nn::t5
