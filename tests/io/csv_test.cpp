#include "merc/io/csv.h"

#include <gtest/gtest.h>
#include "test_labels.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "merc/core/error.h"

namespace merc::io {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// The FormatError message of `fn`, or "" when it does not throw one.
template <typename Fn>
std::string csv_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

CsvOptions no_header() {
  CsvOptions o;
  o.has_header = false;
  return o;
}

TEST(Csv, HeaderRowsAndLineNumbers) {
  const CsvTable t = parse_csv("a,b,c\n1,2,3\n4,5,6\n", "t.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t.rows, (Rows{{"1", "2", "3"}, {"4", "5", "6"}}));
  EXPECT_EQ(t.line_numbers, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.column("c"), 2);
  EXPECT_FALSE(t.find_column("d").has_value());
}

TEST(Csv, QuotedFieldsWithDelimitersDoubledQuotesAndNewlines) {
  // Row 1 spans lines 2-3 (a line break inside quotes); row 2 therefore starts on line 4.
  const std::string text =
      "text,n\n"
      "\"Hello, \"\"world\"\"\nsecond line\",1\n"
      "\"\",2\n";
  const CsvTable t = parse_csv(text, "q.csv");
  ASSERT_EQ(t.num_rows(), 2);
  EXPECT_EQ(t.cell(0, 0), "Hello, \"world\"\nsecond line");
  EXPECT_EQ(t.cell(1, 0), "");
  EXPECT_EQ(t.line_numbers, (std::vector<int64_t>{2, 4}));
}

TEST(Csv, CrlfLineEndsAndNoFinalNewline) {
  const CsvTable t = parse_csv("a,b\r\n\"x\r\ny\",2\r\n3,4", "crlf.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b"}));
  // A CRLF inside quotes is data and stays verbatim; CRLF outside ends the record.
  EXPECT_EQ(t.rows, (Rows{{"x\r\ny", "2"}, {"3", "4"}}));
  EXPECT_EQ(t.line_numbers, (std::vector<int64_t>{2, 4}));
}

TEST(Csv, BomIsStrippedAndUtf8PassesThrough) {
  const CsvTable t = parse_csv("\xEF\xBB\xBFSr No.,Utterance\n1,you\xE2\x80\x99re\n", "bom.csv");
  EXPECT_EQ(t.header.front(), "Sr No.");  // not "\xEF\xBB\xBFSr No."
  EXPECT_EQ(t.cell(0, 1), "you\xE2\x80\x99re");
}

TEST(Csv, EmptyFieldsEmptyLinesAndLiteralQuotesInUnquotedFields) {
  const CsvTable t = parse_csv("a,b,c\n\n,,\n5\" disk,x,\n\n", "e.csv", {});
  EXPECT_EQ(t.rows, (Rows{{"", "", ""}, {"5\" disk", "x", ""}}));
  EXPECT_EQ(t.line_numbers, (std::vector<int64_t>{3, 4}));
}

TEST(Csv, ConfigurableDelimiterAndNoHeader) {
  CsvOptions o = no_header();
  o.delimiter = '\t';
  const CsvTable t = parse_csv("1\t\"a\tb\"\n2\tc\n", "t.tsv", o);
  EXPECT_TRUE(t.header.empty());
  EXPECT_EQ(t.rows, (Rows{{"1", "a\tb"}, {"2", "c"}}));
}

TEST(Csv, UnterminatedQuoteNamesFileAndStartLine) {
  EXPECT_EQ(csv_error_of([] { parse_csv("a,b\n1,2\n3,\"open\nstill open\n", "u.csv"); }),
            "u.csv: line 3: unterminated quoted field");
}

TEST(Csv, CharacterAfterClosingQuoteIsAnError) {
  const std::string msg = csv_error_of([] { parse_csv("a,b\n\"x\"y,2\n", "c.csv"); });
  EXPECT_EQ(msg, "c.csv: line 2: field 1 has 'y' after its closing quote");
}

TEST(Csv, RaggedRowIsAnErrorUnlessSkipped) {
  const std::string text = "a,b\n1,2\n1,2,3\n4\n5,6\n";
  EXPECT_EQ(csv_error_of([&] { parse_csv(text, "r.csv"); }),
            "r.csv: line 3: 3 fields, but the header has 2");
  CsvOptions skip;
  skip.skip_ragged_rows = true;
  const CsvTable t = parse_csv(text, "r.csv", skip);
  EXPECT_EQ(t.rows, (Rows{{"1", "2"}, {"5", "6"}}));
  EXPECT_EQ(t.skipped_rows, 2);
  EXPECT_EQ(t.skipped_line_numbers, (std::vector<int64_t>{3, 4}));
  // Without a header the first row sets the width.
  EXPECT_EQ(csv_error_of([] { parse_csv("1,2\n3\n", "n.csv", no_header()); }),
            "n.csv: line 2: 1 fields, but the first row has 2");
}

