// torch.save reader: format detection, the zip and legacy containers, storage resolution with
// bounds checks, and state_dict discovery. See torch_checkpoint.h.

#include "merc/io/torch_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/core/error.h"
#include "merc/io/zip.h"

namespace merc::io {

namespace {

constexpr int kMaxWalkDepth = 64;  // torch checkpoints nest a few dicts; deeper is hostile or not a checkpoint

// The legacy format's first pickle: protocol 2+ and LONG1 of 0x1950a86a20f9469cfc6c (torch's MAGIC_NUMBER).
constexpr uint8_t kLegacyMagic[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};
constexpr int64_t kLegacyProtocolVersion = 1001;

bool ckpt_starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool ckpt_is_legacy_magic(std::string_view b) {
  if (b.size() < 2 + sizeof kLegacyMagic || static_cast<uint8_t>(b[0]) != 0x80) return false;
  return std::memcmp(b.data() + 2, kLegacyMagic, sizeof kLegacyMagic) == 0;
}

bool ckpt_is_tar(std::string_view b) { return b.size() >= 262 && b.substr(257, 5) == "ustar"; }

PickleOptions torch_pickle_options() {
  PickleOptions o;
  o.torch = true;
  o.max_nesting = 200;
  return o;
}

// Every storage the object references, by key (first reference wins; a key used with two dtypes
// or sizes is an error).
void ckpt_collect_storages(const PyValue& v, int depth, const std::string& source,
                      std::map<std::string, TorchStorageRef>* out) {
  auto add = [&](const TorchStorageRef& st) {
    const int64_t root_numel = st.view_offset + st.numel;
    auto [it, inserted] = out->emplace(st.key, st);
    if (inserted) {
      it->second.numel = root_numel;
      it->second.view_offset = 0;
      return;
    }
    if (it->second.dtype != st.dtype)
      MERC_FORMAT_ERROR(source, "storage '{}' is used as {} and as {}", st.key, torch_dtype_name(it->second.dtype),
                        torch_dtype_name(st.dtype));
    it->second.numel = std::max(it->second.numel, root_numel);
  };
  if (depth > kMaxWalkDepth) MERC_FORMAT_ERROR(source, "objects nested deeper than {} levels", kMaxWalkDepth);
  switch (v.type()) {
    case PyType::kTorchStorage: add(v.as_torch_storage()); return;
    case PyType::kTorchTensor: add(v.as_torch_tensor().storage); return;
    case PyType::kDict:
      for (const auto& [k, x] : v.dict_items()) ckpt_collect_storages(*x, depth + 1, source, out);
      return;
    case PyType::kTuple: case PyType::kList: case PyType::kSet: case PyType::kFrozenSet:
      for (const auto& x : v.items()) ckpt_collect_storages(*x, depth + 1, source, out);
      return;
    default: return;
  }
}

void ckpt_byteswap_storage(std::string& bytes, int64_t itemsize) {
  if (itemsize <= 1) return;
  for (size_t i = 0; i + static_cast<size_t>(itemsize) <= bytes.size(); i += static_cast<size_t>(itemsize))
    std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(i), bytes.begin() + static_cast<std::ptrdiff_t>(i) + itemsize);
}

// numel * itemsize without overflow (storages of more than 2^62 bytes are hostile).
int64_t ckpt_storage_bytes(const TorchStorageRef& st, const std::string& source) {
  const int64_t itemsize = torch_dtype_size(st.dtype);
  if (st.numel > std::numeric_limits<int64_t>::max() / 4 / itemsize)
    MERC_FORMAT_ERROR(source, "storage '{}' declares {} elements: too large", st.key, st.numel);
  return st.numel * itemsize;
}

// ---- zip format ----

std::string zip_top_folder(const ZipArchive& zip) {
  std::vector<std::string> tops;
  bool torchscript = false;
  for (const auto& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash == std::string::npos) continue;
    const std::string rest = e.name.substr(slash + 1);
    if (rest == "data.pkl") tops.push_back(e.name.substr(0, slash));
    if (rest == "constants.pkl" || ckpt_starts_with(rest, "code/")) torchscript = true;
  }
  if (torchscript)
    MERC_FORMAT_ERROR(zip.source(), "this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint: "
                      "save the model's state_dict with torch.save(model.state_dict(), path) instead");
  if (tops.empty())
    MERC_FORMAT_ERROR(zip.source(), "zip archive without <folder>/data.pkl: not a torch.save checkpoint");
  if (tops.size() > 1)
    MERC_FORMAT_ERROR(zip.source(), "zip archive with {} data.pkl files ({}): not a single torch.save checkpoint",
                      tops.size(), fmt::join(tops, ", "));
  return tops.front();
}

