// PyValue: the tree a pickle decodes to. Accessors throw merc::Error naming the expected and the
// actual type so reader code can say "expected a dict of videos, got list".

#include <cmath>

#include "merc/core/error.h"
#include "merc/io/pickle_detail.h"

namespace merc::io {

namespace {

std::string_view pyvalue_scalar_type_name(DType d) {
  switch (d) {
    case DType::kBool: return "numpy.bool_";
    case DType::kInt8: return "numpy.int8";
    case DType::kUInt8: return "numpy.uint8";
    case DType::kInt16: return "numpy.int16";
    case DType::kUInt16: return "numpy.uint16";
    case DType::kInt32: return "numpy.int32";
    case DType::kUInt32: return "numpy.uint32";
    case DType::kInt64: return "numpy.int64";
    case DType::kUInt64: return "numpy.uint64";
    case DType::kFloat16: return "numpy.float16";
    case DType::kFloat32: return "numpy.float32";
    case DType::kFloat64: return "numpy.float64";
    case DType::kObject: return "numpy.object_";
  }
  return "numpy.generic";
}

void pyvalue_repr_string(std::string& out, std::string_view s, bool is_bytes) {
  out += is_bytes ? "b'" : "'";
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '\'' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (b < 0x20 || b == 0x7f || (is_bytes && b >= 0x80)) {
      out += fmt::format("\\x{:02x}", b);
    } else {
      out.push_back(c);  // UTF-8 continuation bytes of str pass through
    }
  }
  out.push_back('\'');
}

// Appends repr(v) to `out`, stopping once `out` reaches `limit`. Every container level writes at
// least one character before recursing, so the recursion depth is bounded by `limit` even for a
// (not yet validated) cyclic structure.
void pyvalue_repr_into(std::string& out, const PyValue& v, size_t limit) {
  if (out.size() >= limit) return;
  switch (v.type()) {
    case PyType::kNone: out += "None"; return;
    case PyType::kBool: out += v.as_bool() ? "True" : "False"; return;
    case PyType::kInt: out += std::to_string(v.as_int()); return;
    case PyType::kFloat: out += pickle_detail::python_float_repr(v.as_float()); return;
    case PyType::kStr: pyvalue_repr_string(out, v.as_str(), false); return;
    case PyType::kBytes: pyvalue_repr_string(out, v.as_bytes(), true); return;
    case PyType::kTuple: case PyType::kList: case PyType::kSet: case PyType::kFrozenSet: {
      const auto& items = v.items();
      const bool tuple = v.type() == PyType::kTuple;
      if (v.type() == PyType::kSet && items.empty()) { out += "set()"; return; }
      if (v.type() == PyType::kFrozenSet) out += "frozenset(";
      out += tuple ? "(" : v.type() == PyType::kList ? "[" : "{";
      if (v.type() == PyType::kFrozenSet && items.empty()) out.pop_back();
      for (size_t i = 0; i < items.size() && out.size() < limit; ++i) {
        if (i) out += ", ";
        pyvalue_repr_into(out, *items[i], limit);
      }
      if (tuple && items.size() == 1) out += ",";
      if (!(v.type() == PyType::kFrozenSet && items.empty())) out += tuple ? ")" : v.type() == PyType::kList ? "]" : "}";
      if (v.type() == PyType::kFrozenSet) out += ")";
      return;
    }
    case PyType::kDict: {
      out += v.is_ordered_dict() ? "OrderedDict({" : "{";
      const auto& items = v.dict_items();
      for (size_t i = 0; i < items.size() && out.size() < limit; ++i) {
        if (i) out += ", ";
        pyvalue_repr_into(out, *items[i].first, limit);
        out += ": ";
        pyvalue_repr_into(out, *items[i].second, limit);
      }
      out += v.is_ordered_dict() ? "})" : "}";
      return;
    }
    case PyType::kNdArray: {
      const NdArray& a = v.as_array();
      out += fmt::format("array(shape={}, dtype='{}')", a.shape_string(), dtype_descr(a.dtype));
      return;
    }
    case PyType::kNumpyScalar: {
      const NdArray& a = v.as_array();
      out += pyvalue_scalar_type_name(a.dtype);
      out += "(";
      if (a.dtype == DType::kObject || a.numel() != 1) out += "?";
      else if (is_integer_dtype(a.dtype)) out += std::to_string(a.get_int64(0));
      else out += pickle_detail::python_float_repr(a.get_double(0));
      out += ")";
      return;
    }
    case PyType::kDtype: {
      if (v.dtype_text_kind()) {
        out += fmt::format("dtype('{}{}{}')", v.dtype_text_kind() == 'U' ? (v.dtype_big_endian() ? ">" : "<") : "|",
                           v.dtype_text_kind(), v.dtype_text_chars());
        return;
      }
      std::string d = dtype_descr(v.as_array().dtype);
      if (v.dtype_big_endian() && d[0] == '<') d[0] = '>';
      out += "dtype('" + d + "')";
      return;
    }
    case PyType::kGlobal:
      out += "<global " + v.as_global().module + "." + v.as_global().name + ">";
      return;
    case PyType::kTorchStorage: {
      const TorchStorageRef& st = v.as_torch_storage();
      out += fmt::format("<torch storage '{}' {} x {}>", st.key.substr(0, 40), st.numel, torch_dtype_name(st.dtype));
      return;
    }
    case PyType::kTorchTensor: {
      const TorchTensorRef& t = v.as_torch_tensor();
      out += fmt::format("tensor(shape=({}), dtype={}{})", fmt::join(t.shape, ", "), torch_dtype_name(t.storage.dtype),
                         t.parameter ? ", parameter" : "");
      return;
    }
  }
}

[[noreturn]] void pyvalue_wrong_type(const char* expected, const PyValue& v) {
  throw Error(fmt::format("expected {}, got {} {}", expected, v.type_name(), v.repr(80)));
}

}  // namespace

