// The allow-list of pickle globals and what each one does. Nothing is imported or executed: each
// allowed "module.name" maps to a small C++ behaviour that rebuilds the value numpy / the Python
// builtins would have produced (ndarray, numpy scalar, dtype, set, OrderedDict, bytes).

#include <charconv>
#include <cstring>

#include "merc/core/error.h"
#include "merc/io/pickle_detail.h"

namespace merc::io::pickle_detail {

namespace {

enum class Behaviour {
  kReconstruct,  // numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') -> empty array shell
  kNdarrayClass, // numpy.ndarray: only as _reconstruct's first argument
  kDtype,        // numpy.dtype('f8', False, True), byte order set by BUILD
  kScalar,       // numpy.core.multiarray.scalar(dtype, raw bytes) -> 0-d array
  kFromBuffer,   // numpy.core.numeric._frombuffer(buffer, dtype, shape, order): protocol 5
  kSet,
  kFrozenSet,
  kOrderedDict,
  kByteArray,
  kBytes,
  kCodecsEncode, // _codecs.encode(str, 'latin1'): Python 3 bytes at protocols 0-2
};

struct AllowedGlobal {
  std::string_view module;
  std::string_view name;
  Behaviour behaviour;
};

// numpy >= 2 moved numpy.core to numpy._core; Python 2 names builtins __builtin__.
constexpr AllowedGlobal kAllowed[] = {
    {"numpy.core.multiarray", "_reconstruct", Behaviour::kReconstruct},
    {"numpy._core.multiarray", "_reconstruct", Behaviour::kReconstruct},
    {"numpy", "ndarray", Behaviour::kNdarrayClass},
    {"numpy", "dtype", Behaviour::kDtype},
    {"numpy.core.multiarray", "scalar", Behaviour::kScalar},
    {"numpy._core.multiarray", "scalar", Behaviour::kScalar},
    {"numpy.core.numeric", "_frombuffer", Behaviour::kFromBuffer},
    {"numpy._core.numeric", "_frombuffer", Behaviour::kFromBuffer},
    {"builtins", "set", Behaviour::kSet},
    {"__builtin__", "set", Behaviour::kSet},
    {"builtins", "frozenset", Behaviour::kFrozenSet},
    {"__builtin__", "frozenset", Behaviour::kFrozenSet},
    {"collections", "OrderedDict", Behaviour::kOrderedDict},
    {"builtins", "bytearray", Behaviour::kByteArray},
    {"__builtin__", "bytearray", Behaviour::kByteArray},
    {"builtins", "bytes", Behaviour::kBytes},
    {"__builtin__", "bytes", Behaviour::kBytes},
    {"_codecs", "encode", Behaviour::kCodecsEncode},
};

const AllowedGlobal* find_allowed(std::string_view module, std::string_view name) {
  for (const auto& g : kAllowed)
    if (g.module == module && g.name == name) return &g;
  return nullptr;
}

// The bytes a value stands for when numpy expects a byte buffer: bytes / bytearray as is,
// a Python 2 str as its latin-1 bytes (numpy itself encodes str rawdata with latin-1).
std::string_view byte_view(const PyValue& v, std::string* scratch, const CallSite& site, const char* what) {
  if (auto it = site.deferred.find(&v); it != site.deferred.end()) return it->second.raw;  // bytes / latin-1
  if (v.type() == PyType::kBytes) return v.as_bytes();
  if (v.type() == PyType::kStr) {
    if (!utf8_to_latin1(v.as_str(), scratch))
      site.fail(fmt::format("{}: str holds characters outside latin-1, cannot be array bytes", what));
    return *scratch;
  }
  site.fail(fmt::format("{}: expected bytes, got {}", what, describe_value(v)));
}

// numpy's fixed-width text dtypes: "U102", "<U3", "|S5", "S5", "a5" (an alias of S).
bool parse_text_dtype(std::string_view code, char* kind, int64_t* chars, bool* big) {
  *big = false;
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '=')) {
    *big = code[0] == '>';
    code.remove_prefix(1);
  }
  if (code.size() < 2 || (code[0] != 'U' && code[0] != 'S' && code[0] != 'a')) return false;
  *kind = code[0] == 'U' ? 'U' : 'S';
  int64_t n = 0;
  const auto res = std::from_chars(code.data() + 1, code.data() + code.size(), n);
  if (res.ec != std::errc() || res.ptr != code.data() + code.size() || n < 0) return false;
  *chars = n;
  if (*kind == 'S') *big = false;
  return true;
}