bool zip_is_big_endian(const ZipArchive& zip, const std::string& top) {
  const ZipEntry* e = zip.find(top + "/byteorder");
  if (!e) return false;  // written since PyTorch 1.13; older files are little-endian
  std::string order = zip.read(*e);
  while (!order.empty() && (order.back() == '\n' || order.back() == '\r')) order.pop_back();
  if (order == "little") return false;
  if (order == "big") return true;
  MERC_FORMAT_ERROR(zip.source(), "[{}/byteorder]: expected 'little' or 'big', got '{}'", top, order.substr(0, 20));
}

TorchCheckpoint parse_zip(std::shared_ptr<const FileBytes> bytes, const std::string& source) {
  ZipArchive zip(std::move(bytes), source);
  const std::string top = zip_top_folder(zip);
  const bool big_endian = zip_is_big_endian(zip, top);
  TorchCheckpoint ckpt;
  ckpt.source = source;
  ckpt.format = TorchFileFormat::kZip;
  const std::string pkl_name = top + "/data.pkl";
  const std::string pkl = zip.read(*zip.find(pkl_name));
  ckpt.root = parse_pickle(pkl, source + "[" + pkl_name + "]", torch_pickle_options());
  std::map<std::string, TorchStorageRef> refs;
  ckpt_collect_storages(*ckpt.root, 0, source, &refs);
  for (const auto& [key, st] : refs) {
    const std::string entry_name = top + "/data/" + key;
    const ZipEntry* e = zip.find(entry_name);
    if (!e) MERC_FORMAT_ERROR(source, "storage '{}' is referenced but the archive has no entry {}", key, entry_name);
    const int64_t need = ckpt_storage_bytes(st, source);
    if (e->uncompressed_size < static_cast<uint64_t>(need))
      MERC_FORMAT_ERROR(source, "[{}]: storage of {} {} elements needs {} bytes, the entry has {}", entry_name, st.numel,
                        torch_dtype_name(st.dtype), need, e->uncompressed_size);
    TorchStorage s;
    s.dtype = st.dtype;
    s.bytes = zip.read(*e);
    s.numel = static_cast<int64_t>(s.bytes.size()) / torch_dtype_size(st.dtype);
    if (big_endian) ckpt_byteswap_storage(s.bytes, torch_dtype_size(st.dtype));
    ckpt.storages.emplace(key, std::move(s));
  }
  return ckpt;
}

// ---- legacy format ----

