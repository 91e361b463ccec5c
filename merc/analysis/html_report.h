#pragma once
// A self-contained HTML document (issue 18 §4): one file a person opens in any browser without
// network access. The style sheet is inline, there is no JavaScript and no external resource;
// figures are inline SVG. Every text the caller passes is escaped; only SVG figures are inserted
// as markup, after the checks in inline_svg().
//
//   HtmlReport r("merc report: runs/x");
//   r.section("Protocol");
//   r.warning("Test-max selection", "the epoch was selected on the test set");
//   r.table({{"metric", "valid", "test"}, {{"acc2", "80.1", "78.3"}}, "selected epoch"});
//   std::string html = r.str();

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace merc::analysis {

// Escapes the five HTML-special characters (& < > " ') so the text can go in element content and
// in quoted attribute values.
std::string html_escape(std::string_view text);

// An SVG document as markup to put inside HTML: the XML prolog (<?xml ...?>), a <!DOCTYPE> and
// comments before the <svg> element are dropped. merc::Error when no <svg ...> ... </svg> element is
// left, or when it carries script (<script, on...= handlers, javascript: links) or refers to an
// external resource (href to http:, https: or file:), which a self-contained report must not.
std::string inline_svg(std::string_view svg);

struct HtmlTable {
  std::vector<std::string> header;             // column names
  std::vector<std::vector<std::string>> rows;  // each row has header.size() cells
  std::string caption;                         // "" = none
};

// One warning box: a bold title and a sentence, shown in red so a reader cannot miss it.
struct HtmlWarning {
  std::string title;
  std::string text;
};

class HtmlReport {
 public:
  explicit HtmlReport(std::string title);  // <title> and the <h1>

  // Starts a <section> with an <h2> heading (closing the previous one).
  void section(const std::string& heading);
  void subheading(const std::string& text);  // <h3>
  void paragraph(const std::string& text);
  // A two-column key/value table (the protocol card).
  void key_values(const std::vector<std::pair<std::string, std::string>>& rows);
  // merc::Error when a row's cell count differs from the header's.
  void table(const HtmlTable& table);
  void warning(const HtmlWarning& warning);
  void note(const std::string& text);  // a quieter box (blue) for caveats that do not bias numbers
  void preformatted(const std::string& text);
  // A collapsed <details> block with a <pre> body (e.g. the resolved config).
  void details(const std::string& summary, const std::string& preformatted_text);
  // A collapsed <details> block with a table body.
  void details_table(const std::string& summary, const HtmlTable& table);
  // An inline SVG figure with a caption (svg passes through inline_svg()).
  void figure(const std::string& caption, std::string_view svg);

  // The whole document; sections are closed.
  std::string str() const;

 private:
  std::string title_;
  std::string body_;
  bool in_section_ = false;
};

}  // namespace merc::analysis
