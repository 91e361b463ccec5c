// read_state_dict: merc::io's torch.save reader (torch-free bytes) -> CPU torch tensors.

#include <cstring>

#include <torch/torch.h>

#include "merc/core/error.h"

#include "merc/io/safetensors.h"
#include "merc/io/torch_checkpoint.h"
#include "merc/models/upstream/import.h"

namespace merc::models::upstream {

namespace {

torch::Dtype ckpt_to_torch_dtype(io::TorchDType d) {
  switch (d) {
    case io::TorchDType::kFloat32: return torch::kFloat32;
    case io::TorchDType::kFloat64: return torch::kFloat64;
    case io::TorchDType::kFloat16: return torch::kFloat16;
    case io::TorchDType::kBFloat16: return torch::kBFloat16;
    case io::TorchDType::kInt64: return torch::kInt64;
    case io::TorchDType::kInt32: return torch::kInt32;
    case io::TorchDType::kInt16: return torch::kInt16;
    case io::TorchDType::kInt8: return torch::kInt8;
    case io::TorchDType::kUInt8: return torch::kUInt8;
    case io::TorchDType::kBool: return torch::kBool;
  }
  return torch::kFloat32;
}

}  // namespace

torch::Tensor to_tensor(const io::CheckpointTensor& t) {
  torch::Tensor out = torch::empty(t.shape, torch::TensorOptions().dtype(ckpt_to_torch_dtype(t.dtype)));
  if (!t.bytes.empty()) std::memcpy(out.data_ptr(), t.bytes.data(), t.bytes.size());
  return out;
}

namespace {

torch::Dtype st_to_torch_dtype(io::StDType d, const std::string& path, const std::string& name) {
  switch (d) {
    case io::StDType::kF32: return torch::kFloat32;
    case io::StDType::kF64: return torch::kFloat64;
    case io::StDType::kF16: return torch::kFloat16;
    case io::StDType::kBF16: return torch::kBFloat16;
    case io::StDType::kI64: return torch::kInt64;
    case io::StDType::kI32: return torch::kInt32;
    case io::StDType::kI16: return torch::kInt16;
    case io::StDType::kI8: return torch::kInt8;
    case io::StDType::kU8: return torch::kUInt8;
    case io::StDType::kBool: return torch::kBool;
    default: MERC_FORMAT_ERROR(path, "tensor '{}' has dtype {}, which merc models do not use", name, io::st_dtype_name(d));
  }
}

// A safetensors file (e.g. `merc export-weights`, or the authors' weights converted with
// safetensors.torch.save_file) holds a flat state_dict.
std::vector<NamedTensor> read_safetensors_state_dict(const std::string& path) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  std::vector<NamedTensor> out;
  for (const auto& v : f.tensors()) {
    torch::Tensor t = torch::empty(v.shape, torch::TensorOptions().dtype(st_to_torch_dtype(v.dtype, path, v.name)));
    if (v.size) std::memcpy(t.data_ptr(), v.data, v.size);
    out.push_back(NamedTensor{v.name, t});
  }
  return out;
}

}  // namespace

std::vector<NamedTensor> read_state_dict(const std::string& path, const ReadOptions& options) {
  if (io::sniff_safetensors_metadata(path)) {
    MERC_CHECK(options.key_path.empty(), "{}: a safetensors file is a flat state_dict; --state-dict-key does not apply",
               path);
    return read_safetensors_state_dict(path);
  }
  const io::TorchCheckpoint ckpt = io::read_torch_checkpoint(path);
  io::StateDictOptions o;
  o.key_path = options.key_path;
  o.strip_module_prefix = options.strip_module_prefix;
  std::vector<NamedTensor> out;
  for (const auto& t : io::extract_state_dict(ckpt, o)) out.push_back(NamedTensor{t.name, to_tensor(t)});
  return out;
}

}  // namespace merc::models::upstream