// Bytes per element of a dtype value (text dtypes: 4 bytes per UCS-4 char, 1 per byte).
int64_t element_size(const PyValue& dt) {
  if (dt.dtype_text_kind() == 'U') return 4 * dt.dtype_text_chars();
  if (dt.dtype_text_kind() == 'S') return dt.dtype_text_chars();
  return dtype_itemsize(dt.as_array().dtype);
}

// One element of a text dtype: UCS-4 -> UTF-8 str, or bytes; trailing NULs stripped as numpy does.
std::shared_ptr<PyValue> decode_text_element(const PyValue& dt, const uint8_t* p, const CallSite& site) {
  const int64_t n = dt.dtype_text_chars();
  if (dt.dtype_text_kind() == 'S') {
    int64_t len = n;
    while (len > 0 && p[len - 1] == 0) --len;
    return PyValue::bytes(std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(len)));
  }
  int64_t len = n;
  auto code_at = [&](int64_t i) {
    const uint8_t* q = p + 4 * i;
    return dt.dtype_big_endian() ? (uint32_t{q[0]} << 24 | uint32_t{q[1]} << 16 | uint32_t{q[2]} << 8 | q[3])
                                 : (uint32_t{q[3]} << 24 | uint32_t{q[2]} << 16 | uint32_t{q[1]} << 8 | q[0]);
  };
  while (len > 0 && code_at(len - 1) == 0) --len;
  std::string out;
  out.reserve(static_cast<size_t>(len));
  for (int64_t i = 0; i < len; ++i) {
    const uint32_t cp = code_at(i);
    if (cp > 0x10FFFF) site.fail(fmt::format("numpy str_ holds invalid code point 0x{:x}", cp));
    append_utf8(out, cp);
  }
  return PyValue::str(std::move(out));
}

const std::vector<PyRef>& expect_args(const std::vector<PyRef>& args, size_t lo, size_t hi,
                                      const CallSite& site, const char* fn) {
  if (args.size() < lo || args.size() > hi)
    site.fail(fmt::format("{} takes {} to {} arguments, got {}", fn, lo, hi, args.size()));
  return args;
}

const PyValue& expect_dtype(const PyValue& v, const CallSite& site, const char* what) {
  if (v.type() != PyType::kDtype) site.fail(fmt::format("{}: expected a numpy.dtype, got {}", what, describe_value(v)));
  return v;
}

// Shape tuple -> dims; checks that numel * itemsize stays under max_alloc_bytes.
std::vector<int64_t> read_shape(const PyValue& v, int64_t itemsize, const CallSite& site) {
  if (v.type() != PyType::kTuple && v.type() != PyType::kList)
    site.fail(fmt::format("array shape: expected a tuple, got {}", describe_value(v)));
  std::vector<int64_t> shape;
  const int64_t max_elems = site.options.max_alloc_bytes / std::max<int64_t>(itemsize, 1);
  int64_t numel = 1;
  for (const auto& d : v.items()) {
    if (d->type() != PyType::kInt) site.fail(fmt::format("array shape: expected int, got {}", describe_value(*d)));
    const int64_t n = d->as_int();
    if (n < 0) site.fail(fmt::format("array shape: negative dimension {}", n));
    if (n > 0 && numel > max_elems / n)
      site.fail(fmt::format("array shape {} exceeds the {}-byte allocation limit", v.repr(80),
                            site.options.max_alloc_bytes));
    numel *= n;
    shape.push_back(n);
  }
  return shape;
}

