#include "merc/io/ndarray.h"

#include <cstring>

#include "merc/core/error.h"

namespace merc::io {

int64_t dtype_itemsize(DType dtype) {
  switch (dtype) {
    case DType::kBool: case DType::kInt8: case DType::kUInt8: return 1;
    case DType::kInt16: case DType::kUInt16: case DType::kFloat16: return 2;
    case DType::kInt32: case DType::kUInt32: case DType::kFloat32: return 4;
    case DType::kInt64: case DType::kUInt64: case DType::kFloat64: case DType::kObject: return 8;
  }
  return 1;
}

bool is_integer_dtype(DType dtype) {
  switch (dtype) {
    case DType::kBool: case DType::kInt8: case DType::kUInt8: case DType::kInt16: case DType::kUInt16:
    case DType::kInt32: case DType::kUInt32: case DType::kInt64: case DType::kUInt64:
      return true;
    default:
      return false;
  }
}

bool is_float_dtype(DType dtype) {
  return dtype == DType::kFloat16 || dtype == DType::kFloat32 || dtype == DType::kFloat64;
}

std::string dtype_descr(DType dtype) {
  switch (dtype) {
    case DType::kBool: return "|b1";
    case DType::kInt8: return "|i1";
    case DType::kUInt8: return "|u1";
    case DType::kInt16: return "<i2";
    case DType::kUInt16: return "<u2";
    case DType::kInt32: return "<i4";
    case DType::kUInt32: return "<u4";
    case DType::kInt64: return "<i8";
    case DType::kUInt64: return "<u8";
    case DType::kFloat16: return "<f2";
    case DType::kFloat32: return "<f4";
    case DType::kFloat64: return "<f8";
    case DType::kObject: return "|O";
  }
  return "?";
}

bool parse_dtype_descr(std::string_view descr, DType* dtype, bool* big_endian) {
  bool big = false;
  if (!descr.empty() && (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=' ||
                         descr[0] == '!')) {
    big = descr[0] == '>' || descr[0] == '!';
    descr.remove_prefix(1);
  }
  struct Name { std::string_view name; DType type; };
  static const Name kNames[] = {
      {"b1", DType::kBool},     {"?", DType::kBool},       {"bool", DType::kBool},
      {"i1", DType::kInt8},     {"int8", DType::kInt8},    {"u1", DType::kUInt8},
      {"uint8", DType::kUInt8}, {"i2", DType::kInt16},     {"int16", DType::kInt16},
      {"u2", DType::kUInt16},   {"uint16", DType::kUInt16}, {"i4", DType::kInt32},
      {"int32", DType::kInt32}, {"u4", DType::kUInt32},    {"uint32", DType::kUInt32},
      {"i8", DType::kInt64},    {"int64", DType::kInt64},  {"u8", DType::kUInt64},
      {"uint64", DType::kUInt64}, {"f2", DType::kFloat16}, {"float16", DType::kFloat16},
      {"e", DType::kFloat16},   {"f4", DType::kFloat32},   {"float32", DType::kFloat32},
      {"f", DType::kFloat32},   {"f8", DType::kFloat64},   {"float64", DType::kFloat64},
      {"d", DType::kFloat64},   {"O", DType::kObject},     {"O8", DType::kObject},
      {"object", DType::kObject}, {"b", DType::kInt8},     {"B", DType::kUInt8},
      {"h", DType::kInt16},     {"H", DType::kUInt16},     {"i", DType::kInt32},
      {"I", DType::kUInt32},    {"l", DType::kInt64},      {"L", DType::kUInt64},
      {"q", DType::kInt64},     {"Q", DType::kUInt64},
  };
  for (const auto& n : kNames) {
    if (n.name == descr) {
      *dtype = n.type;
      *big_endian = big && dtype_itemsize(n.type) > 1 && n.type != DType::kObject;
      return true;
    }
  }
  return false;
}

int64_t NdArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string NdArray::shape_string() const {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal half -> normal float
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) { mant <<= 1; --exp; }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

namespace {
template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace

double NdArray::get_double(int64_t i) const {
  const uint8_t* p = data.data() + i * dtype_itemsize(dtype);
  switch (dtype) {
    case DType::kBool: return *p != 0;
    case DType::kInt8: return load<int8_t>(p);
    case DType::kUInt8: return *p;
    case DType::kInt16: return load<int16_t>(p);
    case DType::kUInt16: return load<uint16_t>(p);
    case DType::kInt32: return load<int32_t>(p);
    case DType::kUInt32: return load<uint32_t>(p);
    case DType::kInt64: return static_cast<double>(load<int64_t>(p));
    case DType::kUInt64: return static_cast<double>(load<uint64_t>(p));
    case DType::kFloat16: return half_to_float(load<uint16_t>(p));
    case DType::kFloat32: return load<float>(p);
    case DType::kFloat64: return load<double>(p);
    case DType::kObject: break;
  }
  throw Error("numeric value requested from an object (dtype 'O') array");
}

int64_t NdArray::get_int64(int64_t i) const {
  const uint8_t* p = data.data() + i * dtype_itemsize(dtype);
  switch (dtype) {
    case DType::kInt64: return load<int64_t>(p);
    case DType::kUInt64: {
      const uint64_t v = load<uint64_t>(p);
      if (v > static_cast<uint64_t>(INT64_MAX))
        throw Error(fmt::format("uint64 value {} does not fit a signed 64-bit integer", v));
      return static_cast<int64_t>(v);
    }
    case DType::kObject: throw Error("numeric value requested from an object (dtype 'O') array");
    default: return static_cast<int64_t>(get_double(i));
  }
}

std::vector<float> NdArray::to_float32() const {
  const int64_t n = numel();
  std::vector<float> out(static_cast<size_t>(n));
  if (dtype == DType::kFloat32) {
    if (n) std::memcpy(out.data(), data.data(), static_cast<size_t>(n) * 4);
    return out;
  }
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = static_cast<float>(get_double(i));
  return out;
}

std::vector<double> NdArray::to_float64() const {
  const int64_t n = numel();
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = get_double(i);
  return out;
}

std::vector<int64_t> NdArray::to_int64() const {
  const int64_t n = numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = get_int64(i);
  return out;
}

void byteswap_inplace(std::vector<uint8_t>& data, int64_t itemsize) {
  if (itemsize <= 1) return;
  const size_t k = static_cast<size_t>(itemsize);
  for (size_t off = 0; off + k <= data.size(); off += k) {
    for (size_t a = 0, b = k - 1; a < b; ++a, --b) std::swap(data[off + a], data[off + b]);
  }
}

void fortran_to_c_order(std::vector<uint8_t>& data, const std::vector<int64_t>& shape, int64_t itemsize) {
  if (shape.size() < 2) return;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n == 0) return;
  std::vector<uint8_t> out(data.size());
  const size_t nd = shape.size();
  std::vector<int64_t> idx(nd, 0);
  // Fortran strides: stride[0] = 1, stride[k] = stride[k-1] * shape[k-1].
  std::vector<int64_t> fstride(nd, 1);
  for (size_t k = 1; k < nd; ++k) fstride[k] = fstride[k - 1] * shape[k - 1];
  const size_t isz = static_cast<size_t>(itemsize);
  for (int64_t c = 0; c < n; ++c) {  // c walks C order; idx is its multi-index
    int64_t f = 0;
    for (size_t k = 0; k < nd; ++k) f += idx[k] * fstride[k];
    std::memcpy(out.data() + static_cast<size_t>(c) * isz, data.data() + static_cast<size_t>(f) * isz, isz);
    for (size_t k = nd; k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  data.swap(out);
}

}  // namespace merc::io
