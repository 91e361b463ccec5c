#pragma once
// The pickle VM's state (internal to the pickle reader; see merc/io/pickle.h for the interface).
// pickle_vm.cpp holds the machinery (input, stack, memo, validation), pickle_opcodes.cpp the
// opcode dispatch.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "merc/io/pickle.h"
#include "merc/io/pickle_detail.h"

namespace merc::io::pickle_detail {

class PickleVm {
 public:
  PickleVm(std::string_view data, const std::string& source, const PickleOptions& options);
  ~PickleVm();
  PickleVm(const PickleVm&) = delete;
  PickleVm& operator=(const PickleVm&) = delete;

  PyRef run();
  size_t position() const { return pos_; }  // bytes consumed (after run: up to and including STOP)

 private:
  // Executes one opcode; true after STOP.
  bool step(uint8_t op, CallSite& site);

  [[noreturn]] void fail(const std::string& what) const;

  // Input readers; each fails with "truncated input" instead of reading past the end.
  const uint8_t* take(uint64_t n, const char* what);
  std::string_view take_line(const char* what);
  uint64_t take_uint(int nbytes, const char* what);
  // A length prefix, checked against max_alloc_bytes and the bytes left before anything is
  // allocated. BINSTRING / BININT-style lengths of 4 bytes are signed when `is_signed`.
  uint64_t take_length(int nbytes, bool is_signed, const char* what);
  int64_t parse_decimal(std::string_view text, const char* what);
  int64_t decode_long_bytes(const uint8_t* p, uint64_t n);

  size_t mark_base() const;
  PyRef pop(const char* op);
  const PyRef& top(const char* op) const;
  std::vector<PyRef> pop_mark(const char* op);
  void push(std::shared_ptr<PyValue> v);
  void push_ref(PyRef v) { stack_.push_back(std::move(v)); }
  static PyValue& mut(const PyRef& v);

  void memo_put(uint64_t index);
  void memo_get(uint64_t index);

  // Payloads of kDeferBytes or more that are views into the input are deferred (copied once, at
  // the end, only if the result needs them); any other payload (e.g. a protocol-0 STRING decoded
  // into a temporary) is copied now, since a deferred view must outlive the opcode that made it.
  bool points_into_input(std::string_view raw) const;
  std::shared_ptr<PyValue> make_py2_str(std::string_view raw);
  std::shared_ptr<PyValue> make_bytes(std::string_view raw);
  std::string_view text_of(const PyValue& v) const;
  std::shared_ptr<PyValue> make_utf8_str(std::string_view bytes, const char* op);
  void push_global(std::string_view module, std::string_view name);
  void push_call(const PyRef& callable, const std::vector<PyRef>& args, const CallSite& site, const char* op);
  // Walks the result: rejects cycles and nesting beyond max_nesting, records the containers it
  // owns (keep_) and the deferred payloads it references. Then finish_deferred fills those in.
  void validate_result(const PyRef& root);
  void finish_deferred();

  const uint8_t* in_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_offset_ = 0;
  const std::string& source_;
  const PickleOptions& options_;
  int protocol_ = 0;

  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;  // stack sizes at each MARK
  std::vector<PyRef> memo_dense_;  // memo indices 0..n-1, the usual case
  std::unordered_map<uint64_t, PyRef> memo_sparse_;
  std::vector<PyRef> containers_;  // every container created, for flat teardown
  std::unordered_set<const PyValue*> keep_;  // containers owned by the validated result
  DeferredMap deferred_;
  std::unordered_set<const PyValue*> deferred_needed_;  // deferred values the result references
  std::vector<std::shared_ptr<PyValue>> deferred_values_;
};

}  // namespace merc::io::pickle_detail
