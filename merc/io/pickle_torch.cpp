// torch.save's object pickle (PickleOptions::torch): storage references through persistent ids
// and the tensor-rebuild functions. Nothing is called: each allowed torch global maps to a small
// C++ behaviour that records what torch would have rebuilt (a TorchTensorRef); torch_checkpoint.cpp
// later checks it against the storage bytes.

#include <limits>

#include "merc/core/error.h"
#include "merc/io/pickle_detail.h"

namespace merc::io {

const char* torch_dtype_name(TorchDType dtype) {
  switch (dtype) {
    case TorchDType::kFloat32: return "float32";
    case TorchDType::kFloat64: return "float64";
    case TorchDType::kFloat16: return "float16";
    case TorchDType::kBFloat16: return "bfloat16";
    case TorchDType::kInt64: return "int64";
    case TorchDType::kInt32: return "int32";
    case TorchDType::kInt16: return "int16";
    case TorchDType::kInt8: return "int8";
    case TorchDType::kUInt8: return "uint8";
    case TorchDType::kBool: return "bool";
  }
  return "?";
}

int64_t torch_dtype_size(TorchDType dtype) {
  switch (dtype) {
    case TorchDType::kFloat64: case TorchDType::kInt64: return 8;
    case TorchDType::kFloat32: case TorchDType::kInt32: return 4;
    case TorchDType::kFloat16: case TorchDType::kBFloat16: case TorchDType::kInt16: return 2;
    case TorchDType::kInt8: case TorchDType::kUInt8: case TorchDType::kBool: return 1;
  }
  return 1;
}

}  // namespace merc::io