// Fills `arr` (dtype / shape already set) from numpy's raw data: one copy, then byte order and
// Fortran order are normalised. Object arrays take a list (always in C order: numpy pickles and
// restores object arrays by flat iteration, whatever the memory order).
void fill_array(NdArray& arr, const PyValue& dt, bool fortran, const PyValue& raw, const CallSite& site) {
  const bool big_endian = dt.dtype_big_endian();
  const int64_t numel = arr.numel();
  if (dt.dtype_text_kind()) {  // fixed-width text: decoded element by element into objects
    std::string scratch;
    const std::string_view bytes = byte_view(raw, &scratch, site, "array data");
    const int64_t itemsize = element_size(dt);
    // Each element becomes an object: a zero-width dtype would make any count from no bytes.
    if (itemsize == 0 && numel > 0) site.fail("arrays of zero-width text dtypes are not supported");
    if (static_cast<int64_t>(bytes.size()) != numel * itemsize)
      site.fail(fmt::format("array data has {} bytes, shape {} of dtype {} needs {} * {} = {}", bytes.size(),
                            arr.shape_string(), dt.repr(), numel, itemsize, numel * itemsize));
    std::vector<PyRef> objects(static_cast<size_t>(numel));
    for (int64_t i = 0; i < numel; ++i) {
      // Fortran data: element i of C order sits at its Fortran offset.
      int64_t src = i;
      if (fortran && arr.shape.size() > 1) {
        int64_t rem = i, stride = 1;
        src = 0;
        std::vector<int64_t> idx(arr.shape.size());
        for (size_t k = arr.shape.size(); k-- > 0;) { idx[k] = rem % arr.shape[k]; rem /= arr.shape[k]; }
        for (size_t k = 0; k < arr.shape.size(); ++k) { src += idx[k] * stride; stride *= arr.shape[k]; }
      }
      objects[static_cast<size_t>(i)] =
          decode_text_element(dt, reinterpret_cast<const uint8_t*>(bytes.data()) + src * itemsize, site);
    }
    arr.dtype = DType::kObject;
    arr.data.clear();
    arr.objects = std::move(objects);
    return;
  }
  if (arr.dtype == DType::kObject) {
    if (raw.type() != PyType::kList)
      site.fail(fmt::format("object array data: expected a list, got {}", describe_value(raw)));
    if (static_cast<int64_t>(raw.items().size()) != numel)
      site.fail(fmt::format("object array of shape {} needs {} elements, got {}", arr.shape_string(), numel,
                            raw.items().size()));
    arr.objects = raw.items();
    arr.data.clear();
    return;
  }
  std::string scratch;
  const std::string_view bytes = byte_view(raw, &scratch, site, "array data");
  const int64_t itemsize = dtype_itemsize(arr.dtype);
  if (static_cast<int64_t>(bytes.size()) != numel * itemsize)
    site.fail(fmt::format("array data has {} bytes, shape {} of dtype '{}' needs {} * {} = {}", bytes.size(),
                          arr.shape_string(), dtype_descr(arr.dtype), numel, itemsize, numel * itemsize));
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  arr.data.assign(p, p + bytes.size());
  arr.objects.clear();
  if (big_endian) byteswap_inplace(arr.data, itemsize);
  if (fortran) fortran_to_c_order(arr.data, arr.shape, itemsize);
}

// A short text argument (dtype code, byte order, 'C'/'F'): str, or bytes when Python 2 str is
// loaded as bytes (numpy accepts both). nullptr for other types.
const std::string* text_arg(const PyValue& v, const CallSite& site, std::string* scratch) {
  if (v.type() != PyType::kStr && v.type() != PyType::kBytes) return nullptr;
  *scratch = std::string(site.text_of(v));
  return scratch;
}

std::vector<PyRef> iterable_items(const PyValue& v, const CallSite& site, const char* fn) {
  if (!v.is_collection()) site.fail(fmt::format("{} expects a list, tuple or set, got {}", fn, describe_value(v)));
  return v.items();
}

bool is_latin1_name(const std::string& enc) {
  return enc == "latin1" || enc == "latin-1" || enc == "latin_1" || enc == "iso-8859-1" || enc == "iso8859-1";
}

