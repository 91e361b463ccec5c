#include "merc/io/csv.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

#include "merc/core/error.h"

namespace merc::io {

// Named (not anonymous) so the unity build cannot merge these helpers with another file's.
namespace csv_impl {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Record assembly: applies the header / field-count rules to each finished record.
class CsvBuilder {
 public:
  CsvBuilder(CsvTable& table, const CsvOptions& options) : table_(table), options_(options) {}

  void add(std::vector<std::string>&& record, int64_t line) {
    if (options_.has_header && !have_header_) {
      table_.header = std::move(record);
      expected_ = static_cast<int64_t>(table_.header.size());
      have_header_ = true;
      return;
    }
    const int64_t got = static_cast<int64_t>(record.size());
    if (expected_ < 0) expected_ = got;  // no header: the first row sets the width
    if (got != expected_) {
      if (options_.skip_ragged_rows) {
        ++table_.skipped_rows;
        table_.skipped_line_numbers.push_back(line);
        return;
      }
      MERC_FORMAT_ERROR(table_.source, "line {}: {} fields, but the {} has {}", line, got,
                        options_.has_header ? "header" : "first row", expected_);
    }
    table_.rows.push_back(std::move(record));
    table_.line_numbers.push_back(line);
  }

  void finish() {
    if (options_.has_header && !have_header_)
      MERC_FORMAT_ERROR(table_.source, "no header row (the file is empty)");
  }

 private:
  CsvTable& table_;
  const CsvOptions& options_;
  bool have_header_ = false;
  int64_t expected_ = -1;
};

bool is_line_end(char c) { return c == '\n' || c == '\r'; }

// Consumes one line end (LF, CRLF or lone CR) at text[i].
void skip_line_end(std::string_view text, size_t& i) {
  if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
  ++i;
}

// Line ends in `s` (LF, CRLF and lone CR each count once).
int64_t count_line_ends(std::string_view s) {
  int64_t count = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == '\n') ++count;
    else if (s[k] == '\r' && (k + 1 >= s.size() || s[k + 1] != '\n')) ++count;
  }
  return count;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string column_label(const CsvTable& table, int64_t col) {
  if (col >= 0 && col < static_cast<int64_t>(table.header.size()))
    return table.header[static_cast<size_t>(col)];
  return "#" + std::to_string(col + 1);
}

}  // namespace csv_impl

CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options) {
  using namespace csv_impl;
  CsvTable table;
  table.source = source;
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  const char delim = options.delimiter;
  MERC_CHECK(delim != '"' && !is_line_end(delim), "CSV delimiter cannot be a quote or line end");
  CsvBuilder builder(table, options);

  const size_t n = text.size();
  size_t i = 0;
  int64_t line = 1;
  std::vector<std::string> record;
  while (i < n) {
    if (is_line_end(text[i])) {  // an empty line is not a record
      skip_line_end(text, i);
      ++line;
      continue;
    }
    const int64_t record_line = line;
    record.clear();
    bool record_done = false;
    while (!record_done) {
      std::string field;
      if (i < n && text[i] == '"') {
        const int64_t quote_line = line;
        ++i;
        for (;;) {
          const size_t q = text.find('"', i);
          if (q == std::string_view::npos)
            MERC_FORMAT_ERROR(source, "line {}: unterminated quoted field", quote_line);
          const std::string_view chunk = text.substr(i, q - i);
          field.append(chunk);
          line += count_line_ends(chunk);
          i = q + 1;
          if (i < n && text[i] == '"') {  // "" is one literal quote
            field.push_back('"');
            ++i;
            continue;
          }
          break;
        }
        if (i >= n) {
          record_done = true;
        } else if (text[i] == delim) {
          ++i;
        } else if (is_line_end(text[i])) {
          skip_line_end(text, i);
          ++line;
          record_done = true;
        } else {
          MERC_FORMAT_ERROR(source, "line {}: field {} has '{}' after its closing quote", line,
                            record.size() + 1, text[i]);
        }
      } else {
        size_t j = i;
        while (j < n && text[j] != delim && !is_line_end(text[j])) ++j;
        field.assign(text.substr(i, j - i));
        i = j;
        if (i >= n) {
          record_done = true;
        } else if (text[i] == delim) {
          ++i;  // a delimiter right before a line end or EOF leaves one more, empty, field
        } else {
          skip_line_end(text, i);
          ++line;
          record_done = true;
        }
      }
      record.push_back(std::move(field));
    }
    builder.add(std::move(record), record_line);
    record = {};
  }
  builder.finish();
  return table;
}

