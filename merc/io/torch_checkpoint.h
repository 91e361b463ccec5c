#pragma once
// Reading files written by torch.save, safely: the zip format (PyTorch >= 1.6: <top>/data.pkl,
// <top>/data/<key> storages, <top>/version, <top>/byteorder; <top> is the file's stem at save time,
// not always "archive") and the legacy format (magic number, protocol version and sys_info
// pickles, the object pickle, the storage-key list pickle, then each storage as an int64 element
// count and its raw bytes).
//
// The object pickle goes through merc's pickle VM with PickleOptions::torch: nothing is executed,
// globals resolve only against the allow-list plus torch's tensor-rebuild functions and storage
// classes. A whole pickled nn.Module, TorchScript archives, the pre-0.4 tar format, missing or short
// storages, offsets or strides outside a storage, truncated files and CRC errors are
// merc::FormatError naming the file (and the zip entry or storage key).
//
// No torch dependency: tensors come out as bytes (C order, native byte order), so the fuzzer builds
// without LibTorch. merc/models/upstream/import.h turns them into torch::Tensor.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "merc/io/binary_file.h"
#include "merc/io/pickle.h"

namespace merc::io {

enum class TorchFileFormat { kZip, kLegacy };

struct TorchStorage {
  TorchDType dtype = TorchDType::kFloat32;
  int64_t numel = 0;   // elements
  std::string bytes;   // numel * itemsize, native byte order
};

struct TorchCheckpoint {
  std::string source;               // the path, for messages
  TorchFileFormat format = TorchFileFormat::kZip;
  PyRef root;                       // the object torch.save was given
  std::map<std::string, TorchStorage> storages;  // by key; only those the object references
};

// Reads and validates a torch.save file. merc::FormatError naming `path` otherwise.
TorchCheckpoint read_torch_checkpoint(const std::string& path);
// Same, from bytes in memory (`source` names them in errors).
TorchCheckpoint parse_torch_checkpoint(std::shared_ptr<const FileBytes> bytes, const std::string& source);

// One tensor, materialised: contiguous, C order, native byte order.
struct CheckpointTensor {
  std::string name;
  TorchDType dtype = TorchDType::kFloat32;
  std::vector<int64_t> shape;
  std::string bytes;
  int64_t numel() const;
};

// Copies a tensor reference out of its storage, checking that offset and strides stay inside it.
// `name` (the state_dict key) goes into error messages.
CheckpointTensor materialize_tensor(const TorchCheckpoint& ckpt, const TorchTensorRef& ref, const std::string& name);

struct StateDictOptions {
  // Slash-separated dict keys leading to the state_dict ("state_dict", "model/net"). Empty: the root
  // when it is a dict of tensors, else the one nested dict of tensors (merc::FormatError listing
  // the candidates when there are several, or naming the keys when there is none).
  std::string key_path;
  // Strip "module." (DataParallel / DistributedDataParallel) when every key starts with it.
  bool strip_module_prefix = true;
};

// The state_dict as materialised tensors in file order. Non-tensor entries of the state_dict (e.g.
// an "_metadata" attribute never appears as a key; a stray int does) are an error naming the key.
std::vector<CheckpointTensor> extract_state_dict(const TorchCheckpoint& ckpt, const StateDictOptions& options = {});

// Key paths ("", "state_dict", "model/net", ...) of every dict of tensors in the checkpoint, for
// `merc import-checkpoint --list` and error messages.
std::vector<std::string> state_dict_candidates(const TorchCheckpoint& ckpt);

}  // namespace merc::io
