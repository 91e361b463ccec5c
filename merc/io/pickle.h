#pragma once
// Safe pickle reader: a pickle VM for protocols 0-5 that builds a tree of PyValue and executes
// nothing. GLOBAL / STACK_GLOBAL / INST / OBJ are resolved only against an explicit allow-list
// (numpy array/scalar/dtype reconstruction, builtins set/frozenset, collections.OrderedDict, ...);
// any other global is a merc::FormatError naming module.name and the byte offset.
//
// Python 2 `str` (STRING / BINSTRING / SHORT_BINSTRING) is decoded as latin-1 into UTF-8 by default,
// matching how this field loads its pickles (pickle.load(f, encoding='latin1')). numpy arrays come
// out as NdArray in native byte order and C order (merc/io/ndarray.h).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "merc/io/ndarray.h"

namespace merc::io {

class PyValue;
using PyRef = std::shared_ptr<const PyValue>;

enum class PyType {
  kNone, kBool, kInt, kFloat, kStr, kBytes,
  kTuple, kList, kDict, kSet, kFrozenSet,
  kNdArray,      // numpy.ndarray
  kNumpyScalar,  // numpy scalar (numpy.core.multiarray.scalar): a 0-d NdArray
  kDtype,        // numpy.dtype object: its NdArray has no data, only dtype
  kGlobal,       // an allow-listed callable that was never called (e.g. a class reference)
  kTorchStorage, // torch.save storage reference (persistent id), PickleOptions::torch only
  kTorchTensor,  // torch tensor / Parameter rebuilt from a storage reference, PickleOptions::torch only
};

struct PyGlobal {
  std::string module;
  std::string name;
};

// torch.save support (PickleOptions::torch). Tensor data lives outside the pickle (zip members or
// the legacy format's trailing storages), so the VM only records references; merc/io/
// torch_checkpoint.h resolves them against the storages and checks every bound.
enum class TorchDType { kFloat32, kFloat64, kFloat16, kBFloat16, kInt64, kInt32, kInt16, kInt8, kUInt8, kBool };
const char* torch_dtype_name(TorchDType dtype);  // "float32", "bfloat16", ...
int64_t torch_dtype_size(TorchDType dtype);       // bytes per element

struct TorchStorageRef {
  std::string key;       // zip: data/<key>; legacy: the storage's key in the trailing list
  TorchDType dtype = TorchDType::kFloat32;
  int64_t numel = 0;     // elements of this storage (or of the legacy view)
  int64_t view_offset = 0;  // legacy storage views only: element offset into the root storage
  std::string location;  // "cpu", "cuda:0", ... (informational: merc loads to the CPU)
};

struct TorchTensorRef {
  TorchStorageRef storage;
  int64_t offset = 0;            // in elements, into the storage
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;   // in elements
  bool requires_grad = false;
  bool parameter = false;        // rebuilt through torch._utils._rebuild_parameter
};

class PyValue {
 public:
  PyType type() const { return type_; }
  // Python-ish name for messages: "NoneType", "int", "str", "list", "dict", "numpy.ndarray", ...
  std::string type_name() const;
  // Short Python-like rendering for error messages and `inspect`, cut at `max_chars`.
  std::string repr(size_t max_chars = 200) const;

  bool is_none() const { return type_ == PyType::kNone; }
  bool is_sequence() const { return type_ == PyType::kTuple || type_ == PyType::kList; }
  bool is_collection() const {  // tuple, list, set, frozenset
    return is_sequence() || type_ == PyType::kSet || type_ == PyType::kFrozenSet;
  }
  bool is_dict() const { return type_ == PyType::kDict; }
  bool is_array() const { return type_ == PyType::kNdArray || type_ == PyType::kNumpyScalar; }

  // Scalar accessors; each throws merc::Error naming the expected and actual type.
  bool as_bool() const;
  int64_t as_int() const;      // int, bool, or an integer numpy scalar
  double as_float() const;     // float, int, bool, or any numeric numpy scalar
  const std::string& as_str() const;    // str (UTF-8)
  const std::string& as_bytes() const;  // bytes / bytearray
  const NdArray& as_array() const;      // ndarray, numpy scalar, dtype
  const PyGlobal& as_global() const;
  const TorchStorageRef& as_torch_storage() const;
  const TorchTensorRef& as_torch_tensor() const;

  // Elements of a tuple, list, set or frozenset (sets keep pickle insertion order).
  const std::vector<PyRef>& items() const;
  // Entries of a dict or OrderedDict, in insertion order.
  const std::vector<std::pair<PyRef, PyRef>>& dict_items() const;
  size_t size() const;  // len() of a collection or dict
  // Dict lookup by key equality (str, int, bytes, bool, float, tuple keys). nullptr when absent.
  PyRef get(const PyValue& key) const;
  PyRef get(std::string_view str_key) const;
  bool is_ordered_dict() const { return ordered_dict_; }

