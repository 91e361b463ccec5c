// State_dict files: torch.save (merc::io's torch-free reader) or safetensors -> CPU torch tensors, and
// tensors -> safetensors.

#include <cstring>

#include <torch/torch.h>

#include <fmt/format.h>

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

io::StDType torch_to_st_dtype(const torch::Tensor& t, const std::string& name) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return io::StDType::kF32;
    case torch::kFloat64: return io::StDType::kF64;
    case torch::kFloat16: return io::StDType::kF16;
    case torch::kBFloat16: return io::StDType::kBF16;
    case torch::kInt64: return io::StDType::kI64;
    case torch::kInt32: return io::StDType::kI32;
    case torch::kInt16: return io::StDType::kI16;
    case torch::kInt8: return io::StDType::kI8;
    case torch::kUInt8: return io::StDType::kU8;
    case torch::kBool: return io::StDType::kBool;
    default:
      throw Error(fmt::format("cannot write tensor '{}' of dtype {} to safetensors", name,
                              c10::toString(t.scalar_type())));
  }
}

}  // namespace

void write_state_dict_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep;  // contiguous CPU copies the writer reads from
  std::vector<io::TensorToWrite> w;
  for (const auto& t : tensors) {
    keep.push_back(t.value.detach().contiguous().cpu());
    const torch::Tensor& v = keep.back();
    w.push_back(io::TensorToWrite{t.name, torch_to_st_dtype(v, t.name), v.sizes().vec(), v.data_ptr(),
                                  static_cast<uint64_t>(v.nbytes())});
  }
  io::write_safetensors_file(path, w, metadata);
}

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
