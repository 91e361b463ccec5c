#pragma once
// A small typed layer over PLplot (Debian's libplplot + its cairo drivers) for the charts merc
// draws: line chart with optional mean +- std band, plain/grouped bar chart, heat map with a colour
// bar and the cell values written in the cells, scatter plot coloured by group (one or more panels
// side by side). A chart is built from a spec struct (validated at once: empty or mismatched
// inputs are merc::Error) into a Plot, which renders to
//   SVG text  (PLplot's own svg driver: text stays <text>, searchable and small; the XML prolog is
//              dropped and character references decoded so the string can go inline in HTML),
//   PNG bytes (pngcairo, width x height pixels), PDF file (pdfcairo, width x height points).
// PLplot keeps global state per stream: every render opens a fresh stream, draws, and closes it,
// under one process-wide lock (PLplot is not thread-safe). Colours: the Okabe-Ito palette (safe
// for the common colour-vision deficiencies); heat maps use a viridis-like sequential map.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

class plstream;  // PLplot's C++ stream (plstream.h); only plot.cpp draws with it

namespace merc::analysis {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

// The i-th series colour (Okabe-Ito order: blue, orange, bluish green, vermillion, reddish
// purple, sky blue, yellow, black), cycling after 8.
Rgb series_colour(size_t i);

struct PlotSize {
  int width = 800;  // pixels in PNG, points in PDF and SVG
  int height = 500;
};

// ---- line chart -----------------------------------------------------------------------------

struct LineSeries {
  std::string label;              // legend entry ("" = not in the legend)
  std::vector<double> x, y;       // same length >= 1; NaN y values break the line
  std::vector<double> band;       // empty, or one half-width per point: a shaded y +- band
  bool markers = true;            // a symbol at every point
  bool dashed = false;
};

struct VerticalMarker {  // e.g. a training-stage boundary
  double x = 0.0;
  std::string label;     // written along the top of the line
};

struct LineChartSpec {
  std::string title, x_label, y_label;  // axis labels carry their units, e.g. "missing rate (%)"
  std::vector<LineSeries> series;       // >= 1
  std::vector<VerticalMarker> markers;
  bool integer_x = false;               // x ticks at whole numbers only (epochs)
};

// ---- bar chart ------------------------------------------------------------------------------

struct BarSeries {
  std::string label;            // legend entry (a single series without label: no legend)
  std::vector<double> values;   // one per category, finite
  std::vector<double> errors;   // empty, or one non-negative half-width per category (error bar)
};

struct BarChartSpec {
  std::string title, x_label, y_label;
  std::vector<std::string> categories;  // >= 1
  std::vector<BarSeries> series;        // >= 1; several = grouped bars
  bool value_labels = true;             // write each bar's value above it
  int value_decimals = 1;
  double y_min = 0.0;                   // the value axis starts here
  double y_max = -1.0;                  // <= y_min: chosen from the data
};

// ---- heat map -------------------------------------------------------------------------------

struct HeatMapSpec {
  std::string title, x_label, y_label;
  std::vector<std::string> row_names, col_names;  // >= 1 each; rows top to bottom
  std::vector<double> values;                     // rows * cols, row-major, finite
  std::string colour_bar_label;
  std::vector<std::string> cell_text;             // empty = values with value_decimals; else rows * cols
  int value_decimals = 0;
};

// ---- scatter plot ---------------------------------------------------------------------------

struct ScatterGroup {
  std::string label;          // legend entry
  std::vector<double> x, y;   // same length (may be 0: the group is still in the legend)
};

struct ScatterPanel {
  std::string title, x_label, y_label;
  std::vector<ScatterGroup> groups;  // group i of every panel shares colour i and legend entry i
  bool identity_line = false;        // draw y = x (predicted vs true)
};

struct ScatterSpec {
  std::string title;                 // over all panels
  std::vector<ScatterPanel> panels;  // >= 1, side by side; the legend is drawn once
  double point_size = 1.0;           // relative symbol size
};

// A validated chart, ready to render any number of times.
class Plot {
 public:
  Plot() = default;
  Plot(std::function<void(plstream&)> draw, PlotSize size) : draw_(std::move(draw)), size_(size) {}

  bool empty() const { return !draw_; }
  PlotSize size() const { return size_; }
  std::string svg() const;                     // a standalone <svg> element
  std::string png() const;                     // the PNG file's bytes
  void write_svg(const std::string& path) const;
  void write_png(const std::string& path) const;
  void write_pdf(const std::string& path) const;

 private:
  std::function<void(plstream&)> draw_;
  PlotSize size_;
};

Plot line_chart(const LineChartSpec& spec, PlotSize size = {});
Plot bar_chart(const BarChartSpec& spec, PlotSize size = {});
Plot heat_map(const HeatMapSpec& spec, PlotSize size = {});
Plot scatter_plot(const ScatterSpec& spec, PlotSize size = {});

// Text as PLplot writes it literally ('#' is its escape character: "#" becomes "##").
std::string plot_text(const std::string& text);

}  // namespace merc::analysis