  // Constructors used by the VM and by tests.
  static std::shared_ptr<PyValue> none();
  static std::shared_ptr<PyValue> boolean(bool v);
  static std::shared_ptr<PyValue> integer(int64_t v);
  static std::shared_ptr<PyValue> floating(double v);
  static std::shared_ptr<PyValue> str(std::string utf8);
  static std::shared_ptr<PyValue> bytes(std::string raw);
  static std::shared_ptr<PyValue> collection(PyType type, std::vector<PyRef> items);
  static std::shared_ptr<PyValue> dict(std::vector<std::pair<PyRef, PyRef>> items, bool ordered = false);
  static std::shared_ptr<PyValue> array(PyType type, NdArray arr);
  static std::shared_ptr<PyValue> global(PyGlobal g);
  static std::shared_ptr<PyValue> torch_storage(TorchStorageRef s);
  static std::shared_ptr<PyValue> torch_tensor(TorchTensorRef t);
  TorchTensorRef& mutable_torch_tensor();

  // Mutators used by the VM (APPEND(S), SETITEM(S), ADDITEMS, BUILD). Not for library users.
  std::vector<PyRef>& mutable_items();
  std::vector<std::pair<PyRef, PyRef>>& mutable_dict_items();
  NdArray& mutable_array();
  std::string& mutable_str();  // str / bytes payload (the VM decodes deferred Python 2 str here)
  // kDtype only: numpy recorded this dtype as big-endian ('>'). Arrays are always converted to
  // native order; the flag lets the VM byteswap and lets `repr` show the dtype as numpy wrote it.
  bool dtype_big_endian() const { return dtype_big_endian_; }
  void set_dtype_big_endian(bool v) { dtype_big_endian_ = v; }
  // kDtype only: numpy's fixed-width text dtypes 'U<n>' (UCS-4) and 'S<n>' (bytes): kind 'U' or
  // 'S' and n; kind 0 for every other dtype. Such arrays decode to object arrays of str / bytes
  // (trailing NULs stripped, as numpy does) and such scalars (numpy.str_) to plain str / bytes.
  char dtype_text_kind() const { return dtype_text_kind_; }
  int64_t dtype_text_chars() const { return dtype_text_chars_; }
  void set_dtype_text(char kind, int64_t chars) { dtype_text_kind_ = kind; dtype_text_chars_ = chars; }

  bool equals(const PyValue& other) const;  // Python == for keys (int/bool/float cross-compare)

 private:
  PyType type_ = PyType::kNone;
  bool ordered_dict_ = false;
  bool dtype_big_endian_ = false;
  char dtype_text_kind_ = 0;
  int64_t dtype_text_chars_ = 0;
  std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<PyRef>,
               std::vector<std::pair<PyRef, PyRef>>, NdArray, PyGlobal, TorchStorageRef, TorchTensorRef>
      value_;
};

// How Python 2 `str` opcodes are decoded (pickle.load's `encoding=`).
enum class Py2StrEncoding { kLatin1, kBytes, kAscii };

struct PickleOptions {
  Py2StrEncoding py2_str = Py2StrEncoding::kLatin1;
  // Limits that keep hostile files from exhausting memory or the stack.
  // Depth of the value tree. Consumers (repr, equals, destructors of the returned tree) recurse,
  // so this bounds their stack use; the field's pickles nest fewer than 10 levels.
  int max_nesting = 1000;
  int64_t max_memo_entries = 1 << 26;
  int64_t max_alloc_bytes = int64_t{1} << 36;  // single array or string
  // torch.save's object pickle: accept its persistent ids ('storage', StorageType, key, location,
  // numel[, view]) and the tensor-rebuild functions and storage classes (torch._utils.
  // _rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter, torch.FloatStorage, ...). Still
  // executes nothing: tensors become TorchTensorRef values.
  bool torch = false;
};

// Parses a whole pickle. `source_name` (usually the path) prefixes every error message.
PyRef parse_pickle(std::string_view bytes, const std::string& source_name,
                   const PickleOptions& options = {});
// Like parse_pickle, for a pickle followed by other data (torch's legacy format stores several
// pickles back to back): sets *consumed to the number of bytes up to and including STOP.
PyRef parse_pickle_prefix(std::string_view bytes, const std::string& source_name, const PickleOptions& options,
                          size_t* consumed);
// Reads the file and parses it. Errors name the file.
PyRef load_pickle_file(const std::string& path, const PickleOptions& options = {});

// The allow-list, for documentation and `merc data list-formats`: "module.name" strings.
std::vector<std::string> pickle_allowed_globals();

// A dict key or id rendered as a dialogue/utterance id string: str as is, bytes as latin-1,
// int/float via Python's str(). Throws merc::Error for other types.
std::string key_to_string(const PyValue& key);

}  // namespace merc::io
