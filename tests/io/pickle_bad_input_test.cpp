// Hostile and broken pickles: each must be a merc::FormatError naming the source, the byte offset
// and what was wrong; never a crash, a hang, a huge allocation or an executed global.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "merc/core/error.h"
#include "merc/io/pickle.h"

namespace merc::io {
namespace {

using namespace std::string_literals;

const std::string kBadInputDir = std::string(MERC_FIXTURE_DIR) + "/pickle/";

std::string read_whole_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

// Parses `bytes` expecting a FormatError whose message contains every one of `parts`.
void expect_error(const std::string& bytes, std::initializer_list<std::string> parts) {
  try {
    const PyRef v = parse_pickle(bytes, "bad.pkl");
    ADD_FAILURE() << "no error for input of " << bytes.size() << " bytes, got " << v->repr();
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.pkl: byte ", 0), 0u) << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  }
}

TEST(PickleBadInputTest, EveryTruncationIsAnError) {
  for (const char* name : {"nested_p0.pkl", "nested_p2.pkl", "arrays_p4.pkl", "arrays_p5.pkl", "py2_iemocap_like.pkl"}) {
    const std::string full = read_whole_file(kBadInputDir + name);
    ASSERT_GT(full.size(), 100u) << name;
    EXPECT_NO_THROW(parse_pickle(full, name));  // the positive control
    for (size_t n = 0; n < full.size(); ++n) {
      EXPECT_THROW(parse_pickle(std::string_view(full.data(), n), name), FormatError) << name << " prefix " << n;
    }
  }
}

TEST(PickleBadInputTest, UnknownOpcode) { expect_error("\x80\x02\xff."s, {"byte 2:", "unknown opcode 0xff"}); }

TEST(PickleBadInputTest, UnsupportedProtocol) { expect_error("\x80\x06N."s, {"byte 0:", "protocol 6"}); }

TEST(PickleBadInputTest, ForbiddenGlobalViaGlobal) {
  expect_error("cos\nsystem\n(S'echo hi'\ntR."s, {"byte 0:", "forbidden global os.system", "allowed:"});
  expect_error("\x80\x02" "cposix\nsystem\nq\x00."s, {"byte 2:", "forbidden global posix.system"});
  expect_error("\x80\x02" "csubprocess\nPopen\n."s, {"byte 2:", "forbidden global subprocess.Popen"});
}

TEST(PickleBadInputTest, ForbiddenGlobalViaStackGlobal) {
  // pickle.dumps(eval, protocol=4)
  expect_error("\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00\x8c\x08" "builtins\x94\x8c\x04" "eval\x94\x93\x94."s,
               {"byte 29:", "forbidden global builtins.eval"});
}

TEST(PickleBadInputTest, ClassicReduceExploit) {
  // pickle.dumps(E()) where E.__reduce__ returns (os.system, ('echo pwned',)): protocols 4 and 0.
  expect_error("\x80\x04\x95%\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\n"
               "echo pwned\x94\x85\x94R\x94."s,
               {"byte 28:", "forbidden global posix.system"});
  expect_error("cposix\nsystem\np0\n(Vecho pwned\np1\ntp2\nRp3\n."s, {"byte 0:", "forbidden global posix.system"});
  // The INST form names the global too.
  expect_error("(S'echo hi'\nios\nsystem\n."s, {"byte 12:", "forbidden global os.system"});
}

TEST(PickleBadInputTest, ReduceNeedsAnAllowedCallableAndTupleArgs) {
  expect_error("\x80\x02K\x01)R."s, {"byte 5:", "REDUCE", "not callable"});
  expect_error("\x80\x02" "c__builtin__\nset\nK\x01R."s, {"REDUCE: arguments must be a tuple"});
  expect_error("\x80\x02" "c__builtin__\nset\nK\x01\x85R."s, {"set expects a list"});
  expect_error("\x80\x02" "cnumpy\nndarray\n)R."s, {"numpy.ndarray can only be used through _reconstruct"});
  expect_error("\x80\x02" "c_codecs\nencode\nX\x01\x00\x00\x00" "aX\x05\x00\x00\x00" "utf-8\x86R."s,
               {"_codecs.encode: only bytes or (str, 'latin1')"});
}

TEST(PickleBadInputTest, BuildOnUnsupportedTarget) {
  expect_error("\x80\x02Nb."s, {"byte 3:", "stack underflow in BUILD"});
  expect_error("\x80\x02]}b."s, {"byte 4:", "BUILD on list is not supported"});
}

TEST(PickleBadInputTest, MemoAndStackErrors) {
  expect_error("\x80\x02h\x05."s, {"byte 2:", "memo index 5"});
  expect_error("\x80\x02j\x00\x00\x00\x01."s, {"memo index 16777216"});
  expect_error("\x80\x02g7\n."s, {"memo index 7"});
  expect_error("\x80\x02q\x00."s, {"byte 2:", "stack underflow"});
  expect_error("\x80\x02K\x01" "a."s, {"byte 4:", "stack underflow in APPEND"});
  expect_error("\x80\x02K\x01t."s, {"byte 4:", "TUPLE without a preceding MARK"});
  expect_error("\x80\x02(K\x01\x86."s, {"stack underflow in TUPLE2"});  // the MARK hides what is below
  expect_error("\x80\x02."s, {"byte 2:", "stack underflow in STOP"});
  expect_error("\x80\x02K\x01K\x02" "a."s, {"APPEND to int, expected a list"});
  expect_error("\x80\x02}(K\x01u."s, {"SETITEMS: odd number of items"});
  expect_error("\x80\x02}]K\x01s."s, {"unhashable key of type list"});
  expect_error("\x80\x02N"s, {"byte 3:", "no STOP"});
}

TEST(PickleBadInputTest, IntegersThatDoNotFit) {
  expect_error("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00."s, {"LONG of 9 bytes does not fit"});
  expect_error("L99999999999999999999L\n."s, {"does not fit in 64 bits"});
  expect_error("I12x\n."s, {"INT: invalid integer"});
  // Positive controls: -1 in 9 bytes (pure sign extension) and 2**63-1 in 8 bytes both fit.
  EXPECT_EQ(parse_pickle("\x80\x02\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\xff."s, "ok")->as_int(), -1);
  EXPECT_EQ(parse_pickle("\x80\x02\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f."s, "ok")->as_int(),
            std::numeric_limits<int64_t>::max());
}

TEST(PickleBadInputTest, HugeDeclaredLengthsFailWithoutAllocating) {
  expect_error("\x80\x04\x8d"s + le64(uint64_t{1} << 62) + "."s, {"byte 2:", "BINUNICODE8", "allocation limit"});
  expect_error("\x80\x04\x8e"s + le64(uint64_t{1} << 40) + "."s, {"BINBYTES8", "allocation limit"});
  expect_error("\x80\x03" "B\xff\xff\xff\x7f."s, {"truncated input: BINBYTES declares 2147483647 bytes, only 1 left"});
  expect_error("\x80\x02T\xff\xff\xff\xff."s, {"BINSTRING: negative length"});
  expect_error("\x80\x04\x95"s + le64(uint64_t{1} << 50) + "N."s, {"FRAME declares"});
  expect_error("\x80\x02\x8b\x00\x00\x00\x40."s, {"truncated input: LONG4"});
}

TEST(PickleBadInputTest, InvalidText) {
  expect_error("\x80\x04\x8c\x02\xc3\x28."s, {"SHORT_BINUNICODE: invalid UTF-8"});
  expect_error("S'abc\n."s, {"STRING: the pickled string is not quoted"});
  expect_error("S'\\x4'\n."s, {"STRING: invalid escape"});
  expect_error("Vab\\u12\n."s, {"UNICODE: invalid"});
  expect_error("Fnot-a-float\n."s, {"FLOAT: invalid number"});
}

TEST(PickleBadInputTest, UnsupportedFeaturesSayWhy) {
  expect_error("\x80\x02Q."s, {"persistent ids are not supported"});
  expect_error("Pid\n."s, {"persistent ids are not supported"});
  expect_error("\x80\x02\x82\x01."s, {"extension registry"});
  expect_error("\x80\x05\x97."s, {"out-of-band buffers are not supported"});
}

// A py2-style protocol-2 array of dtype f8, shape (3,), with `raw` as its BINSTRING data.
std::string f8_array_pickle(const std::string& raw) {
  return "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01" "b\x87R"
         "(K\x01K\x03\x85" "cnumpy\ndtype\nU\x02" "f8K\x00K\x01\x87R"
         "(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
         "\x89U"s + static_cast<char>(raw.size()) + raw + "tb."s;
}

TEST(PickleBadInputTest, ArrayDataLengthMismatch) {
  std::string raw(24, '\0');
  const double vals[3] = {1.5, -2.0, 8.0};
  std::memcpy(raw.data(), vals, 24);
  const PyRef ok = parse_pickle(f8_array_pickle(raw), "ok");  // positive control: 3 * 8 bytes
  EXPECT_EQ(ok->as_array().to_float64(), (std::vector<double>{1.5, -2.0, 8.0}));
  expect_error(f8_array_pickle(raw.substr(0, 16)), {"array data has 16 bytes", "needs 3 * 8 = 24"});
  expect_error(f8_array_pickle(raw + "x"), {"array data has 25 bytes"});
}

TEST(PickleBadInputTest, ArrayShapeTooLargeIsRejectedBeforeAllocating) {
  // Shape (2**40, 2**40) f8: numel * itemsize overflows any limit.
  const std::string p = "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01" "b\x87R"
                        "(K\x01\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x06\x00\x00\x00\x00\x00\x01\x86"
                        "cnumpy\ndtype\nU\x02" "f8K\x00K\x01\x87R"
                        "(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x00tb."s;
  expect_error(p, {"exceeds the", "allocation limit"});
}

TEST(PickleBadInputTest, DeepNestingIsRejectedNotACrash) {
  PickleOptions opt;  // default max_nesting
  // 100000 nested lists built with EMPTY_LIST ... APPEND.
  const int n = 100000;
  std::string lists = "\x80\x02"s + std::string(n, ']') + std::string(n - 1, 'a') + ".";
  expect_error(lists, {"nested deeper than max_nesting=1000"});
  // Nested tuples: MARK ... TUPLE.
  std::string tuples = "\x80\x02"s + std::string(n, '(') + std::string(n, 't') + ".";
  expect_error(tuples, {"nested deeper than max_nesting"});
  // A deep structure left in the memo but not returned is torn down without recursion too.
  std::string popped = "\x80\x02"s + std::string(n, ']') + std::string(n - 1, 'a') + "0N.";
  EXPECT_TRUE(parse_pickle(popped, "ok")->is_none());
  // Within the limit it parses (and destroys) fine: the positive control.
  const int ok_depth = 900;
  std::string fine = "\x80\x02"s + std::string(ok_depth, ']') + std::string(ok_depth - 1, 'a') + ".";
  const PyRef v = parse_pickle(fine, "ok");
  EXPECT_EQ(v->size(), 1u);
  EXPECT_EQ(v->repr(20).substr(0, 5), "[[[[[");
}

TEST(PickleBadInputTest, CyclesAreRejected) {
  // l = []; l.append(l)
  expect_error("\x80\x02]q\x00h\x00" "a."s, {"self-referencing structure"});
  // d = {}; d['k'] = [d]
  expect_error("\x80\x02}q\x00X\x01\x00\x00\x00k]h\x00" "as."s, {"self-referencing"});
}

TEST(PickleBadInputTest, LoadMissingFileNamesThePath) {
  try {
    load_pickle_file("/nonexistent/dir/x.pkl");
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/x.pkl: cannot open"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace merc::io

namespace merc::io {
namespace {

// Regression input from fuzz run 3 (reported as a slow unit while the machine was overloaded; it
// parses in milliseconds): BININT2 followed by 3233 TUPLE1 opcodes, a 3233-deep chain of 1-tuples.
// With max_nesting 1000 it must be rejected, quickly and without deep recursion.
TEST(PickleBadInputTest, FuzzReportedDeepTuple1ChainIsRejected) {
  const std::string p = std::string("M\x85\x85", 3) + std::string(3231, '\x85') + ".";
  try {
    parse_pickle(p, "fuzz-report");
    FAIL() << "expected a nesting error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than max_nesting"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace merc::io
