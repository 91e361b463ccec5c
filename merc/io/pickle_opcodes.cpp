// Opcode dispatch of the pickle VM (protocols 0-5, as defined by CPython's Lib/pickle.py and
// pickletools). Each case reads its argument through the bounds-checked readers of
// pickle_vm.cpp and manipulates the stack; calls go only to the allow-list.

#include <charconv>
#include <cstring>

#include "merc/core/error.h"
#include "merc/io/pickle_vm.h"

namespace merc::io::pickle_detail {

namespace {

bool is_unhashable(const PyValue& v) {
  return v.type() == PyType::kList || v.type() == PyType::kDict || v.type() == PyType::kSet ||
         v.type() == PyType::kNdArray;
}

}  // namespace

void PickleVm::push_global(std::string_view module, std::string_view name) {
  if (options_.torch && is_torch_global(module, name)) {
    push(PyValue::global(PyGlobal{std::string(module), std::string(name)}));
    return;
  }
  if (options_.torch && !is_allowed_global(module, name))
    fail(fmt::format("forbidden global {}.{}: this checkpoint holds pickled Python objects, not only tensors and "
                     "containers (e.g. a whole model saved with torch.save(model), whose class this is). merc runs "
                     "no code from checkpoints: in Python, load it and save its weights instead, "
                     "torch.save(model.state_dict(), 'weights.pth')",
                     std::string(module.substr(0, 200)), std::string(name.substr(0, 200))));
  if (!is_allowed_global(module, name))
    fail(fmt::format("forbidden global {}.{} (allowed: {})", std::string(module.substr(0, 200)),
                     std::string(name.substr(0, 200)), allowed_globals_text()));
  push(PyValue::global(PyGlobal{std::string(module), std::string(name)}));
}

void PickleVm::push_call(const PyRef& callable, const std::vector<PyRef>& args, const CallSite& site,
                         const char* op) {
  if (callable->type() != PyType::kGlobal)
    fail(fmt::format("{}: {} {} is not callable (only allow-listed globals can be called)", op,
                     callable->type_name(), callable->repr(60)));
  push(call_global(callable->as_global(), args, site));
}

bool PickleVm::step(uint8_t op, CallSite& site) {
  switch (op) {
    // ---- stack and memo ----
    case '(':  // MARK
      marks_.push_back(stack_.size());
      return false;
    case '.':  // STOP
      return true;
    case '0':  // POP (Python pops the mark when nothing is above it)
      if (stack_.size() > mark_base()) stack_.pop_back();
      else if (!marks_.empty()) marks_.pop_back();
      else fail("stack underflow in POP");
      return false;
    case '1':  // POP_MARK
      pop_mark("POP_MARK");
      return false;
    case '2':  // DUP
      push_ref(top("DUP"));
      return false;
    case 'p': {  // PUT
      const int64_t i = parse_decimal(take_line("PUT"), "PUT");
      if (i < 0) fail(fmt::format("PUT: negative memo index {}", i));
      memo_put(static_cast<uint64_t>(i));
      return false;
    }
    case 'q':  // BINPUT
      memo_put(take_uint(1, "BINPUT"));
      return false;
    case 'r':  // LONG_BINPUT
      memo_put(take_uint(4, "LONG_BINPUT"));
      return false;
    case 0x94:  // MEMOIZE
      memo_put(memo_dense_.size() + memo_sparse_.size());
      return false;
    case 'g': {  // GET
      const int64_t i = parse_decimal(take_line("GET"), "GET");
      if (i < 0) fail(fmt::format("memo index {} was never stored (bad GET)", i));
      memo_get(static_cast<uint64_t>(i));
      return false;
    }
    case 'h':  // BINGET
      memo_get(take_uint(1, "BINGET"));
      return false;
    case 'j':  // LONG_BINGET
      memo_get(take_uint(4, "LONG_BINGET"));
      return false;
    case 0x80: {  // PROTO
      protocol_ = static_cast<int>(take_uint(1, "PROTO"));
      if (protocol_ > 5) fail(fmt::format("unsupported pickle protocol {}", protocol_));
      return false;
    }
    case 0x95: {  // FRAME: framing only groups opcodes for buffered reads; the length is checked
      const uint64_t n = take_uint(8, "FRAME");
      if (n > size_ - pos_) fail(fmt::format("truncated input: FRAME declares {} bytes, only {} left", n, size_ - pos_));
      return false;
    }

    // ---- scalars ----
    case 'N': push(PyValue::none()); return false;
    case 0x88: push(PyValue::boolean(true)); return false;   // NEWTRUE
    case 0x89: push(PyValue::boolean(false)); return false;  // NEWFALSE
    case 'I': {  // INT (protocol 0): "01"/"00" are Python 2's True/False
      const std::string_view line = take_line("INT");
      if (line == "01") push(PyValue::boolean(true));
      else if (line == "00") push(PyValue::boolean(false));
      else push(PyValue::integer(parse_decimal(line, "INT")));
      return false;
    }
    case 'J': {  // BININT
      const auto u = static_cast<uint32_t>(take_uint(4, "BININT"));
      int32_t v;
      std::memcpy(&v, &u, sizeof v);
      push(PyValue::integer(v));
      return false;
    }
    case 'K': push(PyValue::integer(static_cast<int64_t>(take_uint(1, "BININT1")))); return false;
    case 'M': push(PyValue::integer(static_cast<int64_t>(take_uint(2, "BININT2")))); return false;
    case 'L': {  // LONG (protocol 0): "123L"
      std::string_view line = take_line("LONG");
      if (!line.empty() && line.back() == 'L') line.remove_suffix(1);
      push(PyValue::integer(parse_decimal(line, "LONG")));
      return false;
    }
    case 0x8a: {  // LONG1
      const uint64_t n = take_uint(1, "LONG1");
      push(PyValue::integer(decode_long_bytes(take(n, "LONG1"), n)));
      return false;
    }
    case 0x8b: {  // LONG4
      const uint64_t n = take_length(4, true, "LONG4");
      push(PyValue::integer(decode_long_bytes(take(n, "LONG4"), n)));
      return false;
    }
    case 'F': {  // FLOAT (protocol 0): repr() text
      const std::string_view line = take_line("FLOAT");
      double v = 0;
      const auto res = std::from_chars(line.data(), line.data() + line.size(), v);
      if (res.ec != std::errc() || res.ptr != line.data() + line.size() || line.empty())
        fail(fmt::format("FLOAT: invalid number '{}'", std::string(line.substr(0, 60))));
      push(PyValue::floating(v));
      return false;
    }
    case 'G': {  // BINFLOAT: big-endian IEEE double
      const uint64_t bits = [&] {
        const uint8_t* p = take(8, "BINFLOAT");
        uint64_t b = 0;
        for (int i = 0; i < 8; ++i) b = (b << 8) | p[i];
        return b;
      }();
      double v;
      std::memcpy(&v, &bits, sizeof v);
      push(PyValue::floating(v));
      return false;
    }

    // ---- strings and bytes ----
    case 'S': {  // STRING (protocol 0): a quoted Python 2 str literal
      const std::string_view line = take_line("STRING");
      if (line.size() < 2 || line.front() != line.back() || (line.front() != '\'' && line.front() != '"'))
        fail("STRING: the pickled string is not quoted");
      std::string raw;
      if (!python_escape_decode(line.substr(1, line.size() - 2), &raw)) fail("STRING: invalid escape sequence");
      push(make_py2_str(raw));
      return false;
    }
    case 'T': {  // BINSTRING
      const uint64_t n = take_length(4, true, "BINSTRING");
      push(make_py2_str(std::string_view(reinterpret_cast<const char*>(take(n, "BINSTRING")), n)));
      return false;
    }
    case 'U': {  // SHORT_BINSTRING
      const uint64_t n = take_uint(1, "SHORT_BINSTRING");
      push(make_py2_str(std::string_view(reinterpret_cast<const char*>(take(n, "SHORT_BINSTRING")), n)));
      return false;
    }
    case 'V': {  // UNICODE (protocol 0): raw-unicode-escape
      const std::string_view line = take_line("UNICODE");
      std::string utf8;
      if (!raw_unicode_escape_decode(line, &utf8)) fail("UNICODE: invalid \\u escape");
      push(PyValue::str(std::move(utf8)));
      return false;
    }
    case 'X': case 0x8c: case 0x8d: {  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
      const char* name = op == 'X' ? "BINUNICODE" : op == 0x8c ? "SHORT_BINUNICODE" : "BINUNICODE8";
      const uint64_t n = take_length(op == 'X' ? 4 : op == 0x8c ? 1 : 8, false, name);
      push(make_utf8_str(std::string_view(reinterpret_cast<const char*>(take(n, name)), n), name));
      return false;
    }
    case 'B': case 'C': case 0x8e: case 0x96: {  // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
      const char* name = op == 'B' ? "BINBYTES" : op == 'C' ? "SHORT_BINBYTES" : op == 0x8e ? "BINBYTES8" : "BYTEARRAY8";
      const uint64_t n = take_length(op == 'B' ? 4 : op == 'C' ? 1 : 8, false, name);
      push(make_bytes(std::string_view(reinterpret_cast<const char*>(take(n, name)), n)));
      return false;
    }

    // ---- containers ----
    case ')': push(PyValue::collection(PyType::kTuple, {})); return false;  // EMPTY_TUPLE
    case ']': push(PyValue::collection(PyType::kList, {})); return false;   // EMPTY_LIST
    case '}': push(PyValue::dict({})); return false;                         // EMPTY_DICT
    case 0x8f: push(PyValue::collection(PyType::kSet, {})); return false;   // EMPTY_SET
    case 't': push(PyValue::collection(PyType::kTuple, pop_mark("TUPLE"))); return false;
    case 'l': push(PyValue::collection(PyType::kList, pop_mark("LIST"))); return false;
    case 0x91: push(PyValue::collection(PyType::kFrozenSet, pop_mark("FROZENSET"))); return false;
    case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
      const size_t n = op - 0x84u;
      if (stack_.size() < mark_base() + n) fail(fmt::format("stack underflow in TUPLE{}", n));
      std::vector<PyRef> items(std::make_move_iterator(stack_.end() - static_cast<std::ptrdiff_t>(n)),
                               std::make_move_iterator(stack_.end()));
      stack_.resize(stack_.size() - n);
      push(PyValue::collection(PyType::kTuple, std::move(items)));
      return false;
    }
    case 'd': {  // DICT
      std::vector<PyRef> kv = pop_mark("DICT");
      if (kv.size() % 2) fail("DICT: odd number of items (a key without a value)");
      std::vector<std::pair<PyRef, PyRef>> entries;
      entries.reserve(kv.size() / 2);
      for (size_t i = 0; i < kv.size(); i += 2) {
        if (is_unhashable(*kv[i])) fail(fmt::format("DICT: unhashable key of type {}", kv[i]->type_name()));
        entries.emplace_back(std::move(kv[i]), std::move(kv[i + 1]));
      }
      push(PyValue::dict(std::move(entries)));
      return false;
    }
    case 'a': {  // APPEND
      PyRef v = pop("APPEND");
      const PyRef& list = top("APPEND");
      if (list->type() != PyType::kList) fail(fmt::format("APPEND to {}, expected a list", list->type_name()));
      mut(list).mutable_items().push_back(std::move(v));
      return false;
    }
    case 'e': {  // APPENDS
      std::vector<PyRef> items = pop_mark("APPENDS");
      const PyRef& list = top("APPENDS");
      if (list->type() != PyType::kList) fail(fmt::format("APPENDS to {}, expected a list", list->type_name()));
      auto& dst = mut(list).mutable_items();
      dst.insert(dst.end(), std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
      return false;
    }
    case 's': case 'u': {  // SETITEM, SETITEMS
      std::vector<PyRef> kv;
      if (op == 's') {
        PyRef v = pop("SETITEM");
        PyRef k = pop("SETITEM");
        kv = {std::move(k), std::move(v)};
      } else {
        kv = pop_mark("SETITEMS");
        if (kv.size() % 2) fail("SETITEMS: odd number of items (a key without a value)");
      }
      const char* name = op == 's' ? "SETITEM" : "SETITEMS";
      const PyRef& dict = top(name);
      if (!dict->is_dict()) fail(fmt::format("{} on {}, expected a dict", name, dict->type_name()));
      auto& dst = mut(dict).mutable_dict_items();
      for (size_t i = 0; i < kv.size(); i += 2) {
        if (is_unhashable(*kv[i])) fail(fmt::format("{}: unhashable key of type {}", name, kv[i]->type_name()));
        dst.emplace_back(std::move(kv[i]), std::move(kv[i + 1]));
      }
      return false;
    }
    case 0x90: {  // ADDITEMS
      std::vector<PyRef> items = pop_mark("ADDITEMS");
      const PyRef& set = top("ADDITEMS");
      if (set->type() != PyType::kSet) fail(fmt::format("ADDITEMS to {}, expected a set", set->type_name()));
      auto& dst = mut(set).mutable_items();
      dst.insert(dst.end(), std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
      return false;
    }

    // ---- globals and calls (allow-list only) ----
    case 'c': {  // GLOBAL
      const std::string_view module = take_line("GLOBAL");
      const std::string_view name = take_line("GLOBAL");
      push_global(module, name);
      return false;
    }
    case 0x93: {  // STACK_GLOBAL
      PyRef name = pop("STACK_GLOBAL");
      PyRef module = pop("STACK_GLOBAL");
      if (module->type() != PyType::kStr || name->type() != PyType::kStr)
        fail(fmt::format("STACK_GLOBAL: module and name must be str, got {} and {}", module->type_name(),
                         name->type_name()));
      push_global(text_of(*module), text_of(*name));
      return false;
    }
    case 'R': {  // REDUCE
      PyRef args = pop("REDUCE");
      PyRef callable = pop("REDUCE");
      if (callable->type() == PyType::kGlobal && args->type() != PyType::kTuple)
        fail(fmt::format("REDUCE: arguments must be a tuple, got {}", args->type_name()));
      push_call(callable, args->type() == PyType::kTuple ? args->items() : std::vector<PyRef>{}, site, "REDUCE");
      return false;
    }
    case 'b': {  // BUILD
      PyRef state = pop("BUILD");
      build_value(mut(top("BUILD")), *state, site);
      return false;
    }
    case 'i': {  // INST: module, name, then MARK'd arguments
      const std::string_view module = take_line("INST");
      const std::string_view name = take_line("INST");
      std::vector<PyRef> args = pop_mark("INST");
      push_global(module, name);
      PyRef callable = pop("INST");
      push_call(callable, args, site, "INST");
      return false;
    }
    case 'o': {  // OBJ: MARK class args...
      std::vector<PyRef> items = pop_mark("OBJ");
      if (items.empty()) fail("OBJ without a class");
      PyRef callable = std::move(items.front());
      items.erase(items.begin());
      push_call(callable, items, site, "OBJ");
      return false;
    }
    case 0x81: case 0x92: {  // NEWOBJ, NEWOBJ_EX: cls.__new__(cls, *args[, **kwargs])
      const char* name = op == 0x81 ? "NEWOBJ" : "NEWOBJ_EX";
      if (op == 0x92) {
        PyRef kwargs = pop(name);
        if (!kwargs->is_dict() || kwargs->size() != 0) fail("NEWOBJ_EX: keyword arguments are not supported");
      }
      PyRef args = pop(name);
      PyRef cls = pop(name);
      if (args->type() != PyType::kTuple) fail(fmt::format("{}: arguments must be a tuple, got {}", name, args->type_name()));
      push_call(cls, args->items(), site, name);
      return false;
    }

    // ---- deliberately unsupported ----
    case 'Q':  // BINPERSID
      if (options_.torch) {
        PyRef pid = pop("BINPERSID");
        push(torch_persistent_load(*pid, site));
        return false;
      }
      fail("BINPERSID: persistent ids are not supported (the pickle references external objects)");
    case 'P':
      fail(fmt::format("{}: persistent ids are not supported (the pickle references external objects)",
                       op == 'P' ? "PERSID" : "BINPERSID"));
    case 0x82: case 0x83: case 0x84:
      fail("EXT1/EXT2/EXT4: the copyreg extension registry is not supported");
    case 0x97: case 0x98:
      fail("NEXT_BUFFER/READONLY_BUFFER: out-of-band buffers are not supported (pickle without buffer_callback)");
    default:
      fail(fmt::format("unknown opcode 0x{:02x}", op));
  }
}

}  // namespace merc::io::pickle_detail