CsvTable read_csv_file(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_format_error(path, "cannot open file (missing or unreadable)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw_format_error(path, "read error");
  return parse_csv(buffer.str(), path, options);
}

std::optional<std::vector<std::string>> read_csv_first_record(const std::string& path, char delimiter) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string first;
  if (!std::getline(in, first)) return std::nullopt;
  if (!first.empty() && first.back() == '\r') first.pop_back();
  CsvOptions options;
  options.delimiter = delimiter;
  options.has_header = false;
  try {
    CsvTable t = parse_csv(first, path, options);
    if (t.rows.empty()) return std::nullopt;
    return std::move(t.rows.front());
  } catch (const FormatError&) {
    return std::nullopt;  // e.g. a quoted header cell with a line break: not detectable cheaply
  }
}

int64_t CsvTable::column(std::string_view name) const {
  if (auto c = find_column(name)) return *c;
  std::string listed;
  for (const auto& h : header) listed += (listed.empty() ? "" : ", ") + ("'" + h + "'");
  MERC_FORMAT_ERROR(source, "no column '{}' (the header has {})", name,
                    header.empty() ? std::string("no columns") : listed);
}

std::optional<int64_t> CsvTable::find_column(std::string_view name) const {
  for (size_t c = 0; c < header.size(); ++c)
    if (header[c] == name) return static_cast<int64_t>(c);
  return std::nullopt;
}

double CsvTable::number(int64_t row, int64_t col) const {
  using namespace csv_impl;
  return parse_double_cell(cell(row, col), source, line_numbers[static_cast<size_t>(row)],
                           column_label(*this, col));
}

int64_t CsvTable::integer(int64_t row, int64_t col) const {
  using namespace csv_impl;
  return parse_int_cell(cell(row, col), source, line_numbers[static_cast<size_t>(row)],
                        column_label(*this, col));
}

double parse_double_cell(std::string_view cell, const std::string& source, int64_t line,
                         std::string_view column) {
  using namespace csv_impl;
  std::string_view s = trim_spaces(cell);
  // std::from_chars rejects a leading "+", which strtod and Python float() accept.
  if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec == std::errc::invalid_argument || ptr != s.data() + s.size())
    MERC_FORMAT_ERROR(source, "line {}: column '{}': '{}' is not a number", line, column, cell);
  if (ec == std::errc::result_out_of_range)
    MERC_FORMAT_ERROR(source, "line {}: column '{}': '{}' is outside the range of a double", line,
                      column, cell);
  return value;
}

int64_t parse_int_cell(std::string_view cell, const std::string& source, int64_t line,
                       std::string_view column) {
  using namespace csv_impl;
  std::string_view s = trim_spaces(cell);
  if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec == std::errc::invalid_argument || ptr != s.data() + s.size())
    MERC_FORMAT_ERROR(source, "line {}: column '{}': '{}' is not an integer", line, column, cell);
  if (ec == std::errc::result_out_of_range)
    MERC_FORMAT_ERROR(source, "line {}: column '{}': '{}' is outside the range of int64", line,
                      column, cell);
  return value;
}

std::string csv_quote(std::string_view field) {
  if (field.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(field);
  std::string q = "\"";
  for (char c : field) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace merc::io
