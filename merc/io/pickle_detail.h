#pragma once
// Internals shared by the pickle reader's files (pickle_vm.cpp, pickle_globals.cpp,
// pickle_text.cpp, pickle_value.cpp). Not a public interface: include merc/io/pickle.h instead.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "merc/io/pickle.h"

namespace merc::io::pickle_detail {

// ---- text codecs (pickle_text.cpp) ----
void append_utf8(std::string& out, uint32_t code_point);
bool is_ascii(std::string_view s);
// Each byte is one code point (Python's latin-1 decode), written as UTF-8.
std::string latin1_to_utf8(std::string_view raw);
// Inverse of latin1_to_utf8. False when `utf8` is malformed or holds a code point above U+00FF.
bool utf8_to_latin1(std::string_view utf8, std::string* out);
// UTF-8 as Python decodes pickled str ('surrogatepass': encoded surrogates are accepted).
bool is_valid_utf8(std::string_view s);
// Body of a protocol-0 STRING (without the quotes): Python's codecs.escape_decode.
bool python_escape_decode(std::string_view body, std::string* out);
// Protocol-0 UNICODE payload: Python's raw-unicode-escape (\uXXXX, \UXXXXXXXX), to UTF-8.
bool raw_unicode_escape_decode(std::string_view in, std::string* out);
// Python's repr()/str() of a float: shortest round-trip digits, "1.0", "1e+16", "inf", "nan".
std::string python_float_repr(double v);

// ---- allow-listed globals (pickle_globals.cpp) ----

// Where a call or BUILD happens, for error messages, plus the VM state the behaviours need.
struct CallSite {
  const std::string& source;
  uint64_t offset;  // of the opcode doing the call
  const PickleOptions& options;
  // Python 2 str values that still hold their raw latin-1 bytes (decoding of big strings is
  // deferred to the end of the parse so array data is not decoded and re-encoded).
  const std::unordered_set<const PyValue*>& raw_py2_strs;

  [[noreturn]] void fail(const std::string& what) const;
};

bool is_allowed_global(std::string_view module, std::string_view name);
// "numpy.core.multiarray._reconstruct, numpy.ndarray, ..." for error messages.
std::string allowed_globals_text();

// Calls an allow-listed callable (REDUCE, INST, OBJ, NEWOBJ) with positional `args`.
std::shared_ptr<PyValue> call_global(const PyGlobal& callee, const std::vector<PyRef>& args,
                                     const CallSite& site);
// BUILD: applies `state` to `target` (ndarray shell, dtype, OrderedDict).
void build_value(PyValue& target, const PyValue& state, const CallSite& site);

}  // namespace merc::io::pickle_detail
