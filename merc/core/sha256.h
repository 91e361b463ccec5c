#pragma once
// SHA-256 (FIPS 180-4), for naming the exact file a run's weights were imported from. No Debian
// package merc already depends on provides it (OpenSSL is not otherwise needed).

#include <string>
#include <string_view>

namespace merc {

// Lower-case hex digest of `bytes`.
std::string sha256_hex(std::string_view bytes);
// Digest of a whole file; merc::FormatError naming the path when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace merc