namespace merc::io::pickle_detail {

namespace {

struct StorageClass {
  std::string_view name;
  TorchDType dtype;
};

// The typed storage classes torch.save names in its persistent ids (torch/storage.py).
constexpr StorageClass kStorageClasses[] = {
    {"FloatStorage", TorchDType::kFloat32},   {"DoubleStorage", TorchDType::kFloat64},
    {"HalfStorage", TorchDType::kFloat16},    {"BFloat16Storage", TorchDType::kBFloat16},
    {"LongStorage", TorchDType::kInt64},      {"IntStorage", TorchDType::kInt32},
    {"ShortStorage", TorchDType::kInt16},     {"CharStorage", TorchDType::kInt8},
    {"ByteStorage", TorchDType::kUInt8},      {"BoolStorage", TorchDType::kBool},
};

enum class TorchFn { kRebuildTensorV2, kRebuildTensor, kRebuildParameter };

struct TorchFunction {
  std::string_view name;
  TorchFn fn;
};

constexpr TorchFunction kFunctions[] = {
    {"_rebuild_tensor_v2", TorchFn::kRebuildTensorV2},
    {"_rebuild_tensor", TorchFn::kRebuildTensor},
    {"_rebuild_parameter", TorchFn::kRebuildParameter},
};

const StorageClass* find_storage_class(std::string_view module, std::string_view name) {
  if (module != "torch") return nullptr;
  for (const auto& c : kStorageClasses)
    if (c.name == name) return &c;
  return nullptr;
}

const TorchFunction* find_torch_function(std::string_view module, std::string_view name) {
  if (module != "torch._utils") return nullptr;
  for (const auto& f : kFunctions)
    if (f.name == name) return &f;
  return nullptr;
}

int64_t torch_expect_int(const PyValue& v, const CallSite& site, const char* what) {
  if (v.type() != PyType::kInt) site.fail(fmt::format("{}: expected an int, got {}", what, describe_value(v)));
  return v.as_int();
}

std::vector<int64_t> torch_int_tuple(const PyValue& v, const CallSite& site, const char* what) {
  if (!v.is_sequence()) site.fail(fmt::format("{}: expected a tuple of ints, got {}", what, describe_value(v)));
  if (v.items().size() > 64) site.fail(fmt::format("{}: {} dimensions (at most 64)", what, v.items().size()));
  std::vector<int64_t> out;
  for (const auto& x : v.items()) {
    const int64_t n = torch_expect_int(*x, site, what);
    if (n < 0) site.fail(fmt::format("{}: negative value {}", what, n));
    out.push_back(n);
  }
  return out;
}

// backward_hooks must be empty: a non-empty OrderedDict would name Python callables.
void torch_expect_no_hooks(const PyValue& v, const CallSite& site) {
  if (v.is_none() || (v.is_dict() && v.size() == 0)) return;
  site.fail(fmt::format("tensor with backward hooks {} is not supported", v.repr(60)));
}

std::shared_ptr<PyValue> torch_rebuild_tensor(const std::vector<PyRef>& args, bool v2, const CallSite& site) {
  const size_t lo = v2 ? 6 : 4, hi = v2 ? 7 : 4;
  const char* fn = v2 ? "torch._utils._rebuild_tensor_v2" : "torch._utils._rebuild_tensor";
  if (args.size() < lo || args.size() > hi)
    site.fail(fmt::format("{} takes {} to {} arguments, got {}", fn, lo, hi, args.size()));
  if (args[0]->type() != PyType::kTorchStorage)
    site.fail(fmt::format("{}: expected a storage, got {}", fn, describe_value(*args[0])));
  TorchTensorRef t;
  t.storage = args[0]->as_torch_storage();
  t.offset = torch_expect_int(*args[1], site, "tensor storage offset");
  if (t.offset < 0) site.fail(fmt::format("{}: negative storage offset {}", fn, t.offset));
  t.shape = torch_int_tuple(*args[2], site, "tensor size");
  t.stride = torch_int_tuple(*args[3], site, "tensor stride");
  if (t.shape.size() != t.stride.size())
    site.fail(fmt::format("{}: size has {} dimensions but stride has {}", fn, t.shape.size(), t.stride.size()));
  if (v2) {
    if (args[4]->type() != PyType::kBool) site.fail(fmt::format("{}: requires_grad must be a bool", fn));
    t.requires_grad = args[4]->as_bool();
    torch_expect_no_hooks(*args[5], site);
    if (args.size() == 7 && !args[6]->is_none() && !(args[6]->is_dict() && args[6]->size() == 0))
      site.fail(fmt::format("{}: tensor metadata {} is not supported", fn, args[6]->repr(60)));
  }
  return PyValue::torch_tensor(std::move(t));
}

std::shared_ptr<PyValue> torch_rebuild_parameter(const std::vector<PyRef>& args, const CallSite& site) {
  if (args.size() != 3) site.fail(fmt::format("torch._utils._rebuild_parameter takes 3 arguments, got {}", args.size()));
  if (args[0]->type() != PyType::kTorchTensor)
    site.fail(fmt::format("torch._utils._rebuild_parameter: expected a tensor, got {}", describe_value(*args[0])));
  if (args[1]->type() != PyType::kBool) site.fail("torch._utils._rebuild_parameter: requires_grad must be a bool");
  torch_expect_no_hooks(*args[2], site);
  TorchTensorRef t = args[0]->as_torch_tensor();
  t.requires_grad = args[1]->as_bool();
  t.parameter = true;
  return PyValue::torch_tensor(std::move(t));
}

}  // namespace

bool is_torch_global(std::string_view module, std::string_view name) {
  return find_storage_class(module, name) != nullptr || find_torch_function(module, name) != nullptr;
}

std::shared_ptr<PyValue> call_torch_global(const PyGlobal& callee, const std::vector<PyRef>& args,
                                           const CallSite& site) {
  if (find_storage_class(callee.module, callee.name))
    site.fail(fmt::format("torch.{} can only appear in a persistent id", callee.name));
  const TorchFunction* f = find_torch_function(callee.module, callee.name);
  if (!f) site.fail(fmt::format("forbidden global {}.{}", callee.module, callee.name));
  switch (f->fn) {
    case TorchFn::kRebuildTensorV2: return torch_rebuild_tensor(args, true, site);
    case TorchFn::kRebuildTensor: return torch_rebuild_tensor(args, false, site);
    case TorchFn::kRebuildParameter: return torch_rebuild_parameter(args, site);
  }
  site.fail("unreachable torch behaviour");
}

std::shared_ptr<PyValue> torch_persistent_load(const PyValue& pid, const CallSite& site) {
  // torch/serialization.py: ('storage', storage_type, key, location, numel) in the zip format,
  // ('storage', storage_type, root_key, location, numel, view_metadata) in the legacy format, where
  // view_metadata is None or (view_key, offset, view_numel).
  if (pid.type() != PyType::kTuple || pid.items().size() < 5 || pid.items().size() > 6)
    site.fail(fmt::format("persistent id: expected ('storage', type, key, location, numel[, view]), got {}",
                          pid.repr(80)));
  const auto& p = pid.items();
  if (p[0]->type() != PyType::kStr || p[0]->as_str() != "storage")
    site.fail(fmt::format("persistent id of kind {} is not supported (only 'storage')", p[0]->repr(40)));
  if (p[1]->type() != PyType::kGlobal)
    site.fail(fmt::format("persistent id: storage type must be a torch storage class, got {}", describe_value(*p[1])));
  const StorageClass* cls = find_storage_class(p[1]->as_global().module, p[1]->as_global().name);
  if (!cls)
    site.fail(fmt::format("persistent id: unsupported storage type {}.{}", p[1]->as_global().module,
                          p[1]->as_global().name));
  TorchStorageRef st;
  st.dtype = cls->dtype;
  if (p[2]->type() != PyType::kStr) site.fail(fmt::format("persistent id: storage key must be a str, got {}", describe_value(*p[2])));
  st.key = p[2]->as_str();
  if (st.key.empty() || st.key.size() > 256) site.fail("persistent id: storage key is empty or longer than 256 bytes");
  if (p[3]->type() == PyType::kStr) st.location = p[3]->as_str();
  st.numel = torch_expect_int(*p[4], site, "persistent id numel");
  if (st.numel < 0) site.fail(fmt::format("persistent id: negative storage size {}", st.numel));
  if (p.size() == 6 && !p[5]->is_none()) {
    const PyValue& view = *p[5];
    if (!view.is_sequence() || view.items().size() != 3)
      site.fail(fmt::format("persistent id: storage view must be (key, offset, numel), got {}", view.repr(60)));
    st.view_offset = torch_expect_int(*view.items()[1], site, "storage view offset");
    const int64_t view_numel = torch_expect_int(*view.items()[2], site, "storage view size");
    if (st.view_offset < 0 || view_numel < 0 || st.view_offset > st.numel || view_numel > st.numel - st.view_offset)
      site.fail(fmt::format("persistent id: storage view [{}, +{}) outside its storage of {} elements", st.view_offset,
                            view_numel, st.numel));
    st.numel = view_numel;
  }
  return PyValue::torch_storage(std::move(st));
}

}  // namespace merc::io::pickle_detail
