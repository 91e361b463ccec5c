#include "merc/io/ndarray.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "merc/core/error.h"

namespace merc::io {
namespace {

TEST(NdArrayDtype, ParsesNumpyDescrsWithByteOrder) {
  DType d;
  bool big;
  ASSERT_TRUE(parse_dtype_descr("<f4", &d, &big));
  EXPECT_EQ(d, DType::kFloat32);
  EXPECT_FALSE(big);
  ASSERT_TRUE(parse_dtype_descr(">i8", &d, &big));
  EXPECT_EQ(d, DType::kInt64);
  EXPECT_TRUE(big);
  ASSERT_TRUE(parse_dtype_descr(">u1", &d, &big));
  EXPECT_FALSE(big);  // single bytes have no byte order
  ASSERT_TRUE(parse_dtype_descr("|b1", &d, &big));
  EXPECT_EQ(d, DType::kBool);
  EXPECT_FALSE(parse_dtype_descr("<c8", &d, &big));  // complex: not supported
  EXPECT_FALSE(parse_dtype_descr("", &d, &big));
  EXPECT_EQ(dtype_descr(DType::kFloat16), "<f2");
  EXPECT_EQ(dtype_itemsize(DType::kFloat16), 2);
  EXPECT_TRUE(is_integer_dtype(DType::kBool));
  EXPECT_TRUE(is_integer_dtype(DType::kUInt64));
  EXPECT_FALSE(is_integer_dtype(DType::kFloat16));
  EXPECT_TRUE(is_float_dtype(DType::kFloat16));
  EXPECT_FALSE(is_float_dtype(DType::kObject));
}

TEST(NdArrayHalf, DecodesNormalsSubnormalsAndSpecials) {
  EXPECT_EQ(half_to_float(0x3C00), 1.0f);        // 1.0
  EXPECT_EQ(half_to_float(0xC000), -2.0f);       // -2.0
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);  // nearest half to 1/3
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal 2^-24
  EXPECT_EQ(half_to_float(0x7BFF), 65504.0f);    // largest finite
  EXPECT_TRUE(std::isinf(half_to_float(0x7C00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
}

TEST(NdArrayLayout, FortranToCOrderAndByteswap) {
  // Fortran (2, 3) array of [[0, 1, 2], [3, 4, 5]] is stored column by column: 0 3 1 4 2 5.
  std::vector<uint8_t> data = {0, 3, 1, 4, 2, 5};
  fortran_to_c_order(data, {2, 3}, 1);
  EXPECT_EQ(data, (std::vector<uint8_t>{0, 1, 2, 3, 4, 5}));
  // (2, 2, 2): element (i, j, k) at Fortran offset i + 2j + 4k holds 100i + 10j + k.
  std::vector<uint8_t> f(8);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) f[static_cast<size_t>(i + 2 * j + 4 * k)] = static_cast<uint8_t>(100 * i + 10 * j + k);
  fortran_to_c_order(f, {2, 2, 2}, 1);
  EXPECT_EQ(f, (std::vector<uint8_t>{0, 1, 10, 11, 100, 101, 110, 111}));

  std::vector<uint8_t> w = {1, 2, 3, 4, 5, 6, 7, 8};
  byteswap_inplace(w, 4);
  EXPECT_EQ(w, (std::vector<uint8_t>{4, 3, 2, 1, 8, 7, 6, 5}));
}

TEST(NdArrayConvert, WidensAndRejectsObjects) {
  NdArray a;
  a.dtype = DType::kInt16;
  a.shape = {3};
  const int16_t v[] = {-2, 0, 300};
  a.data.resize(sizeof v);
  std::memcpy(a.data.data(), v, sizeof v);
  EXPECT_EQ(a.to_float32(), (std::vector<float>{-2.0f, 0.0f, 300.0f}));
  EXPECT_EQ(a.to_int64(), (std::vector<int64_t>{-2, 0, 300}));
  EXPECT_EQ(a.shape_string(), "(3,)");
  NdArray o;
  o.dtype = DType::kObject;
  o.shape = {1};
  o.objects.resize(1);
  EXPECT_THROW(o.to_float32(), Error);
}

}  // namespace
}  // namespace merc::io

namespace merc::io {
namespace {

TEST(NdArrayConvert, Uint64AboveInt64MaxIsAnErrorNotAWrap) {
  NdArray a;
  a.dtype = DType::kUInt64;
  a.shape = {2};
  const uint64_t v[] = {uint64_t{INT64_MAX}, uint64_t{INT64_MAX} + 1};
  a.data.resize(sizeof v);
  std::memcpy(a.data.data(), v, sizeof v);
  EXPECT_EQ(a.get_int64(0), INT64_MAX);
  EXPECT_THROW(a.get_int64(1), Error);  // would read back as a negative "unlabelled" -1 style value
}

}  // namespace
}  // namespace merc::io
