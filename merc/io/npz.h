#pragma once
// .npz files (numpy.savez / numpy.savez_compressed): a zip archive of .npy members.
//
// Names are given as numpy.load reports them: "features.npy" in the archive is "features".
// Members whose names do not end in ".npy" are not arrays (numpy.load would hand out their raw
// bytes) and are left out of names and of read_npz_file. Every member read is CRC-checked and
// parsed with the strict .npy reader (merc/io/npy.h); errors name the archive and the member.

#include <map>
#include <string>
#include <vector>

#include "merc/io/ndarray.h"

namespace merc::io {

// Array names in archive order, without the ".npy" suffix.
std::vector<std::string> npz_member_names(const std::string& path);

// Every array in the archive, keyed by name without the ".npy" suffix.
std::map<std::string, NdArray> read_npz_file(const std::string& path);

// One array; `name` may be given with or without the ".npy" suffix. Throws merc::FormatError
// naming the archive and listing the members when it is absent.
NdArray read_npz_member(const std::string& path, const std::string& name);

}  // namespace merc::io
