// The PLplot layer: every chart renders to SVG text that carries the title, axis labels and
// legend entries it was given (as real, balanced XML text), PNG bytes of the requested size and a
// PDF; bad specs are refused when the chart is built.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "merc/analysis/plot.h"
#include "merc/core/error.h"
#include "merc/io/binary_file.h"
#include "../support/error_text.h"

namespace merc::analysis {
namespace plot_test_detail {

// True when every element opened in svg is closed in order ("<a><b/></a>"): the check the HTML
// report relies on when it inlines the SVG. Comments, prolog and declarations are skipped.
bool balanced_xml(const std::string& svg) {
  std::vector<std::string> open;
  size_t i = 0;
  while ((i = svg.find('<', i)) != std::string::npos) {
    const size_t end = svg.find('>', i);
    if (end == std::string::npos) return false;
    const std::string tag = svg.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty() || tag[0] == '?' || tag[0] == '!') continue;
    if (tag.back() == '/') continue;
    const std::string name = tag.substr(tag[0] == '/' ? 1 : 0, tag.find_first_of(" \t\n/", 1) - (tag[0] == '/' ? 1 : 0));
    if (tag[0] != '/') {
      open.push_back(name);
    } else {
      if (open.empty() || open.back() != name) return false;
      open.pop_back();
    }
  }
  return open.empty();
}

// Text as the svg writes it inside an element: >text<.
bool has_text(const std::string& svg, const std::string& text) { return svg.find(">" + text + "<") != std::string::npos; }

uint32_t be32(const std::string& b, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

LineChartSpec two_lines() {
  LineChartSpec spec;
  spec.title = "Loss per epoch";
  spec.x_label = "epoch";
  spec.y_label = "loss (nats)";
  spec.integer_x = true;
  spec.series.push_back({"train", {1, 2, 3}, {1.0, 0.6, 0.4}, {0.1, 0.05, 0.02}});
  spec.series.push_back({"valid", {1, 2, 3}, {1.1, 0.8, 0.7}, {}});
  spec.markers.push_back({2.5, "stage 1"});
  return spec;
}

}  // namespace plot_test_detail

namespace {

using namespace plot_test_detail;
using testing_support::error_text;

TEST(Plot, LineChartSvgCarriesTitleLabelsAndLegend) {
  const std::string svg = line_chart(two_lines()).svg();
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 80);
  EXPECT_TRUE(balanced_xml(svg));
  for (const char* text : {"Loss per epoch", "epoch", "loss (nats)", "train", "valid", "stage 1"})
    EXPECT_TRUE(has_text(svg, text)) << text;
  // The page size as asked, in pixels like the PNG.
  EXPECT_NE(svg.find("width=\"800\""), std::string::npos);
  EXPECT_NE(svg.find("height=\"500\""), std::string::npos);
}

TEST(Plot, SvgTextIsEscapedOnce) {
  LineChartSpec spec = two_lines();
  spec.title = "A & B <c> #1";
  const std::string svg = line_chart(spec).svg();
  EXPECT_TRUE(has_text(svg, "A &amp; B &lt;c&gt; #1"));
  EXPECT_TRUE(balanced_xml(svg));
}

TEST(Plot, PngHasTheSignatureAndTheRequestedSize) {
  const std::string png = line_chart(two_lines(), PlotSize{640, 360}).png();
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // IHDR: width and height big-endian at bytes 16 and 20.
  EXPECT_EQ(be32(png, 16), 640u);
  EXPECT_EQ(be32(png, 20), 360u);
}

TEST(Plot, WritesPdfSvgAndPngFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("merc_plot_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  BarChartSpec spec;
  spec.title = "F1 per class";
  spec.categories = {"neg", "pos"};
  spec.series.push_back({"", {40.0, 80.0}, {}});
  const Plot plot = bar_chart(spec);
  plot.write_pdf((dir / "b.pdf").string());
  plot.write_svg((dir / "b.svg").string());
  plot.write_png((dir / "b.png").string());
  EXPECT_EQ(io::read_file_bytes((dir / "b.pdf").string()).substr(0, 4), "%PDF");
  EXPECT_EQ(io::read_file_bytes((dir / "b.svg").string()).rfind("<svg", 0), 0u);
  EXPECT_EQ(io::read_file_bytes((dir / "b.png").string()).substr(1, 3), "PNG");
  std::filesystem::remove_all(dir);
}

TEST(Plot, GroupedBarsWriteCategoriesLegendAndValues) {
  BarChartSpec spec;
  spec.title = "Scores";
  spec.x_label = "class";
  spec.y_label = "score (%)";
  spec.categories = {"neutral", "anger"};
  spec.series.push_back({"precision", {61.24, 30.0}, {1.0, 2.0}});
  spec.series.push_back({"recall", {55.0, 12.5}, {}});
  const std::string svg = bar_chart(spec).svg();
  EXPECT_TRUE(balanced_xml(svg));
  for (const char* text : {"Scores", "class", "score (%)", "neutral", "anger", "precision", "recall", "61.2", "12.5"})
    EXPECT_TRUE(has_text(svg, text)) << text;
}

TEST(Plot, HeatMapWritesEveryCellValue) {
  HeatMapSpec spec;
  spec.title = "Confusion";
  spec.x_label = "predicted class";
  spec.y_label = "true class";
  spec.row_names = spec.col_names = {"neg", "neu", "pos"};
  spec.values = {17, 2, 0, 4, 23, 5, 1, 3, 31};
  spec.colour_bar_label = "utterances";
  const std::string svg = heat_map(spec).svg();
  EXPECT_TRUE(balanced_xml(svg));
  for (const char* v : {"17", "2", "0", "4", "23", "5", "1", "3", "31"}) EXPECT_TRUE(has_text(svg, v)) << v;
  for (const char* text : {"Confusion", "predicted class", "true class", "neg", "neu", "pos", "utterances"})
    EXPECT_TRUE(has_text(svg, text)) << text;
  spec.cell_text = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  EXPECT_TRUE(has_text(heat_map(spec).svg(), "h"));
}

TEST(Plot, ScatterPanelsShareOneLegend) {
  ScatterSpec spec;
  spec.title = "t-SNE";
  spec.panels.push_back({"before", "t-SNE 1", "t-SNE 2", {{"neg", {0, 1}, {0, 1}}, {"pos", {2}, {2}}}, false});
  spec.panels.push_back({"after", "t-SNE 1", "t-SNE 2", {{"neg", {0}, {0}}, {"pos", {5, 6}, {5, 6}}}, false});
  const std::string svg = scatter_plot(spec, {1000, 450}).svg();
  EXPECT_TRUE(balanced_xml(svg));
  for (const char* text : {"t-SNE", "before", "after", "t-SNE 1", "t-SNE 2", "neg", "pos"})
    EXPECT_TRUE(has_text(svg, text)) << text;
}

TEST(Plot, RefusesEmptyAndMismatchedSpecs) {
  EXPECT_NE(error_text([] { line_chart(LineChartSpec{}); }).find("no series"), std::string::npos);
  LineChartSpec line = two_lines();
  line.series[0].y.pop_back();
  EXPECT_NE(error_text([&] { line_chart(line); }).find("3 x values but 2 y values"), std::string::npos);
  line = two_lines();
  line.series[1].band = {0.1};
  EXPECT_NE(error_text([&] { line_chart(line); }).find("band"), std::string::npos);
  line = two_lines();
  for (auto& s : line.series) s.y.assign(3, NAN);
  EXPECT_NE(error_text([&] { line_chart(line); }).find("no finite point"), std::string::npos);
  EXPECT_NE(error_text([] { line_chart(two_lines(), PlotSize{20, 500}); }).find("20x500"), std::string::npos);

  BarChartSpec bars;
  bars.categories = {"a", "b"};
  bars.series.push_back({"s", {1.0}, {}});
  EXPECT_NE(error_text([&] { bar_chart(bars); }).find("1 values for 2 categories"), std::string::npos);
  bars.series[0].values = {1.0, 2.0};
  bars.series[0].errors = {-1.0, 0.0};
  EXPECT_NE(error_text([&] { bar_chart(bars); }).find("error bar"), std::string::npos);

  HeatMapSpec heat;
  heat.row_names = heat.col_names = {"a", "b"};
  heat.values = {1, 2, 3};
  EXPECT_NE(error_text([&] { heat_map(heat); }).find("3 values for 2 x 2"), std::string::npos);
  EXPECT_NE(error_text([] { heat_map(HeatMapSpec{}); }).find("no rows"), std::string::npos);

  ScatterSpec scatter;
  EXPECT_NE(error_text([&] { scatter_plot(scatter); }).find("no panels"), std::string::npos);
  scatter.panels.push_back({"p", "", "", {{"g", {}, {}}}, false});
  EXPECT_NE(error_text([&] { scatter_plot(scatter); }).find("no points"), std::string::npos);
  scatter.panels[0].groups[0] = {"g", {1.0, 2.0}, {1.0}};
  EXPECT_NE(error_text([&] { scatter_plot(scatter); }).find("2 x values but 1 y values"), std::string::npos);
  EXPECT_THROW(Plot().svg(), Error);
}

TEST(Plot, PlotTextEscapesPlplotsEscapeCharacter) {
  EXPECT_EQ(plot_text("run #3"), "run ##3");
  EXPECT_EQ(plot_text("plain"), "plain");
}

TEST(Plot, PaletteIsOkabeItoAndCycles) {
  EXPECT_EQ(series_colour(0).b, 178);  // blue (0, 114, 178)
  EXPECT_EQ(series_colour(1).r, 230);  // orange (230, 159, 0)
  EXPECT_EQ(series_colour(8).b, series_colour(0).b);
}

}  // namespace
}  // namespace merc::analysis
