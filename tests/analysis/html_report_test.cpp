// HtmlReport: every inserted text is escaped (no markup from data gets through), the document is
// one well-formed, self-contained page (doctype, inline style, no script, no external resource),
// and SVG figures are inlined without their XML prolog and refused when they carry script or
// external references.
#include <gtest/gtest.h>

#include "merc/analysis/html_report.h"
#include "merc/core/error.h"
#include "../support/error_text.h"

namespace merc::analysis {
namespace {

using testing_support::error_text;

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

TEST(HtmlEscape, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(html_escape("plain text 1.5 ± 0.2"), "plain text 1.5 ± 0.2");  // UTF-8 passes unchanged
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");                           // no double-unescaping
}

TEST(HtmlReport, EveryInsertedTextIsEscaped) {
  const std::string evil = "<script>alert('x')</script>&";
  HtmlReport r(evil);
  r.section(evil);
  r.subheading(evil);
  r.paragraph(evil);
  r.key_values({{evil, evil}});
  r.table({{evil}, {{evil}}, evil});
  r.warning({evil, evil});
  r.note(evil);
  r.preformatted(evil);
  r.details(evil, evil);
  r.details_table(evil, {{evil}, {{evil}}, ""});
  r.figure(evil, "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>");
  const std::string html = r.str();
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // title + h1 + 16 more places above (key and value, header and cell and caption, ...)
  EXPECT_EQ(count(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"), 20u);
}

TEST(HtmlReport, IsOneSelfContainedDocumentWithClosedSections) {
  HtmlReport r("Report");
  r.section("A");
  r.paragraph("one");
  r.section("B");
  r.table({{"metric", "value"}, {{"acc", "1.00"}, {"f1", "2.00"}}, "numbers"});
  const std::string html = r.str();
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("<title>Report</title>"), std::string::npos);
  EXPECT_EQ(count(html, "<section>"), 2u);
  EXPECT_EQ(count(html, "</section>"), 2u);
  EXPECT_EQ(count(html, "<tr>"), 3u);  // header + 2 rows
  EXPECT_NE(html.find("<caption>numbers</caption>"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  for (const char* external : {"<script", "<link", "http://", "https://", "src="})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  EXPECT_NE(html.find("</body>\n</html>"), std::string::npos);
}

TEST(HtmlReport, RefusesATableRowOfTheWrongWidth) {
  HtmlReport r("x");
  EXPECT_NE(error_text([&] { r.table({{"a", "b"}, {{"1"}}, "t"}); }).find("row 0 has 1 cells for 2 columns"),
            std::string::npos);
}

TEST(InlineSvg, DropsTheXmlPrologDoctypeAndComments) {
  const std::string svg =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
      "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n<!-- made by a plotter -->\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"5\" height=\"5\"/></svg>\n";
  const std::string out = inline_svg(svg);
  EXPECT_EQ(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"5\" "
                 "height=\"5\"/></svg>");
  HtmlReport r("x");
  r.figure("caption", svg);
  EXPECT_EQ(r.str().find("<?xml"), std::string::npos);
  EXPECT_NE(r.str().find("<figure>\n<svg"), std::string::npos);
}

TEST(InlineSvg, RefusesScriptExternalResourcesAndNonSvg) {
  const std::string head = "<svg xmlns=\"http://www.w3.org/2000/svg\">";
  EXPECT_NE(error_text([&] { inline_svg(head + "<script>x()</script></svg>"); }).find("script"), std::string::npos);
  EXPECT_NE(error_text([&] { inline_svg(head + "<rect onclick=\"x()\"/></svg>"); }).find("script"), std::string::npos);
  EXPECT_NE(error_text([&] { inline_svg(head + "<a href=\"javascript:x()\"/></svg>"); }).find("script"),
            std::string::npos);
  EXPECT_NE(error_text([&] { inline_svg(head + "<image href=\"https://e.org/a.png\"/></svg>"); }).find("external"),
            std::string::npos);
  EXPECT_NE(error_text([&] { inline_svg("<html></html>"); }).find("expected an <svg>"), std::string::npos);
  EXPECT_NE(error_text([&] { inline_svg("<svg>unterminated"); }).find("expected an <svg>"), std::string::npos);
  // The SVG namespace and internal references (#glyph) are fine; so is an attribute named "font".
  EXPECT_NO_THROW(inline_svg(head + "<use href=\"#g1\" font=\"x\"/><text>ontology</text></svg>"));
}

}  // namespace
}  // namespace merc::analysis