std::string PyValue::type_name() const {
  switch (type_) {
    case PyType::kNone: return "NoneType";
    case PyType::kBool: return "bool";
    case PyType::kInt: return "int";
    case PyType::kFloat: return "float";
    case PyType::kStr: return "str";
    case PyType::kBytes: return "bytes";
    case PyType::kTuple: return "tuple";
    case PyType::kList: return "list";
    case PyType::kDict: return ordered_dict_ ? "collections.OrderedDict" : "dict";
    case PyType::kSet: return "set";
    case PyType::kFrozenSet: return "frozenset";
    case PyType::kNdArray: return "numpy.ndarray";
    case PyType::kNumpyScalar: return std::string(pyvalue_scalar_type_name(std::get<NdArray>(value_).dtype));
    case PyType::kDtype: return "numpy.dtype";
    case PyType::kGlobal: return "global";
    case PyType::kTorchStorage: return "torch storage";
    case PyType::kTorchTensor: return "torch.Tensor";
  }
  return "?";
}

std::string PyValue::repr(size_t max_chars) const {
  std::string out;
  pyvalue_repr_into(out, *this, max_chars);
  if (out.size() > max_chars) {
    out.resize(max_chars);
    out += "...";
  }
  return out;
}

bool PyValue::as_bool() const {
  if (type_ == PyType::kBool) return std::get<bool>(value_);
  if (type_ == PyType::kInt) return std::get<int64_t>(value_) != 0;  // Python 2 pickles 0/1
  pyvalue_wrong_type("bool", *this);
}

int64_t PyValue::as_int() const {
  if (type_ == PyType::kInt) return std::get<int64_t>(value_);
  if (type_ == PyType::kBool) return std::get<bool>(value_) ? 1 : 0;
  if (type_ == PyType::kNumpyScalar) {
    const NdArray& a = std::get<NdArray>(value_);
    if (is_integer_dtype(a.dtype) && a.numel() == 1) return a.get_int64(0);
  }
  pyvalue_wrong_type("int", *this);
}

double PyValue::as_float() const {
  if (type_ == PyType::kFloat) return std::get<double>(value_);
  if (type_ == PyType::kInt) return static_cast<double>(std::get<int64_t>(value_));
  if (type_ == PyType::kBool) return std::get<bool>(value_) ? 1.0 : 0.0;
  if (type_ == PyType::kNumpyScalar) {
    const NdArray& a = std::get<NdArray>(value_);
    if (a.dtype != DType::kObject && a.numel() == 1) return a.get_double(0);
  }
  pyvalue_wrong_type("float", *this);
}

const std::string& PyValue::as_str() const {
  if (type_ != PyType::kStr) pyvalue_wrong_type("str", *this);
  return std::get<std::string>(value_);
}

const std::string& PyValue::as_bytes() const {
  if (type_ != PyType::kBytes) pyvalue_wrong_type("bytes", *this);
  return std::get<std::string>(value_);
}

const NdArray& PyValue::as_array() const {
  if (type_ != PyType::kNdArray && type_ != PyType::kNumpyScalar && type_ != PyType::kDtype)
    pyvalue_wrong_type("numpy.ndarray", *this);
  return std::get<NdArray>(value_);
}

