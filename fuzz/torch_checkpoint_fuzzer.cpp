// libFuzzer targets for the torch.save reader (merc/io/torch_checkpoint.h). Built twice:
//  - MERC_TORCH_FUZZ_PICKLE: the input is torch's object pickle (data.pkl), parsed with
//    PickleOptions::torch and resolved against a fixed storage of 64 bytes under every key it names;
//  - otherwise: the input is a whole file (zip or legacy container), parsed and every state_dict
//    candidate materialised.
// Any input must either load or throw merc::Error; crashes, sanitizer reports, leaks, hangs and other
// exception types are bugs.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "merc/core/error.h"
#include "merc/io/torch_checkpoint.h"

namespace {

using merc::io::PyType;
using merc::io::PyValue;

// Materialises every tensor reachable from `v` (depth-limited like the reader).
void touch_tensors(const merc::io::TorchCheckpoint& c, const PyValue& v, int depth) {
  if (depth > 70) return;
  if (v.type() == PyType::kTorchTensor) {
    try {
      (void)merc::io::materialize_tensor(c, v.as_torch_tensor(), "t");
    } catch (const merc::Error&) {
    }
    return;
  }
  (void)v.repr(200);
  if (v.is_dict())
    for (const auto& [k, x] : v.dict_items()) touch_tensors(c, *x, depth + 1);
  else if (v.is_collection())
    for (const auto& x : v.items()) touch_tensors(c, *x, depth + 1);
}

#ifdef MERC_TORCH_FUZZ_PICKLE
void add_storages(merc::io::TorchCheckpoint& c, const PyValue& v, int depth) {
  if (depth > 70) return;
  const merc::io::TorchStorageRef* st = nullptr;
  if (v.type() == PyType::kTorchTensor) st = &v.as_torch_tensor().storage;
  if (v.type() == PyType::kTorchStorage) st = &v.as_torch_storage();
  if (st) {
    merc::io::TorchStorage s;
    s.dtype = st->dtype;
    s.bytes.assign(64, '\x01');
    s.numel = 64 / merc::io::torch_dtype_size(st->dtype);
    c.storages.emplace(st->key, std::move(s));
    return;
  }
  if (v.is_dict())
    for (const auto& [k, x] : v.dict_items()) add_storages(c, *x, depth + 1);
  else if (v.is_collection())
    for (const auto& x : v.items()) add_storages(c, *x, depth + 1);
}
#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
#ifdef MERC_TORCH_FUZZ_PICKLE
    merc::io::PickleOptions o;
    o.torch = true;
    merc::io::TorchCheckpoint c;
    c.source = "fuzz-input";
    c.root = merc::io::parse_pickle(bytes, "fuzz-input", o);
    add_storages(c, *c.root, 0);
    touch_tensors(c, *c.root, 0);
#else
    merc::io::TorchCheckpoint c =
        merc::io::parse_torch_checkpoint(merc::io::FileBytes::from_string(std::string(bytes)), "fuzz-input");
    touch_tensors(c, *c.root, 0);
#endif
    for (const auto& path : merc::io::state_dict_candidates(c)) {
      merc::io::StateDictOptions so;
      so.key_path = path;
      (void)merc::io::extract_state_dict(c, so);
    }
    (void)merc::io::extract_state_dict(c);
  } catch (const merc::Error&) {
    // Rejected input: the expected outcome for most mutations.
  }
  return 0;
}
