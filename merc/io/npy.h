#pragma once
// .npy files (numpy.save): format versions 1.0, 2.0 and 3.0.
//
// Layout: magic "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for 2.0/3.0),
// then a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and a final '\n', then the raw array bytes. The header is parsed by a small
// strict parser for exactly that literal (no eval). Arrays come back as NdArray in native byte
// order and C order. Object arrays ('O') hold a pickle and are refused: merc never unpickles
// from .npy (the GCNet feature folders contain only numeric arrays).

#include <string>
#include <string_view>

#include "merc/io/ndarray.h"

namespace merc::io {

// Parses a whole .npy image. `source` (usually the path) prefixes every error message. Throws
// merc::FormatError for bad magic, unsupported versions, malformed headers, unsupported dtypes
// and data shorter or longer than the header declares.
NdArray parse_npy(std::string_view bytes, const std::string& source);

// Reads and parses `path`. Errors name the file.
NdArray read_npy_file(const std::string& path);

// Serialises `array` as an .npy image: version 1.0 (2.0 only if the header exceeds 65535 bytes),
// little-endian, C order, header padded so the data starts 64-byte aligned as numpy does.
// Throws merc::Error for object arrays.
std::string serialize_npy(const NdArray& array);

// Writes serialize_npy(array) to `path`. Throws merc::Error when the file cannot be written.
void write_npy_file(const std::string& path, const NdArray& array);

}  // namespace merc::io
