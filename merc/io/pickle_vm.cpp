// The pickle virtual machine: decodes opcodes of protocols 0-5 into a PyValue tree. It calls only
// the allow-listed behaviours of pickle_globals.cpp; every read is bounds-checked and every error
// is a FormatError "<source>: byte <offset of the opcode>: <what>".
//
// Memory safety beyond bounds checks: a hostile pickle can build cycles (a list appended to
// itself) or very deep trees, which would overflow the stack in recursive consumers and
// destructors. The VM therefore records every container it creates (`containers_`); at STOP it
// walks the result iteratively and rejects cycles and nesting beyond max_nesting, and on any
// error (or for containers not reachable from the result) it empties the recorded containers
// one by one so destruction never recurses deeply.

#include <charconv>
#include <cstring>
#include <unordered_map>

#include "merc/core/error.h"
#include "merc/io/pickle_detail.h"
#include "merc/io/pickle_vm.h"

namespace merc::io::pickle_detail {

namespace {

// BINSTRING / BINBYTES payloads at least this long stay in the input until the parse ends
// (DeferredBytes): numpy array data is then copied once, and never latin-1 decoded.
constexpr size_t kDeferBytes = 256;

bool is_container(const PyValue& v) {
  switch (v.type()) {
    case PyType::kTuple: case PyType::kList: case PyType::kSet: case PyType::kFrozenSet:
    case PyType::kDict:
      return true;
    case PyType::kNdArray:
      return v.as_array().dtype == DType::kObject;
    default:
      return false;
  }
}

size_t child_count(const PyValue& v) {
  if (v.is_dict()) return 2 * v.dict_items().size();
  if (v.is_collection()) return v.items().size();
  if (v.type() == PyType::kNdArray) return v.as_array().objects.size();
  return 0;
}

const PyValue* child_at(const PyValue& v, size_t i) {
  if (v.is_dict()) {
    const auto& e = v.dict_items()[i / 2];
    return (i % 2 ? e.second : e.first).get();
  }
  if (v.is_collection()) return v.items()[i].get();
  return v.as_array().objects[i].get();
}

// Drops a container's children without recursion into them.
void empty_container(PyValue& v) {
  if (v.is_dict()) {
    std::vector<std::pair<PyRef, PyRef>>().swap(v.mutable_dict_items());
  } else if (v.is_collection()) {
    std::vector<PyRef>().swap(v.mutable_items());
  } else if (v.type() == PyType::kNdArray || v.type() == PyType::kNumpyScalar) {
    std::vector<PyRef>().swap(v.mutable_array().objects);
  }
}

}  // namespace

PickleVm::PickleVm(std::string_view data, const std::string& source, const PickleOptions& options)
    : in_(reinterpret_cast<const uint8_t*>(data.data())), size_(data.size()), source_(source), options_(options) {}

PickleVm::~PickleVm() {
  // Empty every container that the validated result does not own (all of them after an error).
  for (const auto& c : containers_)
    if (!keep_.count(c.get())) empty_container(mut(c));
}

void PickleVm::fail(const std::string& what) const {
  MERC_FORMAT_ERROR(source_, "byte {}: {}", op_offset_, what);
}

const uint8_t* PickleVm::take(uint64_t n, const char* what) {
  if (n > size_ - pos_)
    fail(fmt::format("truncated input: {} needs {} bytes, only {} left", what, n, size_ - pos_));
  const uint8_t* p = in_ + pos_;
  pos_ += n;
  return p;
}

std::string_view PickleVm::take_line(const char* what) {
  const void* nl = std::memchr(in_ + pos_, '\n', size_ - pos_);
  if (!nl) fail(fmt::format("truncated input: {} line has no terminating newline", what));
  const size_t len = static_cast<const uint8_t*>(nl) - (in_ + pos_);
  std::string_view line(reinterpret_cast<const char*>(in_ + pos_), len);
  pos_ += len + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // files written in text mode
  return line;
}

uint64_t PickleVm::take_uint(int nbytes, const char* what) {
  const uint8_t* p = take(static_cast<uint64_t>(nbytes), what);
  uint64_t v = 0;
  for (int i = nbytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint64_t PickleVm::take_length(int nbytes, bool is_signed, const char* what) {
  const uint64_t raw = take_uint(nbytes, what);
  if (is_signed && nbytes == 4 && (raw & 0x80000000u)) fail(fmt::format("{}: negative length", what));
  if (raw > static_cast<uint64_t>(options_.max_alloc_bytes))
    fail(fmt::format("{}: declared length {} exceeds the {}-byte allocation limit", what, raw, options_.max_alloc_bytes));
  if (raw > size_ - pos_)
    fail(fmt::format("truncated input: {} declares {} bytes, only {} left", what, raw, size_ - pos_));
  return raw;
}

int64_t PickleVm::parse_decimal(std::string_view text, const char* what) {
  std::string_view t = text;
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  int64_t v = 0;
  const auto res = std::from_chars(t.data(), t.data() + t.size(), v);
  if (res.ec == std::errc::result_out_of_range)
    fail(fmt::format("{}: integer {} does not fit in 64 bits", what, std::string(text.substr(0, 60))));
  if (res.ec != std::errc() || res.ptr != t.data() + t.size() || t.empty())
    fail(fmt::format("{}: invalid integer '{}'", what, std::string(text.substr(0, 60))));
  return v;
}

int64_t PickleVm::decode_long_bytes(const uint8_t* p, uint64_t n) {
  if (n == 0) return 0;
  const bool negative = p[n - 1] & 0x80;
  // Bytes beyond the 8th must be pure sign extension, else the value does not fit in int64.
  for (uint64_t i = 8; i < n; ++i)
    if (p[i] != (negative ? 0xFF : 0x00)) fail(fmt::format("LONG of {} bytes does not fit in 64 bits", n));
  const uint64_t k = n < 8 ? n : 8;
  if (n > 8 && ((p[7] & 0x80) != 0) != negative) fail(fmt::format("LONG of {} bytes does not fit in 64 bits", n));
  uint64_t v = negative ? ~uint64_t{0} : 0;
  for (uint64_t i = k; i-- > 0;) v = (v << 8) | p[i];
  int64_t out;
  std::memcpy(&out, &v, sizeof out);
  return out;
}

size_t PickleVm::mark_base() const { return marks_.empty() ? 0 : marks_.back(); }

PyRef PickleVm::pop(const char* op) {
  if (stack_.size() <= mark_base()) fail(fmt::format("stack underflow in {}", op));
  PyRef v = std::move(stack_.back());
  stack_.pop_back();
  return v;
}

const PyRef& PickleVm::top(const char* op) const {
  if (stack_.size() <= mark_base()) fail(fmt::format("stack underflow in {}", op));
  return stack_.back();
}

std::vector<PyRef> PickleVm::pop_mark(const char* op) {
  if (marks_.empty()) fail(fmt::format("{} without a preceding MARK", op));
  const size_t base = marks_.back();
  marks_.pop_back();
  std::vector<PyRef> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(base)),
                           std::make_move_iterator(stack_.end()));
  stack_.resize(base);
  return items;
}

void PickleVm::push(std::shared_ptr<PyValue> v) {
  // ndarrays too: an array shell becomes an object array (with children) only at BUILD.
  if (is_container(*v) || v->type() == PyType::kNdArray) containers_.push_back(v);
  stack_.push_back(std::move(v));
}

PyValue& PickleVm::mut(const PyRef& v) {
  // Every value on the stack or in the memo was created non-const by this VM (make_shared in
  // PyValue's factories), so casting the const away to fill it is well-defined.
  return const_cast<PyValue&>(*v);
}

void PickleVm::memo_put(uint64_t index) {
  const PyRef& v = top("PUT");
  if (index < memo_dense_.size()) {
    memo_dense_[index] = v;
    return;
  }
  auto it = memo_sparse_.find(index);
  if (it != memo_sparse_.end()) {
    it->second = v;
    return;
  }
  if (static_cast<int64_t>(memo_dense_.size() + memo_sparse_.size()) >= options_.max_memo_entries)
    fail(fmt::format("memo exceeds {} entries", options_.max_memo_entries));
  if (index == memo_dense_.size()) {
    memo_dense_.push_back(v);
    // Entries put out of order join the dense part once the gap closes.
    for (auto next = memo_sparse_.find(memo_dense_.size()); next != memo_sparse_.end();
         next = memo_sparse_.find(memo_dense_.size())) {
      memo_dense_.push_back(std::move(next->second));
      memo_sparse_.erase(next);
    }
  } else {
    memo_sparse_.emplace(index, v);
  }
}

void PickleVm::memo_get(uint64_t index) {
  if (index < memo_dense_.size()) {
    stack_.push_back(memo_dense_[index]);
    return;
  }
  auto it = memo_sparse_.find(index);
  if (it == memo_sparse_.end()) fail(fmt::format("memo index {} was never stored (bad GET)", index));
  stack_.push_back(it->second);
}

bool PickleVm::points_into_input(std::string_view raw) const {
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  return p >= in_ && p + raw.size() <= in_ + size_;
}

std::shared_ptr<PyValue> PickleVm::make_py2_str(std::string_view raw) {
  switch (options_.py2_str) {
    case Py2StrEncoding::kBytes:
      return make_bytes(raw);
    case Py2StrEncoding::kAscii:
      if (!is_ascii(raw)) fail("Python 2 str is not ASCII (load with latin-1 or bytes decoding)");
      return PyValue::str(std::string(raw));
    case Py2StrEncoding::kLatin1:
      break;
  }
  if (raw.size() >= kDeferBytes && points_into_input(raw)) {
    auto v = PyValue::str("");  // filled by finish_deferred() if the result needs it
    deferred_.emplace(v.get(), DeferredBytes{raw, true});
    deferred_values_.push_back(v);
    return v;
  }
  return PyValue::str(latin1_to_utf8(raw));
}

std::shared_ptr<PyValue> PickleVm::make_bytes(std::string_view raw) {
  if (raw.size() >= kDeferBytes && points_into_input(raw)) {
    auto v = PyValue::bytes("");
    deferred_.emplace(v.get(), DeferredBytes{raw, false});
    deferred_values_.push_back(v);
    return v;
  }
  return PyValue::bytes(std::string(raw));
}

std::string_view PickleVm::text_of(const PyValue& v) const {
  if (auto it = deferred_.find(&v); it != deferred_.end()) return it->second.raw;
  return v.type() == PyType::kBytes ? v.as_bytes() : v.as_str();
}

std::shared_ptr<PyValue> PickleVm::make_utf8_str(std::string_view bytes, const char* op) {
  if (!is_valid_utf8(bytes)) fail(fmt::format("{}: invalid UTF-8", op));
  return PyValue::str(std::string(bytes));
}

void PickleVm::finish_deferred() {
  // Fill in the deferred payloads that the result references (found by validate_result); those
  // only used as array data are never copied a second time.
  for (auto& v : deferred_values_) {
    if (!deferred_needed_.count(v.get())) continue;
    const DeferredBytes& d = deferred_.at(v.get());
    v->mutable_str() = d.py2_latin1 ? latin1_to_utf8(d.raw) : std::string(d.raw);
  }
  deferred_.clear();
  deferred_needed_.clear();
  deferred_values_.clear();
}

void PickleVm::validate_result(const PyRef& root) {
  // Iterative DFS over containers: grey = on the current path (seeing it again is a cycle),
  // black = finished with its depth known. Leaves have depth 0 and are not recorded.
  struct Frame {
    const PyValue* v;
    size_t next_child;
    int max_child_depth;
  };
  constexpr int kGrey = -1;
  std::unordered_map<const PyValue*, int> depth;
  std::vector<Frame> path;
  const bool track_raw = !deferred_.empty();
  if (!is_container(*root)) {
    if (track_raw && deferred_.count(root.get())) deferred_needed_.insert(root.get());
    return;
  }
  depth[root.get()] = kGrey;
  path.push_back({root.get(), 0, 0});
  while (!path.empty()) {
    Frame& f = path.back();
    if (f.next_child < child_count(*f.v)) {
      const PyValue* c = child_at(*f.v, f.next_child++);
      if (!is_container(*c)) {
        if (track_raw && deferred_.count(c)) deferred_needed_.insert(c);
        continue;
      }
      auto [it, inserted] = depth.emplace(c, kGrey);
      if (!inserted) {
        if (it->second == kGrey) fail("self-referencing structure (a container contains itself) is not supported");
        f.max_child_depth = std::max(f.max_child_depth, it->second);
        continue;
      }
      if (static_cast<int64_t>(path.size()) >= options_.max_nesting)
        fail(fmt::format("values nested deeper than max_nesting={}", options_.max_nesting));
      path.push_back({c, 0, 0});
      continue;
    }
    const int d = f.max_child_depth + 1;
    depth[f.v] = d;
    path.pop_back();
    if (!path.empty()) path.back().max_child_depth = std::max(path.back().max_child_depth, d);
  }
  keep_.reserve(depth.size());
  for (const auto& [v, d] : depth) keep_.insert(v);
}

PyRef PickleVm::run() {
  CallSite site{source_, 0, options_, deferred_};
  while (true) {
    op_offset_ = pos_;
    site.offset = pos_;
    if (pos_ >= size_) fail("truncated input: no STOP opcode");
    const uint8_t op = in_[pos_++];
    if (step(op, site)) break;
  }
  PyRef result = pop("STOP");
  stack_.clear();
  marks_.clear();
  memo_dense_.clear();
  memo_sparse_.clear();
  validate_result(result);
  finish_deferred();
  return result;
}

}  // namespace merc::io::pickle_detail

namespace merc::io {

PyRef parse_pickle(std::string_view bytes, const std::string& source_name, const PickleOptions& options) {
  pickle_detail::PickleVm vm(bytes, source_name, options);
  return vm.run();
}

PyRef parse_pickle_prefix(std::string_view bytes, const std::string& source_name, const PickleOptions& options,
                          size_t* consumed) {
  pickle_detail::PickleVm vm(bytes, source_name, options);
  PyRef out = vm.run();
  *consumed = vm.position();
  return out;
}

std::vector<std::string> pickle_allowed_globals() {
  std::vector<std::string> out;
  const std::string all = pickle_detail::allowed_globals_text();
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find(", ", start);
    if (end == std::string::npos) end = all.size();
    out.push_back(all.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

}  // namespace merc::io