std::shared_ptr<PyValue> call_dtype(const std::vector<PyRef>& args, const CallSite& site) {
  expect_args(args, 1, 3, site, "numpy.dtype");
  std::string code_text;
  const std::string* code = text_arg(*args[0], site, &code_text);
  if (!code) site.fail(fmt::format("numpy.dtype: expected a type string, got {}", describe_value(*args[0])));
  NdArray arr;
  bool big = false;
  char text_kind = 0;
  int64_t text_chars = 0;
  if (parse_text_dtype(*code, &text_kind, &text_chars, &big)) {
    if (text_chars > site.options.max_alloc_bytes / 4)
      site.fail(fmt::format("numpy dtype '{}' is too wide", code->substr(0, 40)));
    arr.dtype = DType::kObject;  // decoded to an object array of str / bytes
    auto out = PyValue::array(PyType::kDtype, std::move(arr));
    out->set_dtype_text(text_kind, text_chars);
    out->set_dtype_big_endian(big);
    return out;
  }
  if (!parse_dtype_descr(*code, &arr.dtype, &big))
    site.fail(fmt::format("unsupported numpy dtype '{}' (supported: bool, int8-64, uint8-64, float16/32/64, object)",
                          code->substr(0, 40)));
  auto out = PyValue::array(PyType::kDtype, std::move(arr));
  out->set_dtype_big_endian(big);
  return out;
}

std::shared_ptr<PyValue> call_scalar(const std::vector<PyRef>& args, const CallSite& site) {
  expect_args(args, 1, 2, site, "numpy scalar");
  const PyValue& dt = expect_dtype(*args[0], site, "numpy scalar");
  if (args.size() < 2) site.fail("numpy scalar without data");
  std::string scratch;
  if (dt.dtype_text_kind()) {  // numpy.str_ / numpy.bytes_ are str / bytes in Python too
    const std::string_view text = byte_view(*args[1], &scratch, site, "numpy scalar data");
    if (static_cast<int64_t>(text.size()) != element_size(dt))
      site.fail(fmt::format("numpy scalar of dtype {} needs {} bytes, got {}", dt.repr(), element_size(dt), text.size()));
    return decode_text_element(dt, reinterpret_cast<const uint8_t*>(text.data()), site);
  }
  NdArray arr;
  arr.dtype = dt.as_array().dtype;
  if (arr.dtype == DType::kObject) site.fail("numpy object scalars are not supported");
  const std::string_view bytes = byte_view(*args[1], &scratch, site, "numpy scalar data");
  if (static_cast<int64_t>(bytes.size()) != dtype_itemsize(arr.dtype))
    site.fail(fmt::format("numpy scalar of dtype '{}' needs {} bytes, got {}", dtype_descr(arr.dtype),
                          dtype_itemsize(arr.dtype), bytes.size()));
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  arr.data.assign(p, p + bytes.size());
  if (dt.dtype_big_endian()) byteswap_inplace(arr.data, dtype_itemsize(arr.dtype));
  return PyValue::array(PyType::kNumpyScalar, std::move(arr));
}

std::shared_ptr<PyValue> call_reconstruct(const std::vector<PyRef>& args, const CallSite& site) {
  expect_args(args, 3, 3, site, "numpy _reconstruct");
  const PyValue& cls = *args[0];
  if (cls.type() != PyType::kGlobal || cls.as_global().module != "numpy" || cls.as_global().name != "ndarray")
    site.fail(fmt::format("numpy _reconstruct: expected class numpy.ndarray, got {}", describe_value(cls)));
  NdArray arr;
  arr.dtype = DType::kInt8;  // numpy passes typecode 'b'; BUILD sets the real dtype
  arr.shape = read_shape(*args[1], 1, site);
  if (arr.numel() != 0) site.fail("numpy _reconstruct: expected the empty (0,) shell numpy writes");
  return PyValue::array(PyType::kNdArray, std::move(arr));
}