const PyGlobal& PyValue::as_global() const {
  if (type_ != PyType::kGlobal) pyvalue_wrong_type("global", *this);
  return std::get<PyGlobal>(value_);
}

const TorchStorageRef& PyValue::as_torch_storage() const {
  if (type_ != PyType::kTorchStorage) pyvalue_wrong_type("torch storage", *this);
  return std::get<TorchStorageRef>(value_);
}

const TorchTensorRef& PyValue::as_torch_tensor() const {
  if (type_ != PyType::kTorchTensor) pyvalue_wrong_type("torch.Tensor", *this);
  return std::get<TorchTensorRef>(value_);
}

TorchTensorRef& PyValue::mutable_torch_tensor() {
  if (type_ != PyType::kTorchTensor) pyvalue_wrong_type("torch.Tensor", *this);
  return std::get<TorchTensorRef>(value_);
}

const std::vector<PyRef>& PyValue::items() const {
  if (!is_collection()) pyvalue_wrong_type("tuple, list, set or frozenset", *this);
  return std::get<std::vector<PyRef>>(value_);
}

const std::vector<std::pair<PyRef, PyRef>>& PyValue::dict_items() const {
  if (type_ != PyType::kDict) pyvalue_wrong_type("dict", *this);
  return std::get<std::vector<std::pair<PyRef, PyRef>>>(value_);
}

size_t PyValue::size() const {
  if (type_ == PyType::kDict) return dict_items().size();
  return items().size();
}

PyRef PyValue::get(const PyValue& key) const {
  const auto& entries = dict_items();
  // From the back: if a hand-made pickle repeats a key, the last SETITEM wins, as in Python.
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (it->first->equals(key)) return it->second;
  return nullptr;
}

PyRef PyValue::get(std::string_view str_key) const {
  const auto& entries = dict_items();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (it->first->type_ == PyType::kStr && std::get<std::string>(it->first->value_) == str_key)
      return it->second;
  return nullptr;
}

std::shared_ptr<PyValue> PyValue::none() { return std::make_shared<PyValue>(); }

std::shared_ptr<PyValue> PyValue::boolean(bool v) {
  auto p = std::make_shared<PyValue>();
  p->type_ = PyType::kBool;
  p->value_ = v;
  return p;
}

std::shared_ptr<PyValue> PyValue::integer(int64_t v) {
  auto p = std::make_shared<PyValue>();
  p->type_ = PyType::kInt;
  p->value_ = v;
  return p;
}

std::shared_ptr<PyValue> PyValue::floating(double v) {
  auto p = std::make_shared<PyValue>();
  p->type_ = PyType::kFloat;
  p->value_ = v;
  return p;
}

std::shared_ptr<PyValue> PyValue::str(std::string utf8) {
  auto p = std::make_shared<PyValue>();
  p->type_ = PyType::kStr;
  p->value_ = std::move(utf8);
  return p;
}

std::shared_ptr<PyValue> PyValue::bytes(std::string raw) {
  auto p = std::make_shared<PyValue>();
  p->type_ = PyType::kBytes;
  p->value_ = std::move(raw);
  return p;
}

std::shared_ptr<PyValue> PyValue::collection(PyType type, std::vector<PyRef> items) {
  MERC_CHECK(type == PyType::kTuple || type == PyType::kList || type == PyType::kSet ||
                 type == PyType::kFrozenSet,
             "PyValue::collection: type {} is not a collection", static_cast<int>(type));
  auto p = std::make_shared<PyValue>();
  p->type_ = type;
  p->value_ = std::move(items);
  return p;
}

std::shared_ptr<PyValue> PyValue::dict(std::vector<std::pair<PyRef, PyRef>> items, bool ordered) {
  auto p = std::make_shared<PyValue>();
  p->type_ = PyType::kDict;
  p->ordered_dict_ = ordered;
  p->value_ = std::move(items);
  return p;
}

std::shared_ptr<PyValue> PyValue::array(PyType type, NdArray arr) {
  MERC_CHECK(type == PyType::kNdArray || type == PyType::kNumpyScalar || type == PyType::kDtype,
             "PyValue::array: type {} is not an array type", static_cast<int>(type));
  auto p = std::make_shared<PyValue>();
  p->type_ = type;
  p->value_ = std::move(arr);
  return p;
}

std::shared_ptr<PyValue> PyValue::global(PyGlobal g) {
  auto p = std::make_shared<PyValue>();
  p->type_ = PyType::kGlobal;
  p->value_ = std::move(g);
  return p;
}

