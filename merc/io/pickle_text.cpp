// Text codecs of the pickle reader: latin-1 <-> UTF-8 for Python 2 str, UTF-8 validation, the
// escape syntaxes of the protocol-0 STRING and UNICODE opcodes, and Python's float repr (used for
// ids and messages so a float key renders exactly as Python's str() would).

#include <charconv>
#include <cmath>
#include <cstring>

#include "merc/io/pickle_detail.h"

namespace merc::io::pickle_detail {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_ascii(std::string_view s) {
  // Word-at-a-time: this runs over every Python 2 str, including megabytes of array data.
  size_t i = 0;
  const char* p = s.data();
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) return false;
  }
  for (; i < s.size(); ++i)
    if (static_cast<unsigned char>(p[i]) & 0x80) return false;
  return true;
}

std::string latin1_to_utf8(std::string_view raw) {
  if (is_ascii(raw)) return std::string(raw);
  std::string out;
  out.reserve(raw.size() + raw.size() / 2);
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xC0 | (b >> 6)));
      out.push_back(static_cast<char>(0x80 | (b & 0x3F)));
    }
  }
  return out;
}

bool utf8_to_latin1(std::string_view utf8, std::string* out) {
  out->clear();
  out->reserve(utf8.size());
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto b = static_cast<unsigned char>(utf8[i]);
    if (b < 0x80) {
      out->push_back(static_cast<char>(b));
    } else if ((b == 0xC2 || b == 0xC3) && i + 1 < utf8.size() &&
               (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80) {
      out->push_back(static_cast<char>(((b & 0x03) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3F)));
      ++i;
    } else {
      return false;  // malformed, or a code point above U+00FF
    }
  }
  return true;
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((p[i] & 0xE0) == 0xC0) { len = 2; cp = p[i] & 0x1F; }
    else if ((p[i] & 0xF0) == 0xE0) { len = 3; cp = p[i] & 0x0F; }
    else if ((p[i] & 0xF8) == 0xF0) { len = 4; cp = p[i] & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Reject overlong forms and values past U+10FFFF; surrogates pass (Python's surrogatepass).
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += len;
  }
  return true;
}

namespace {
int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool python_escape_decode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i >= in.size()) return false;  // trailing backslash: Python raises too
    const char e = in[i];
    switch (e) {
      case '\n': break;  // line continuation
      case '\\': out->push_back('\\'); break;
      case '\'': out->push_back('\''); break;
      case '"': out->push_back('"'); break;
      case 'a': out->push_back('\a'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'v': out->push_back('\v'); break;
      case 'x': {
        if (i + 2 >= in.size()) return false;  // "\x" needs two hex digits
        const int hi = hex_digit_value(in[i + 1]);
        const int lo = hex_digit_value(in[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out->push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {  // up to three octal digits
          int v = e - '0';
          for (int k = 0; k < 2 && i + 1 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '7'; ++k)
            v = v * 8 + (in[++i] - '0');
          out->push_back(static_cast<char>(v & 0xFF));
        } else {  // unknown escapes are kept verbatim, as Python does
          out->push_back('\\');
          out->push_back(e);
        }
    }
  }
  return true;
}

bool raw_unicode_escape_decode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b != '\\') {
      append_utf8(*out, b);  // every other byte is a latin-1 code point
      ++i;
      continue;
    }
    // A run of backslashes: only an odd-length run followed by u/U starts an escape.
    size_t run = 0;
    while (i + run < in.size() && in[i + run] == '\\') ++run;
    const size_t after = i + run;
    const bool escape = (run % 2 == 1) && after < in.size() && (in[after] == 'u' || in[after] == 'U');
    const size_t literal = escape ? run - 1 : run;
    out->append(literal, '\\');
    i += run;
    if (!escape) continue;
    const size_t digits = in[after] == 'u' ? 4 : 8;
    if (after + digits >= in.size()) return false;  // escape cut short
    uint32_t cp = 0;
    for (size_t k = 1; k <= digits; ++k) {
      const int d = hex_digit_value(in[after + k]);
      if (d < 0) return false;
      cp = cp * 16 + static_cast<uint32_t>(d);
    }
    if (cp > 0x10FFFF) return false;
    append_utf8(*out, cp);
    i = after + 1 + digits;
  }
  return true;
}

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in scientific form, e.g. "-1.2345e+02", then laid out with
  // Python's rule: positional when -4 <= exponent < 16, else scientific with >= 2 exp digits.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  std::string out;
  if (!sci.empty() && sci[0] == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const size_t epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos))
    if (c != '.') digits.push_back(c);
  int exp = 0;
  std::from_chars(sci.data() + epos + 1 + (sci[epos + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
  if (exp < -4 || exp >= 16) {
    out.push_back(digits[0]);
    if (digits.size() > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    const int a = exp < 0 ? -exp : exp;
    out += exp < 0 ? "e-" : "e+";
    if (a < 10) out.push_back('0');
    out += std::to_string(a);
    return out;
  }
  if (exp >= 0) {
    const size_t int_digits = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_digits) {
      out += digits;
      out.append(int_digits - digits.size(), '0');
      out += ".0";
    } else {
      out.append(digits, 0, int_digits);
      out.push_back('.');
      out.append(digits, int_digits, std::string::npos);
    }
  } else {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
  }
  return out;
}

}  // namespace merc::io::pickle_detail