std::shared_ptr<PyValue> call_frombuffer(const std::vector<PyRef>& args, const CallSite& site) {
  expect_args(args, 4, 4, site, "numpy _frombuffer");
  const PyValue& dt = expect_dtype(*args[1], site, "numpy _frombuffer");
  NdArray arr;
  arr.dtype = dt.as_array().dtype;
  if (arr.dtype == DType::kObject && !dt.dtype_text_kind()) site.fail("numpy _frombuffer: object arrays have no buffer");
  arr.shape = read_shape(*args[2], element_size(dt), site);
  std::string order_text;
  const std::string* order = text_arg(*args[3], site, &order_text);
  if (!order || (*order != "C" && *order != "F"))
    site.fail(fmt::format("numpy _frombuffer: order must be 'C' or 'F', got {}", describe_value(*args[3])));
  fill_array(arr, dt, *order == "F", *args[0], site);
  return PyValue::array(PyType::kNdArray, std::move(arr));
}

std::shared_ptr<PyValue> call_ordered_dict(const std::vector<PyRef>& args, const CallSite& site) {
  expect_args(args, 0, 1, site, "collections.OrderedDict");
  std::vector<std::pair<PyRef, PyRef>> entries;
  if (!args.empty()) {  // Python 2 pickles OrderedDict([[k, v], ...])
    for (const auto& pair : iterable_items(*args[0], site, "collections.OrderedDict")) {
      if (!pair->is_sequence() || pair->items().size() != 2)
        site.fail(fmt::format("collections.OrderedDict: expected (key, value) pairs, got {}", describe_value(*pair)));
      entries.emplace_back(pair->items()[0], pair->items()[1]);
    }
  }
  return PyValue::dict(std::move(entries), /*ordered=*/true);
}

std::shared_ptr<PyValue> call_bytes_like(Behaviour b, const std::vector<PyRef>& args, const CallSite& site) {
  const char* fn = b == Behaviour::kCodecsEncode ? "_codecs.encode" : b == Behaviour::kBytes ? "bytes" : "bytearray";
  expect_args(args, b == Behaviour::kCodecsEncode ? 2 : 0, 2, site, fn);
  if (args.empty()) return PyValue::bytes("");
  if (args[0]->type() == PyType::kBytes && args.size() == 1) return PyValue::bytes(std::string(site.text_of(*args[0])));
  if (args[0]->type() == PyType::kStr && args.size() == 2 && args[1]->type() == PyType::kStr &&
      is_latin1_name(std::string(site.text_of(*args[1])))) {
    std::string scratch;
    return PyValue::bytes(std::string(byte_view(*args[0], &scratch, site, fn)));
  }
  site.fail(fmt::format("{}: only bytes or (str, 'latin1') arguments are supported, got {}", fn,
                        describe_value(*args[0])));
}

}  // namespace

std::string describe_value(const PyValue& v) { return v.type_name() + " " + v.repr(60); }

std::string_view CallSite::text_of(const PyValue& v) const {
  if (auto it = deferred.find(&v); it != deferred.end()) return it->second.raw;
  return v.type() == PyType::kBytes ? v.as_bytes() : v.as_str();
}

void CallSite::fail(const std::string& what) const {
  MERC_FORMAT_ERROR(source, "byte {}: {}", offset, what);
}

bool is_allowed_global(std::string_view module, std::string_view name) {
  return find_allowed(module, name) != nullptr;
}

std::string allowed_globals_text() {
  std::string s;
  for (const auto& g : kAllowed) {
    if (!s.empty()) s += ", ";
    s += std::string(g.module) + "." + std::string(g.name);
  }
  return s;
}