TEST(Csv, MissingColumnListsTheHeader) {
  const CsvTable t = parse_csv("Utterance,Speaker\nhi,A\n", "m.csv");
  EXPECT_EQ(csv_error_of([&] { t.column("Emotion"); }),
            "m.csv: no column 'Emotion' (the header has 'Utterance', 'Speaker')");
}

TEST(Csv, EmptyInputHasNoHeader) {
  EXPECT_EQ(csv_error_of([] { parse_csv("", "empty.csv"); }), "empty.csv: no header row (the file is empty)");
  EXPECT_EQ(parse_csv("", "empty.csv", no_header()).num_rows(), 0);
}

TEST(Csv, NumericCells) {
  EXPECT_EQ(parse_double_cell("0.25", "f", 1, "x"), 0.25);  // exactly representable
  EXPECT_EQ(parse_double_cell(" -1.5e2 ", "f", 1, "x"), -150.0);
  EXPECT_EQ(parse_double_cell("+3", "f", 1, "x"), 3.0);
  EXPECT_TRUE(std::isnan(parse_double_cell("nan", "f", 1, "x")));
  EXPECT_EQ(parse_double_cell("0.1", "f", 1, "x"), 0.1);  // correctly rounded, as strtod
  EXPECT_EQ(csv_error_of([] { parse_double_cell("1.2.3", "f.csv", 7, "score"); }),
            "f.csv: line 7: column 'score': '1.2.3' is not a number");
  EXPECT_EQ(csv_error_of([] { parse_double_cell("", "f.csv", 7, "score"); }),
            "f.csv: line 7: column 'score': '' is not a number");
  EXPECT_EQ(csv_error_of([] { parse_double_cell("1e999", "f.csv", 2, "s"); }),
            "f.csv: line 2: column 's': '1e999' is outside the range of a double");
  EXPECT_EQ(parse_int_cell("42", "f", 1, "x"), 42);
  EXPECT_EQ(parse_int_cell("-7", "f", 1, "x"), -7);
  EXPECT_EQ(csv_error_of([] { parse_int_cell("4.0", "f.csv", 3, "Dialogue_ID"); }),
            "f.csv: line 3: column 'Dialogue_ID': '4.0' is not an integer");
}

TEST(Csv, TableNumberNamesLineAndColumn) {
  const CsvTable t = parse_csv("id,score\n1,0.5\n2,abc\n", "s.csv");
  EXPECT_EQ(t.number(0, 1), 0.5);
  EXPECT_EQ(t.integer(1, 0), 2);
  EXPECT_EQ(csv_error_of([&] { t.number(1, 1); }), "s.csv: line 3: column 'score': 'abc' is not a number");
  const CsvTable nh = parse_csv("1,x\n", "nh.csv", no_header());
  EXPECT_EQ(csv_error_of([&] { nh.number(0, 1); }), "nh.csv: line 1: column '#2': 'x' is not a number");
}

TEST(Csv, FilesAndFirstRecord) {
  const auto dir = std::filesystem::temp_directory_path() / "merc_csv_test";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "t.csv").string();
  {
    std::ofstream out(path, std::ios::binary);
    out << "\xEF\xBB\xBF" << "a,\"b,c\"\r\n1,2\r\n";
  }
  const CsvTable t = read_csv_file(path);
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b,c"}));
  EXPECT_EQ(t.source, path);
  const auto first = read_csv_first_record(path);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, (std::vector<std::string>{"a", "b,c"}));

  const std::string missing = (dir / "nope.csv").string();
  EXPECT_EQ(csv_error_of([&] { read_csv_file(missing); }),
            missing + ": cannot open file (missing or unreadable)");
  EXPECT_FALSE(read_csv_first_record(missing).has_value());
  std::filesystem::remove_all(dir);
}

// Real file: the MOSI Poria text features (every field quoted, CRLF). Expected values read once
// with Python's csv module: 1447 rows of 101 fields, 709 rows labelled "1", first cell
// -1.1352200000000001, row 1447 field 100 = 0.143846.
TEST(Csv, RealMosiPoriaFeatureTable) {
  const std::string path = std::string(MERC_SHARED_DATA_DIR) + "/mosi/poria/text_train0.csv";
  MERC_REQUIRE_PREREQUISITE(std::filesystem::exists(path), path);
  CsvOptions o;
  o.has_header = false;
  const CsvTable t = read_csv_file(path, o);
  ASSERT_EQ(t.num_rows(), 1447);
  ASSERT_EQ(t.rows[0].size(), 101u);
  int64_t positives = 0;
  for (int64_t r = 0; r < t.num_rows(); ++r) {
    for (int64_t c = 0; c < 100; ++c) EXPECT_TRUE(std::isfinite(t.number(r, c)));
    positives += t.integer(r, 100);
  }
  EXPECT_EQ(positives, 709);
  EXPECT_EQ(t.number(0, 0), -1.1352200000000001);  // from_chars is exact: same double as the literal
  EXPECT_EQ(t.number(1446, 99), 0.143846);
  EXPECT_EQ(t.line_numbers.back(), 1447);
}

}  // namespace
}  // namespace merc::io
