#pragma once
// Internals shared by the pickle reader's files (pickle_vm.cpp, pickle_globals.cpp,
// pickle_text.cpp, pickle_value.cpp). Not a public interface: include merc/io/pickle.h instead.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
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

// A big BINSTRING / BINBYTES whose payload is not copied out of the input yet: array data is
// copied once, straight from the input into the NdArray. Values still referenced by the result
// are filled in when the parse ends (the input is alive for the whole parse).
struct DeferredBytes {
  std::string_view raw;  // points into the pickle input
  bool py2_latin1;       // a Python 2 str to be decoded latin-1 -> UTF-8 (else copied as is)
};
using DeferredMap = std::unordered_map<const PyValue*, DeferredBytes>;

// Where a call or BUILD happens, for error messages, plus the VM state the behaviours need.
struct CallSite {
  const std::string& source;
  uint64_t offset;  // of the opcode doing the call
  const PickleOptions& options;
  const DeferredMap& deferred;

  // The payload of a str / bytes value, deferred or not (for str: its UTF-8, or the raw latin-1
  // bytes of a deferred Python 2 str).
  std::string_view text_of(const PyValue& v) const;

  [[noreturn]] void fail(const std::string& what) const;
};

bool is_allowed_global(std::string_view module, std::string_view name);
// "type repr" of a value for error messages (repr cut at 60 characters).
std::string describe_value(const PyValue& v);
// "numpy.core.multiarray._reconstruct, numpy.ndarray, ..." for error messages.
std::string allowed_globals_text();

// Calls an allow-listed callable (REDUCE, INST, OBJ, NEWOBJ) with positional `args`.
std::shared_ptr<PyValue> call_global(const PyGlobal& callee, const std::vector<PyRef>& args,
                                     const CallSite& site);
// ---- torch.save support (pickle_torch.cpp), active with PickleOptions::torch ----
bool is_torch_global(std::string_view module, std::string_view name);
std::shared_ptr<PyValue> call_torch_global(const PyGlobal& callee, const std::vector<PyRef>& args,
                                           const CallSite& site);
// BINPERSID: a storage reference from torch's persistent id tuple.
std::shared_ptr<PyValue> torch_persistent_load(const PyValue& pid, const CallSite& site);

// BUILD: applies `state` to `target` (ndarray shell, dtype, OrderedDict).
void build_value(PyValue& target, const PyValue& state, const CallSite& site);

}  // namespace merc::io::pickle_detail
