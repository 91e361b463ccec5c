#include "merc/analysis/html_report.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "merc/core/error.h"

namespace merc::analysis {

namespace html_report_detail {

// Print-friendly, readable without a network: system fonts only.
constexpr const char* kStyle = R"(
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; margin: 2em auto;
       max-width: 72em; padding: 0 1em; color: #1b1b1b; line-height: 1.4; }
h1 { font-size: 1.6em; border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { font-size: 1.3em; margin-top: 1.6em; border-bottom: 1px solid #bbb; }
h3 { font-size: 1.1em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; }
table.card td:first-child { font-weight: bold; background: #fafafa; }
table.card td { text-align: left; }
caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: .2em; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: .6em; overflow-x: auto; font-size: .88em; }
.warning { border: 2px solid #b00020; background: #fde8ec; color: #5c0010; padding: .5em .8em;
           margin: .6em 0; }
.warning strong { text-transform: uppercase; }
.note { border: 1px solid #2a6db0; background: #eaf2fb; padding: .5em .8em; margin: .6em 0; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-style: italic; }
details { margin: .6em 0; }
summary { cursor: pointer; font-weight: bold; }
)";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Drops leading whitespace, <?...?>, <!...> and <!-- ... --> before the root element.
std::string_view skip_prolog(std::string_view s) {
  while (true) {
    const size_t start = s.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) return {};
    s.remove_prefix(start);
    std::string_view end_mark;
    if (s.rfind("<?", 0) == 0) end_mark = "?>";
    else if (s.rfind("<!--", 0) == 0) end_mark = "-->";
    else if (s.rfind("<!", 0) == 0) end_mark = ">";
    else return s;
    const size_t end = s.find(end_mark);
    if (end == std::string_view::npos) return {};
    s.remove_prefix(end + end_mark.size());
  }
}

// True when `l` (lower case) has an attribute starting with "on" right after whitespace and
// followed by letters and '=' (onload=, onclick=, ...).
bool has_event_handler(const std::string& l) {
  for (size_t i = l.find("on"); i != std::string::npos; i = l.find("on", i + 1)) {
    if (i == 0 || !std::isspace(static_cast<unsigned char>(l[i - 1]))) continue;
    size_t j = i + 2;
    while (j < l.size() && std::isalpha(static_cast<unsigned char>(l[j]))) ++j;
    while (j < l.size() && std::isspace(static_cast<unsigned char>(l[j]))) ++j;
    if (j > i + 2 && j < l.size() && l[j] == '=') return true;
  }
  return false;
}

bool has_external_reference(const std::string& l) {
  for (const char* scheme : {"http:", "https:", "file:", "//"}) {
    for (const char* attr : {"href=\"", "href='", "src=\"", "src='", "url("}) {
      if (l.find(std::string(attr) + scheme) != std::string::npos) return true;
    }
  }
  return false;
}

std::string table_html(const HtmlTable& t) {
  std::string out = "<table>";
  if (!t.caption.empty()) out += "<caption>" + html_escape(t.caption) + "</caption>";
  out += "<thead><tr>";
  for (const auto& h : t.header) out += "<th>" + html_escape(h) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    MERC_CHECK(t.rows[r].size() == t.header.size(), "html table '{}': row {} has {} cells for {} columns", t.caption,
               r, t.rows[r].size(), t.header.size());
    out += "<tr>";
    for (const auto& cell : t.rows[r]) out += "<td>" + html_escape(cell) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

}  // namespace html_report_detail

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string inline_svg(std::string_view svg) {
  namespace d = html_report_detail;
  const std::string_view body = d::skip_prolog(svg);
  const std::string l = d::lower(body);
  MERC_CHECK(l.rfind("<svg", 0) == 0 && l.find("</svg>") != std::string::npos,
             "figure: expected an <svg> element (after an optional XML prolog), got '{}'",
             std::string(body.substr(0, 40)));
  MERC_CHECK(l.find("<script") == std::string::npos && l.find("javascript:") == std::string::npos &&
                 !d::has_event_handler(l),
             "figure: the SVG carries script; a report needs none");
  MERC_CHECK(!d::has_external_reference(l), "figure: the SVG refers to an external resource; a report must be "
                                            "self-contained");
  return std::string(body.substr(0, l.rfind("</svg>") + 6));
}

HtmlReport::HtmlReport(std::string title) : title_(std::move(title)) {}

void HtmlReport::section(const std::string& heading) {
  if (in_section_) body_ += "</section>\n";
  body_ += "<section>\n<h2>" + html_escape(heading) + "</h2>\n";
  in_section_ = true;
}

void HtmlReport::subheading(const std::string& text) { body_ += "<h3>" + html_escape(text) + "</h3>\n"; }

void HtmlReport::paragraph(const std::string& text) { body_ += "<p>" + html_escape(text) + "</p>\n"; }

void HtmlReport::key_values(const std::vector<std::pair<std::string, std::string>>& rows) {
  body_ += "<table class=\"card\"><tbody>\n";
  for (const auto& [key, value] : rows)
    body_ += "<tr><td>" + html_escape(key) + "</td><td>" + html_escape(value) + "</td></tr>\n";
  body_ += "</tbody></table>\n";
}

void HtmlReport::table(const HtmlTable& table) { body_ += html_report_detail::table_html(table); }

void HtmlReport::warning(const HtmlWarning& w) {
  body_ += "<div class=\"warning\" role=\"alert\"><strong>" + html_escape(w.title) + ":</strong> " +
           html_escape(w.text) + "</div>\n";
}

void HtmlReport::note(const std::string& text) { body_ += "<div class=\"note\">" + html_escape(text) + "</div>\n"; }

void HtmlReport::preformatted(const std::string& text) { body_ += "<pre>" + html_escape(text) + "</pre>\n"; }

void HtmlReport::details(const std::string& summary, const std::string& preformatted_text) {
  body_ += "<details><summary>" + html_escape(summary) + "</summary>\n<pre>" + html_escape(preformatted_text) +
           "</pre></details>\n";
}

void HtmlReport::details_table(const std::string& summary, const HtmlTable& table) {
  body_ += "<details><summary>" + html_escape(summary) + "</summary>\n" + html_report_detail::table_html(table) +
           "</details>\n";
}

void HtmlReport::figure(const std::string& caption, std::string_view svg) {
  body_ += "<figure>\n" + inline_svg(svg) + "\n<figcaption>" + html_escape(caption) + "</figcaption></figure>\n";
}

std::string HtmlReport::str() const {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{0}</title>\n"
      "<style>{1}</style>\n</head>\n<body>\n<h1>{0}</h1>\n{2}{3}</body>\n</html>\n",
      html_escape(title_), html_report_detail::kStyle, body_, in_section_ ? "</section>\n" : "");
}

}  // namespace merc::analysis