std::shared_ptr<PyValue> PyValue::torch_storage(TorchStorageRef st) {
  auto p = std::make_shared<PyValue>();
  p->type_ = PyType::kTorchStorage;
  p->value_ = std::move(st);
  return p;
}

std::shared_ptr<PyValue> PyValue::torch_tensor(TorchTensorRef t) {
  auto p = std::make_shared<PyValue>();
  p->type_ = PyType::kTorchTensor;
  p->value_ = std::move(t);
  return p;
}

std::vector<PyRef>& PyValue::mutable_items() {
  if (!is_collection()) pyvalue_wrong_type("tuple, list, set or frozenset", *this);
  return std::get<std::vector<PyRef>>(value_);
}

std::vector<std::pair<PyRef, PyRef>>& PyValue::mutable_dict_items() {
  if (type_ != PyType::kDict) pyvalue_wrong_type("dict", *this);
  return std::get<std::vector<std::pair<PyRef, PyRef>>>(value_);
}

NdArray& PyValue::mutable_array() {
  if (type_ != PyType::kNdArray && type_ != PyType::kNumpyScalar && type_ != PyType::kDtype)
    pyvalue_wrong_type("numpy.ndarray", *this);
  return std::get<NdArray>(value_);
}

std::string& PyValue::mutable_str() {
  if (type_ != PyType::kStr && type_ != PyType::kBytes) pyvalue_wrong_type("str or bytes", *this);
  return std::get<std::string>(value_);
}

bool PyValue::equals(const PyValue& other) const {
  if (this == &other) return true;
  const bool num_a = type_ == PyType::kInt || type_ == PyType::kBool || type_ == PyType::kFloat;
  const bool num_b = other.type_ == PyType::kInt || other.type_ == PyType::kBool || other.type_ == PyType::kFloat;
  if (num_a && num_b) {
    if (type_ == PyType::kFloat || other.type_ == PyType::kFloat) return as_float() == other.as_float();
    return as_int() == other.as_int();  // 1 == True, as in Python
  }
  if (type_ != other.type_) {
    // set and frozenset compare equal in Python when their elements do.
    const bool sets = (type_ == PyType::kSet || type_ == PyType::kFrozenSet) &&
                      (other.type_ == PyType::kSet || other.type_ == PyType::kFrozenSet);
    if (!sets) return false;
  }
  switch (type_) {
    case PyType::kNone: return true;
    case PyType::kStr: case PyType::kBytes:
      return std::get<std::string>(value_) == std::get<std::string>(other.value_);
    case PyType::kTuple: case PyType::kList: {
      const auto& a = items();
      const auto& b = other.items();
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (!a[i]->equals(*b[i])) return false;
      return true;
    }
    case PyType::kSet: case PyType::kFrozenSet: {
      const auto& a = items();
      const auto& b = other.items();
      if (a.size() != b.size()) return false;
      for (const auto& x : a) {
        bool found = false;
        for (const auto& y : b) if (x->equals(*y)) { found = true; break; }
        if (!found) return false;
      }
      return true;
    }
    case PyType::kDict: {
      const auto& a = dict_items();
      const auto& b = other.dict_items();
      if (a.size() != b.size()) return false;
      for (const auto& [k, v] : a) {
        PyRef w = other.get(*k);
        if (!w || !v->equals(*w)) return false;
      }
      return true;
    }
    case PyType::kGlobal:
      return as_global().module == other.as_global().module && as_global().name == other.as_global().name;
    default:
      return false;  // arrays: Python's == is elementwise, never a plain key match
  }
}

std::string key_to_string(const PyValue& key) {
  switch (key.type()) {
    case PyType::kStr: return key.as_str();
    case PyType::kBytes: return pickle_detail::latin1_to_utf8(key.as_bytes());
    case PyType::kInt: return std::to_string(key.as_int());
    case PyType::kBool: return key.as_bool() ? "True" : "False";
    case PyType::kFloat: return pickle_detail::python_float_repr(key.as_float());
    case PyType::kNumpyScalar: {
      const NdArray& a = key.as_array();
      if (a.dtype != DType::kObject && is_integer_dtype(a.dtype) && a.dtype != DType::kBool)
        return std::to_string(a.get_int64(0));
      if (a.dtype == DType::kFloat64 || a.dtype == DType::kFloat32 || a.dtype == DType::kFloat16)
        return pickle_detail::python_float_repr(a.get_double(0));
      break;
    }
    default: break;
  }
  throw Error(fmt::format("expected a str, bytes, int or float id, got {} {}", key.type_name(), key.repr(80)));
}

}  // namespace merc::io