class LegacyReader {
 public:
  LegacyReader(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  PyRef next_pickle(const char* what, const PickleOptions& options = {}) {
    if (pos_ >= bytes_.size()) MERC_FORMAT_ERROR(source_, "truncated legacy checkpoint: no {} pickle", what);
    size_t used = 0;
    PyRef v = parse_pickle_prefix(bytes_.substr(pos_), fmt::format("{} ({} pickle at byte {})", source_, what, pos_),
                                  options, &used);
    pos_ += used;
    return v;
  }
  void skip(size_t n) { pos_ += n; }
  size_t pos() const { return pos_; }
  std::string_view take(uint64_t n, const std::string& what) {
    if (n > bytes_.size() - pos_)
      MERC_FORMAT_ERROR(source_, "truncated legacy checkpoint: {} needs {} bytes at byte {}, {} left", what, n, pos_,
                        bytes_.size() - pos_);
    std::string_view out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::string_view bytes_;
  const std::string& source_;
  size_t pos_ = 0;
};

TorchCheckpoint parse_legacy(std::string_view bytes, const std::string& source) {
  LegacyReader in(bytes, source);
  in.skip(2 + sizeof kLegacyMagic);  // PROTO n, then the magic number pickle
  PyRef version = in.next_pickle("protocol version");
  if (version->type() != PyType::kInt || version->as_int() != kLegacyProtocolVersion)
    MERC_FORMAT_ERROR(source, "legacy checkpoint protocol version {}, expected {}", version->repr(40),
                      kLegacyProtocolVersion);
  PyRef sys_info = in.next_pickle("sys_info");
  bool little_endian = true;
  if (sys_info->is_dict())
    if (PyRef le = sys_info->get("little_endian"); le && le->type() == PyType::kBool) little_endian = le->as_bool();
  TorchCheckpoint ckpt;
  ckpt.source = source;
  ckpt.format = TorchFileFormat::kLegacy;
  ckpt.root = in.next_pickle("object", torch_pickle_options());
  PyRef keys = in.next_pickle("storage keys");
  if (keys->type() != PyType::kList)
    MERC_FORMAT_ERROR(source, "legacy checkpoint: storage keys must be a list, got {}", keys->type_name());
  std::map<std::string, TorchStorageRef> refs;
  ckpt_collect_storages(*ckpt.root, 0, source, &refs);
  for (const auto& k : keys->items()) {
    if (k->type() != PyType::kStr) MERC_FORMAT_ERROR(source, "legacy checkpoint: storage key {} is not a str", k->repr(40));
    const std::string& key = k->as_str();
    auto it = refs.find(key);
    if (it == refs.end())
      MERC_FORMAT_ERROR(source, "legacy checkpoint: storage '{}' is listed but no tensor uses it", key);
    const int64_t itemsize = torch_dtype_size(it->second.dtype);
    const std::string_view count = in.take(8, "storage '" + key + "' size");
    const uint64_t numel = load_u64le(reinterpret_cast<const uint8_t*>(count.data()));
    if (numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 4 / itemsize))
      MERC_FORMAT_ERROR(source, "legacy checkpoint: storage '{}' declares {} elements: too large", key, numel);
    if (static_cast<int64_t>(numel) < it->second.numel)
      MERC_FORMAT_ERROR(source, "legacy checkpoint: storage '{}' has {} elements, its tensors need {}", key, numel,
                        it->second.numel);
    TorchStorage s;
    s.dtype = it->second.dtype;
    s.numel = static_cast<int64_t>(numel);
    s.bytes = std::string(in.take(numel * static_cast<uint64_t>(itemsize), "storage '" + key + "' data"));
    if (!little_endian) ckpt_byteswap_storage(s.bytes, itemsize);
    if (!ckpt.storages.emplace(key, std::move(s)).second)
      MERC_FORMAT_ERROR(source, "legacy checkpoint: storage '{}' is listed twice", key);
  }
  for (const auto& [key, st] : refs)
    if (!ckpt.storages.count(key))
      MERC_FORMAT_ERROR(source, "legacy checkpoint: storage '{}' is used by a tensor but not stored", key);
  return ckpt;
}

// ---- state_dict discovery ----

bool ckpt_is_tensor_dict(const PyValue& v) {
  if (!v.is_dict() || v.size() == 0) return false;
  for (const auto& [k, x] : v.dict_items())
    if (k->type() != PyType::kStr || x->type() != PyType::kTorchTensor) return false;
  return true;
}

void ckpt_find_candidates(const PyValue& v, const std::string& path, int depth, std::vector<std::string>* out) {
  if (depth > kMaxWalkDepth || !v.is_dict()) return;
  if (ckpt_is_tensor_dict(v)) {
    out->push_back(path);
    return;
  }
  for (const auto& [k, x] : v.dict_items())
    if (k->type() == PyType::kStr) ckpt_find_candidates(*x, path.empty() ? k->as_str() : path + "/" + k->as_str(), depth + 1, out);
}

std::string ckpt_describe_candidates(const std::vector<std::string>& c) {
  std::vector<std::string> shown;
  for (const auto& p : c) shown.push_back(p.empty() ? "(the root)" : "'" + p + "'");
  return shown.empty() ? "none" : fmt::format("{}", fmt::join(shown, ", "));
}

const PyValue& ckpt_resolve_key_path(const TorchCheckpoint& ckpt, const std::string& key_path) {
  const PyValue* v = ckpt.root.get();
  size_t start = 0;
  while (start < key_path.size()) {
    size_t end = key_path.find('/', start);
    if (end == std::string::npos) end = key_path.size();
    const std::string part = key_path.substr(start, end - start);
    PyRef next = v->is_dict() ? v->get(part) : nullptr;
    if (!next)
      MERC_FORMAT_ERROR(ckpt.source, "no key '{}' on the path '{}' (dicts of tensors in this file: {})", part, key_path,
                        ckpt_describe_candidates(state_dict_candidates(ckpt)));
    v = next.get();
    start = end + 1;
  }
  return *v;
}

}  // namespace

