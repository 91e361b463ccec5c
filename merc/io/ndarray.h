#pragma once
// NdArray: an n-dimensional numeric array as numpy stores it, decoded from a pickle or an .npy.
// Readers normalise on load: `data` is always native (little-endian) byte order and C order, so
// consumers never see Fortran order or big-endian bytes. Object arrays (dtype 'O') keep their
// elements as pickle values in `objects` instead of bytes.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace merc::io {

class PyValue;  // merc/io/pickle.h

enum class DType { kBool, kInt8, kUInt8, kInt16, kUInt16, kInt32, kUInt32, kInt64, kUInt64,
                   kFloat16, kFloat32, kFloat64, kObject };

// Integer dtypes, bool included (readers accept 0/1 label and id arrays stored as bool), and
// floating dtypes.
bool is_integer_dtype(DType dtype);
bool is_float_dtype(DType dtype);
// Bytes per element (8 for kObject: one reference).
int64_t dtype_itemsize(DType dtype);
// numpy's name for the dtype in native little-endian form: "<f4", "|u1", "|b1", "|O".
std::string dtype_descr(DType dtype);
// Parses a numpy type string such as "<f4", ">i8", "|b1", "f8", "float32", "O". On success sets
// `dtype` and `big_endian` (true only for '>' or '!' with multi-byte items) and returns true.
bool parse_dtype_descr(std::string_view descr, DType* dtype, bool* big_endian);

struct NdArray {
  DType dtype = DType::kFloat64;
  std::vector<int64_t> shape;           // empty = 0-d (a numpy scalar)
  std::vector<uint8_t> data;            // numel * itemsize bytes, native order, C order
  std::vector<std::shared_ptr<const PyValue>> objects;  // dtype kObject only, C order

  int64_t numel() const;                // product of shape (1 for 0-d)
  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  std::string shape_string() const;     // "(3, 4)"

  // Element i (C order) converted to double / int64. Throws merc::Error for kObject.
  double get_double(int64_t i) const;
  int64_t get_int64(int64_t i) const;
  // Whole array converted (float16 decoded, ints widened). Throws merc::Error for kObject.
  std::vector<float> to_float32() const;
  std::vector<double> to_float64() const;
  std::vector<int64_t> to_int64() const;
};

// In-place conversions used by the readers.
void byteswap_inplace(std::vector<uint8_t>& data, int64_t itemsize);
// Reorders `data` from Fortran (column-major) to C (row-major) order for `shape`.
void fortran_to_c_order(std::vector<uint8_t>& data, const std::vector<int64_t>& shape, int64_t itemsize);
// IEEE half -> float.
float half_to_float(uint16_t h);

}  // namespace merc::io