std::shared_ptr<PyValue> call_global(const PyGlobal& callee, const std::vector<PyRef>& args,
                                     const CallSite& site) {
  if (site.options.torch && is_torch_global(callee.module, callee.name)) return call_torch_global(callee, args, site);
  const AllowedGlobal* g = find_allowed(callee.module, callee.name);
  if (!g) site.fail(fmt::format("forbidden global {}.{}", callee.module, callee.name));
  switch (g->behaviour) {
    case Behaviour::kReconstruct: return call_reconstruct(args, site);
    case Behaviour::kNdarrayClass: site.fail("numpy.ndarray can only be used through _reconstruct");
    case Behaviour::kDtype: return call_dtype(args, site);
    case Behaviour::kScalar: return call_scalar(args, site);
    case Behaviour::kFromBuffer: return call_frombuffer(args, site);
    case Behaviour::kSet: case Behaviour::kFrozenSet: {
      expect_args(args, 0, 1, site, g->behaviour == Behaviour::kSet ? "set" : "frozenset");
      std::vector<PyRef> items;
      if (!args.empty()) items = iterable_items(*args[0], site, g->behaviour == Behaviour::kSet ? "set" : "frozenset");
      return PyValue::collection(g->behaviour == Behaviour::kSet ? PyType::kSet : PyType::kFrozenSet, std::move(items));
    }
    case Behaviour::kOrderedDict: return call_ordered_dict(args, site);
    case Behaviour::kByteArray: case Behaviour::kBytes: case Behaviour::kCodecsEncode:
      return call_bytes_like(g->behaviour, args, site);
  }
  site.fail("unreachable global behaviour");
}

void build_value(PyValue& target, const PyValue& state, const CallSite& site) {
  if (target.type() == PyType::kNdArray) {
    // ndarray.__setstate__: (version, shape, dtype, is_fortran, rawdata) or the 4-tuple without
    // version that old numpy wrote.
    if (state.type() != PyType::kTuple || (state.items().size() != 5 && state.items().size() != 4))
      site.fail(fmt::format("BUILD of numpy.ndarray: expected a 4- or 5-tuple state, got {}", describe_value(state)));
    const auto& s = state.items();
    const size_t o = s.size() == 5 ? 1 : 0;
    const PyValue& dt = expect_dtype(*s[o + 1], site, "BUILD of numpy.ndarray");
    if (s[o + 2]->type() != PyType::kBool && s[o + 2]->type() != PyType::kInt)
      site.fail(fmt::format("BUILD of numpy.ndarray: is_fortran must be a bool, got {}", describe_value(*s[o + 2])));
    NdArray& arr = target.mutable_array();
    arr.dtype = dt.as_array().dtype;
    arr.shape = read_shape(*s[o], element_size(dt), site);
    fill_array(arr, dt, s[o + 2]->as_bool(), *s[o + 3], site);
    return;
  }
  if (target.type() == PyType::kDtype) {
    // dtype.__setstate__: (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
    if (state.type() != PyType::kTuple || state.items().size() < 5)
      site.fail(fmt::format("BUILD of numpy.dtype: expected a state tuple, got {}", describe_value(state)));
    const auto& s = state.items();
    std::string order_text;
    const std::string* order_arg = text_arg(*s[1], site, &order_text);
    if (!order_arg)
      site.fail(fmt::format("BUILD of numpy.dtype: byte order must be a str, got {}", describe_value(*s[1])));
    if (!s[2]->is_none() || !s[3]->is_none() || !s[4]->is_none())
      site.fail("structured or sub-array numpy dtypes are not supported");
    const std::string& order = *order_arg;
    if (order != "<" && order != ">" && order != "|" && order != "=")
      site.fail(fmt::format("BUILD of numpy.dtype: bad byte order '{}'", order.substr(0, 20)));
    const bool multibyte = target.dtype_text_kind() == 'U' ||
                           (!target.dtype_text_kind() && dtype_itemsize(target.as_array().dtype) > 1 &&
                            target.as_array().dtype != DType::kObject);
    target.set_dtype_big_endian(order == ">" && multibyte);
    return;
  }
  if (target.type() == PyType::kDict) {
    // OrderedDict's state is its instance __dict__: only "nothing" is meaningful here.
    if (state.is_none() || (state.is_dict() && state.size() == 0)) return;
    // torch's state_dict is an OrderedDict carrying a `_metadata` attribute (module versions for
    // _load_from_state_dict); it says nothing about the tensors, so a checkpoint read drops it.
    if (site.options.torch && state.is_dict() && state.size() == 1 && state.get("_metadata")) return;
    site.fail(fmt::format("BUILD of dict with state {} is not supported", describe_value(state)));
  }
  site.fail(fmt::format("BUILD on {} is not supported (only numpy arrays, dtypes, OrderedDict)", target.type_name()));
}

}  // namespace merc::io::pickle_detail