int64_t CheckpointTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

TorchCheckpoint parse_torch_checkpoint(std::shared_ptr<const FileBytes> bytes, const std::string& source) {
  const std::string_view b = bytes->view();
  if (ckpt_starts_with(b, "PK\x03\x04") || ckpt_starts_with(b, "PK\x05\x06")) return parse_zip(std::move(bytes), source);
  if (ckpt_is_legacy_magic(b)) return parse_legacy(b, source);
  if (ckpt_is_tar(b))
    MERC_FORMAT_ERROR(source, "this is the tar checkpoint format of PyTorch < 0.4, which merc does not read: load it "
                      "with an old PyTorch and save it again with torch.save");
  if (!b.empty() && static_cast<uint8_t>(b[0]) == 0x80)
    MERC_FORMAT_ERROR(source, "a plain pickle, not a torch.save file (no zip container and no legacy magic number)");
  MERC_FORMAT_ERROR(source, "not a torch.save checkpoint (neither the zip format nor the legacy format; {} bytes)",
                    b.size());
}

TorchCheckpoint read_torch_checkpoint(const std::string& path) {
  return parse_torch_checkpoint(FileBytes::open(path), path);
}

CheckpointTensor materialize_tensor(const TorchCheckpoint& ckpt, const TorchTensorRef& ref, const std::string& name) {
  auto it = ckpt.storages.find(ref.storage.key);
  if (it == ckpt.storages.end())
    MERC_FORMAT_ERROR(ckpt.source, "tensor '{}': storage '{}' is missing", name, ref.storage.key);
  const TorchStorage& st = it->second;
  const int64_t itemsize = torch_dtype_size(st.dtype);
  CheckpointTensor out;
  out.name = name;
  out.dtype = st.dtype;
  out.shape = ref.shape;
  // Highest element index touched, with overflow checks: offset + sum((size - 1) * stride).
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 16;
  int64_t numel = 1, last = ref.offset;
  bool empty = false;
  for (size_t d = 0; d < ref.shape.size(); ++d) {
    const int64_t n = ref.shape[d], s = ref.stride[d];
    if (n == 0) empty = true;
    if (n > 0 && numel > kMax / n) MERC_FORMAT_ERROR(ckpt.source, "tensor '{}': shape too large", name);
    numel *= n;
    if (n > 1) {
      if (s > 0 && n - 1 > (kMax - last) / s) MERC_FORMAT_ERROR(ckpt.source, "tensor '{}': strides too large", name);
      last += (n - 1) * s;
    }
  }
  if (empty) return out;
  // Legacy storage views address the root storage from view_offset on and must stay inside the view.
  // (The containers already checked that every declared storage, view included, fits its bytes.)
  const int64_t limit = ref.storage.numel;
  if (last >= limit || ref.storage.view_offset + limit > st.numel)
    MERC_FORMAT_ERROR(ckpt.source,
                      "tensor '{}' (shape ({}), stride ({}), offset {}) reaches element {} of storage '{}', which has "
                      "{} elements",
                      name, fmt::join(ref.shape, ", "), fmt::join(ref.stride, ", "), ref.offset, last, ref.storage.key,
                      limit);
  const char* base = st.bytes.data() + (ref.storage.view_offset + ref.offset) * itemsize;
  out.bytes.resize(static_cast<size_t>(numel * itemsize));
  // Row-major walk over the index space; contiguous tensors are one memcpy.
  bool contiguous = true;
  for (int64_t d = static_cast<int64_t>(ref.shape.size()) - 1, expect = 1; d >= 0; --d) {
    if (ref.shape[d] != 1 && ref.stride[d] != expect) contiguous = false;
    expect *= ref.shape[d];
  }
  if (contiguous) {
    std::memcpy(out.bytes.data(), base, out.bytes.size());
    return out;
  }
  std::vector<int64_t> idx(ref.shape.size(), 0);
  for (int64_t i = 0; i < numel; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * ref.stride[d];
    std::memcpy(out.bytes.data() + i * itemsize, base + off * itemsize, static_cast<size_t>(itemsize));
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < ref.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

std::vector<std::string> state_dict_candidates(const TorchCheckpoint& ckpt) {
  std::vector<std::string> out;
  ckpt_find_candidates(*ckpt.root, "", 0, &out);
  return out;
}

std::vector<CheckpointTensor> extract_state_dict(const TorchCheckpoint& ckpt, const StateDictOptions& options) {
  const PyValue* sd = nullptr;
  if (!options.key_path.empty()) {
    sd = &ckpt_resolve_key_path(ckpt, options.key_path);
    if (!sd->is_dict())
      MERC_FORMAT_ERROR(ckpt.source, "'{}' is a {}, not a state_dict", options.key_path, sd->type_name());
  } else {
    const std::vector<std::string> c = state_dict_candidates(ckpt);
    if (c.size() != 1) {
      if (c.empty() && ckpt.root->is_dict()) {
        std::vector<std::string> keys;
        for (const auto& [k, v] : ckpt.root->dict_items()) keys.push_back(k->repr(40) + ": " + v->type_name());
        MERC_FORMAT_ERROR(ckpt.source, "no dict of tensors (state_dict) in this checkpoint; its top-level keys: {}",
                          fmt::join(keys, ", "));
      }
      if (c.empty())
        MERC_FORMAT_ERROR(ckpt.source, "no dict of tensors (state_dict) in this checkpoint; it holds a {}",
                          ckpt.root->type_name());
      MERC_FORMAT_ERROR(ckpt.source, "{} dicts of tensors in this checkpoint ({}): choose one with --state-dict-key",
                        c.size(), ckpt_describe_candidates(c));
    }
    sd = &ckpt_resolve_key_path(ckpt, c.front());
  }
  std::vector<CheckpointTensor> out;
  for (const auto& [k, v] : sd->dict_items()) {
    const std::string name = k->type() == PyType::kStr ? k->as_str() : k->repr(40);
    if (k->type() != PyType::kStr || v->type() != PyType::kTorchTensor)
      MERC_FORMAT_ERROR(ckpt.source, "state_dict entry {} is a {}, not a tensor", name, v->type_name());
    out.push_back(materialize_tensor(ckpt, v->as_torch_tensor(), name));
  }
  const std::string prefix = "module.";
  const bool all_prefixed = !out.empty() && std::all_of(out.begin(), out.end(), [&](const CheckpointTensor& t) {
    return ckpt_starts_with(t.name, prefix);
  });
  if (options.strip_module_prefix && all_prefixed)
    for (auto& t : out) t.name = t.name.substr(prefix.size());
  std::set<std::string> seen;
  for (const auto& t : out)
    if (!seen.insert(t.name).second) MERC_FORMAT_ERROR(ckpt.source, "state_dict key '{}' appears twice", t.name);
  return out;
}

}  // namespace merc::io
