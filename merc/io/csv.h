#pragma once
// RFC 4180 CSV reading: the dataset tables of this field (MELD, EmoryNLP, the MOSI feature CSVs)
// are comma-separated UTF-8 with quoted fields that hold commas, doubled quotes ("") and line
// breaks, with CRLF or LF line ends. Bytes are passed through unchanged (UTF-8 is never decoded);
// a leading UTF-8 BOM is stripped.
//
// Conventions (where RFC 4180 is silent or real files deviate):
//  - a line end is LF, CRLF or a lone CR; a line end inside quotes is kept verbatim in the field;
//  - empty lines (no characters at all) are not records; the line after the last record may be
//    missing or empty;
//  - a quote inside an unquoted field is literal (`5" disk` -> 5" disk);
//  - after a closing quote only the delimiter or a line end may follow, anything else is an error
//    (it means the quoting is broken and the rest of the row would be garbage);
//  - a quote still open at end of file is an error.
// Every error is a merc::FormatError naming the file and the 1-based line.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace merc::io {

struct CsvOptions {
  char delimiter = ',';
  bool has_header = true;  // the first record is the header, not a row
  // Rows whose field count differs from the header's (or, without a header, from the first
  // row's) are a FormatError naming the line; with this set they are dropped and counted in
  // CsvTable::skipped_rows instead.
  bool skip_ragged_rows = false;
};

struct CsvTable {
  std::string source;                           // the path (or name) used in error messages
  std::vector<std::string> header;              // empty when CsvOptions::has_header is false
  std::vector<std::vector<std::string>> rows;   // every row has the same number of fields
  std::vector<int64_t> line_numbers;            // 1-based line where rows[i] starts
  int64_t skipped_rows = 0;                     // ragged rows dropped (skip_ragged_rows)
  std::vector<int64_t> skipped_line_numbers;    // where they started

  int64_t num_rows() const { return static_cast<int64_t>(rows.size()); }
  // Index of the header column named `name` (exact, case-sensitive). Throws FormatError listing
  // the header when absent.
  int64_t column(std::string_view name) const;
  std::optional<int64_t> find_column(std::string_view name) const;
  const std::string& cell(int64_t row, int64_t col) const {
    return rows[static_cast<size_t>(row)][static_cast<size_t>(col)];
  }
  // Cell parsed as a number; errors name the file, line and column (see parse_double_cell).
  double number(int64_t row, int64_t col) const;
  int64_t integer(int64_t row, int64_t col) const;
};

// Parses CSV text. `source` names the input in error messages.
CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options = {});
// Reads and parses a file. A missing or unreadable file is a FormatError naming it.
CsvTable read_csv_file(const std::string& path, const CsvOptions& options = {});
// The fields of the file's first record, read from its first line only (for cheap format
// detection). nullopt when the file cannot be read, is empty or its first record spans lines.
std::optional<std::vector<std::string>> read_csv_first_record(const std::string& path,
                                                              char delimiter = ',');

// A field as it must be written for parse_csv to read it back: as is, or quoted with inner quotes
// doubled when it holds a comma, a quote or a line end.
std::string csv_quote(std::string_view field);

// A float cell (surrounding ASCII spaces allowed, optional leading '+', "nan"/"inf" accepted as
// std::from_chars does). Anything else, or a value outside double range, is a FormatError:
// "<source>: line <line>: column '<column>': '<cell>' is not a number".
double parse_double_cell(std::string_view cell, const std::string& source, int64_t line,
                         std::string_view column);
// The same for a base-10 integer cell (no fraction, no exponent).
int64_t parse_int_cell(std::string_view cell, const std::string& source, int64_t line,
                       std::string_view column);

}  // namespace merc::io
